/**
 * The sans-IO SSH engines, for callers who bring their own I/O: a browser over a
 * WebSocket, a worker, a custom transport, or a test on a virtual clock.
 *
 * An engine ({@link ClientConnection}, {@link ServerConnection}) never touches a
 * socket, a timer or a file. Feed it the peer's bytes with `receiveData()`, send
 * what `takeOutgoing()` returns, answer the events `pollEvent()` raises (host key
 * trust, signatures, passwords, channel traffic), and give it the time with
 * `handleTimeout(now)` when `nextDeadline()` says so. After every call into an engine —
 * `receiveData()`, `handleTimeout()`, or a command such as `acceptHostKey()`,
 * `tryAuthMethod()` or `openChannel()`, also one made later after an `await` — poll its
 * events, send what `takeOutgoing()` returns and look at `nextDeadline()` again: commands
 * queue events and bytes of their own. `nextDeadline()` is 0 until the first
 * `handleTimeout(now)`, from which the engine learns the caller's clock (a server's login
 * timeout starts there). {@link createDefaultSuite}
 * and {@link defaultAlgorithmPreferences} are the algorithms the engines run with;
 * {@link EnginePair} wires a client and a server back to back in memory.
 *
 * Nothing here imports a runtime API (`node:*`, `Deno`, `Bun`, `process`), so this
 * entry point bundles for browsers as it is.
 *
 * @example A client and a server engine log in to each other in memory
 * ```ts
 * import {
 *   ClientConnection,
 *   createDefaultSuite,
 *   createHostKeySigner,
 *   defaultAlgorithmPreferences,
 *   EnginePair,
 *   ServerConnection,
 * } from "@sshts/ssh/core";
 * import { generatePrivateKey } from "@sshts/ssh/keys";
 *
 * const suite = createDefaultSuite();
 * const algorithms = defaultAlgorithmPreferences();
 * const hostKey = generatePrivateKey("ed25519");
 * const client = new ClientConnection({ username: "demo", password: true, suite, algorithms });
 * const server = new ServerConnection({
 *   suite,
 *   algorithms,
 *   methods: ["password"],
 *   hostKeys: new Map([["ssh-ed25519", createHostKeySigner(hostKey.material, "ssh-ed25519")]]),
 * });
 * let loggedIn = false;
 * const pair = new EnginePair(client, server, (e) => {
 *   // Trust decisions are the caller's: here, the one key we expect.
 *   if (e.type === "hostKey") client.acceptHostKey(e.id);
 *   if (e.type === "authPasswordRequest") client.providePassword(e.id, "demo");
 *   if (e.type === "authSuccess") loggedIn = true;
 * }, (e) => {
 *   // The server asks the application about every login attempt.
 *   if (e.type === "authNone") server.answerAuth(e.id, { result: "failure" });
 *   if (e.type === "authPassword") {
 *     server.answerAuth(e.id, { result: e.password === "demo" ? "success" : "failure" });
 *   }
 * });
 * pair.advance(1_000); // moves bytes and the virtual clock until both sides are idle
 * console.log(loggedIn); // true
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export { escapeControls } from "./peer_text.ts";
export { decodeEscapedUtf8, encodeEscapedUtf8, hasEscapedBytes } from "./escaped_utf8.ts";
export {
  CLIENT_SOFTWARE_VERSION,
  ClientConnection,
  type ClientConnectionOptions,
  type ClientEvent,
  type HostKeysProvedEvent,
} from "./client/client_connection.ts";
export {
  DEFAULT_LOGIN_TIMEOUT_MS,
  SERVER_SOFTWARE_VERSION,
  ServerConnection,
  type ServerConnectionOptions,
  type ServerEvent,
} from "./server/server_connection.ts";
export {
  createDefaultSuite,
  defaultAlgorithmPreferences,
  defaultServerSigAlgs,
  verifyWithBlob,
} from "./suite/default_suite.ts";
export { EnginePair, type EventHandler } from "./testing/pair.ts";
export { type RandomSource, seededRandom, systemRandom } from "./random.ts";
export { createHostKeySigner } from "./kex/host_key_signer.ts";
export type { HostKeySigner } from "./kex/types.ts";
export type {
  ClientAuthEvent,
  ClientAuthOptions,
  ClientHostKey,
  ClientPublicKey,
  StagedAuthAttempt,
} from "./auth/client_auth.ts";
export type {
  AuthVerdict,
  KbdintChallenge,
  ServerAuthEvent,
  ServerAuthOptions,
} from "./auth/server_auth.ts";
export type { EngineBase, EngineEvent, EngineOptions } from "./engine/engine_base.ts";
export type { KeySizes, TransportSuite } from "./transport/suite.ts";
export { checkKeyBlobSignature } from "./publickey/key_blob.ts";
export type { SignatureCheck, SkSignatureDetails } from "./publickey/verify.ts";
export type {
  AlgorithmPreferences,
  Transport,
  TransportEvent,
  TransportOptions,
} from "./transport/transport.ts";
export type { TransportPhase } from "./transport/phases.ts";
export type { RekeyLimits } from "./transport/rekey.ts";
// What the suite seam is made of, for callers who bring their own algorithms.
export type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketSealer,
} from "./crypto/types.ts";
export type {
  KexClientFlow,
  KexContext,
  KexHashName,
  KexMethod,
  KexResult,
  KexServerFlow,
  KexServerOptions,
  KexStep,
  KexWait,
} from "./kex/types.ts";
export type { PayloadCompressor, PayloadDecompressor } from "./transport/packet.ts";
export type { KexInitLists, NegotiatedAlgorithms } from "./transport/kexinit.ts";
export type { PeerVersion } from "./transport/version.ts";
export {
  ChannelOpenFailure,
  type ChannelOptions,
  type ConnectionLayer,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
} from "./connection/channels.ts";
export type { LocalState, RemoteState } from "./connection/channel_state.ts";
export type {
  ChannelCloseEvent,
  ChannelCloseReceivedEvent,
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
export {
  decodeExitSignal,
  decodeExitStatus,
  decodePtyRequest,
  decodeStringArg,
  decodeWindowChange,
  encodeEnv,
  encodeExitSignal,
  encodeExitStatus,
  encodePtyRequest,
  encodeStringArg,
  encodeWindowChange,
  type ExitSignal,
  type PtyRequest,
  type TerminalSize,
} from "./connection/session_requests.ts";
export type { ProvenHostKey } from "./connection/hostkeys.ts";
export {
  encodePublicKeyBlob,
  publicKeyTypeName,
  signatureAlgorithmsForKey,
  signData,
} from "./publickey/mod.ts";
export type {
  DsaKeyMaterial,
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  KeyMaterial,
  RsaKeyMaterial,
  SkKeyMaterial,
} from "./publickey/types.ts";
