/**
 * The sans-IO SSH engine: everything needed to speak SSH-2 without touching a
 * socket, a file, a timer or the environment. Bytes go in with `receiveData`, bytes
 * come out of `takeOutgoing`, events come out of `pollEvent`, and time goes in with
 * `handleTimeout`; the caller answers events that need a decision (host key trust,
 * passwords, signatures, authentication verdicts) with the engine's methods.
 *
 * - {@link ClientConnection} and {@link ServerConnection}: the engines.
 * - {@link createDefaultSuite}, {@link defaultAlgorithmPreferences},
 *   {@link defaultServerSigAlgs}: the algorithms (portable `@noble` crypto).
 * - Events (`ClientEvent`, `ServerEvent`, `ConnectionEvent`, ...) and the error
 *   family ({@link SSHError}, {@link DisconnectError}, {@link protocolError}, ...).
 * - {@link EnginePair} and {@link makePair}: a client and a server wired back to
 *   back in memory on a virtual clock, for tests and demos.
 *
 * Nothing here uses a runtime API: it runs in Deno, Node, Bun, browsers and workers.
 *
 * @example A client and a server engine shake hands in memory
 * ```ts
 * import { makePair } from "./mod.ts";
 * const pair = makePair({ password: "secret" }); // the server accepts "secret"
 * pair.run();
 * console.log(pair.client.authenticated, pair.server.username); // true "tester"
 * ```
 *
 * @module
 */

export * from "./errors.ts";

// The engines and what they take and raise.
export {
  ClientConnection,
  type ClientConnectionOptions,
  type ClientEvent,
  type HostKeysProvedEvent,
} from "./client/client_connection.ts";
export {
  ServerConnection,
  type ServerConnectionOptions,
  type ServerEvent,
} from "./server/server_connection.ts";
export type { EngineBase, EngineEvent, EngineOptions } from "./engine/engine_base.ts";
export type {
  ClientAuthEvent,
  ClientAuthOptions,
  ClientHostKey,
  ClientPublicKey,
} from "./auth/client_auth.ts";
export type {
  AuthVerdict,
  KbdintChallenge,
  ServerAuthEvent,
  ServerAuthOptions,
} from "./auth/server_auth.ts";
export type {
  AlgorithmPreferences,
  Transport,
  TransportEvent,
  TransportOptions,
} from "./transport/transport.ts";
export type { TransportPhase } from "./transport/phases.ts";
export type { KexInitLists, NegotiatedAlgorithms } from "./transport/kexinit.ts";
export type { PeerVersion } from "./transport/version.ts";
export type { ChannelOptions, ConnectionLayer } from "./connection/channels.ts";
export { ChannelOpenFailure } from "./connection/channels.ts";
export type { LocalState, RemoteState } from "./connection/channel_state.ts";
export type {
  ChannelCloseEvent,
  ChannelDataEvent,
  ChannelEofEvent,
  ChannelOpenEvent,
  ChannelOpenFailureEvent,
  ChannelOpenRequestEvent,
  ChannelRequestEvent,
  ChannelRequestReplyEvent,
  ChannelWritableEvent,
  ConnectionEvent,
  GlobalRequestEvent,
  GlobalRequestReplyEvent,
} from "./connection/events.ts";
export type { ProvenHostKey } from "./connection/hostkeys.ts";

// The default algorithm suite.
export {
  createDefaultSuite,
  defaultAlgorithmPreferences,
  defaultServerSigAlgs,
} from "./suite/default_suite.ts";
export type { KeySizes, TransportSuite } from "./transport/suite.ts";
// What the suite seam is made of, for callers who bring their own algorithms.
export type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketSealer,
} from "./crypto/types.ts";
export type {
  HostKeySigner,
  KexClientFlow,
  KexContext,
  KexHashName,
  KexMethod,
  KexResult,
  KexServerFlow,
  KexServerOptions,
  KexStep,
} from "./kex/types.ts";
export type { PayloadCompressor, PayloadDecompressor } from "./transport/packet.ts";
export type { RekeyLimits } from "./transport/rekey.ts";
export { type RandomSource, seededRandom, systemRandom } from "./random.ts";

// Two engines back to back in memory.
export { EnginePair, type EventHandler } from "./testing/pair.ts";
export { makePair, type PairOptions } from "./testing/fixtures.ts";
export type {
  DsaKeyMaterial,
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  KeyMaterial,
  RsaKeyMaterial,
  SkKeyMaterial,
} from "./publickey/types.ts";
