/**
 * A complete SSH-2 client and server for TypeScript, with a sans-IO protocol core.
 * Runs unchanged on Deno, Node and Bun.
 *
 * - {@link connect} opens a client connection; {@link listen} starts a server.
 * - `keys/` handles keys, certificates, known_hosts and authorized_keys.
 * - The sans-IO engines (`ClientConnection`, `ServerConnection`) live in `core/`
 *   (`core/client/`, `core/server/`) for callers who bring their own I/O; their
 *   types and events are exported here.
 *
 * @example Run a command
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * await using conn = await connect("127.0.0.1", { port: 22, username: "deploy" });
 * const { stdout, exitStatus } = await conn.run("uname -a", { check: true });
 * console.log(exitStatus, stdout);
 * ```
 *
 * @module
 */

export * from "./core/errors.ts";
export {
  ChannelOpenError,
  type ClientExtraInfo,
  type ClientKeyPair,
  connect,
  type ConnectOptions,
  type HostKeyInfo,
  type LocalPortForwardOptions,
  type OpenChannelOptions,
  type ProcessOptions,
  type ProcessTarget,
  type RemoteConnectionHandler,
  type RemotePortForwardOptions,
  type RunOptions,
  type SocksForwardOptions,
  SSHClientConnection,
  type SSHListener,
  type SSHStreamConnection,
} from "./io/client.ts";
export {
  ProcessError,
  type ProcessResult,
  type SSHChannelSession,
  SSHClientProcess,
  type SSHClientSession,
  type TerminalOptions,
  type WaitOptions,
  type X11ForwardingOptions,
} from "./io/process.ts";
export { ChannelClosedError, ChannelIO, type ChannelRequestHandler } from "./io/channel.ts";
export {
  type RedirectableProcess,
  type RedirectOptions,
  type RedirectSource,
  type RedirectTarget,
  STDOUT,
} from "./io/redirect.ts";
export type { ForwardedConnectionInfo } from "./io/forward_stream.ts";
export {
  type AgentAddIdentityOptions,
  AgentClient,
  type AgentExtensionReply,
  type AgentKey,
  type AgentSignOptions,
  type AgentStreamOpener,
  connectAgent,
} from "./io/agent/client.ts";
export { type AgentListener, type AgentListenOptions, SSHAgent } from "./io/agent/ssh_agent.ts";
export type { AgentOption } from "./io/agent/connect_agent.ts";
export {
  type AgentAddOptions,
  AgentError,
  type AgentErrorKind,
  type AgentKeyInfo,
  AgentKeyring,
  type AgentKeyringOptions,
  type ConfirmRequest,
  type DestinationConstraint,
  type DestinationHop,
  type HopKey,
  type KeyConstraint,
} from "./agent/mod.ts";
export type { ByteSocket, SocketHandlers, WebDuplex } from "./io/socket.ts";
export {
  listen,
  type ListenOptions,
  type ServerConnectionInfo,
  type ServerHostKey,
  type SSHServer,
} from "./io/server.ts";
export type {
  CertificateAuthInfo,
  HostBasedClientInfo,
  MaybePromise,
  PasswordVerdict,
  ProcessFactory,
  PublicKeyAuthInfo,
  ServerHooks,
} from "./io/server_options.ts";
export type { ServerExtraInfo, SSHServerConnection } from "./io/server_connection.ts";
export type { HostKeyInput } from "./io/server_host_keys.ts";
export type {
  AuthorizedKeysInput,
  AuthorizedKeysSource,
  ConnectionPermissions,
} from "./io/server_auth_keys.ts";
export { SSHServerProcess } from "./io/server_process.ts";
export type { LineEditor, LineEditorEvent, LineEditorResult } from "./io/line_editor.ts";
export {
  clientKeyFromSSHKey,
  hostKeyFromSSHKey,
  type PrivateKeyInput,
  readPrivateKey,
} from "./io/key_sources.ts";
export * from "./keys/mod.ts";

// Types from the sans-IO core that the API above exposes (engines, their events,
// negotiated algorithms, key material), so callers can name them.
export type { RandomSource } from "./core/random.ts";
export type {
  DsaKeyMaterial,
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  KeyMaterial,
  RsaKeyMaterial,
  SkKeyMaterial,
} from "./core/publickey/types.ts";
export type { VerifyOptions } from "./core/publickey/verify.ts";
export type { Transport, TransportEvent } from "./core/transport/transport.ts";
export type { PeerVersion } from "./core/transport/version.ts";
export type { KexInitLists, NegotiatedAlgorithms } from "./core/transport/kexinit.ts";
export type { Modulus } from "./core/kex/moduli.ts";
export type { ClientAuthEvent } from "./core/auth/client_auth.ts";
export type { AuthVerdict, KbdintChallenge, ServerAuthEvent } from "./core/auth/server_auth.ts";
export type {
  ClientConnection,
  ClientEvent,
  HostKeysProvedEvent,
} from "./core/client/client_connection.ts";
export type { ServerConnection, ServerEvent } from "./core/server/server_connection.ts";
export type { ProvenHostKey } from "./core/connection/hostkeys.ts";
export type { ChannelOptions, ConnectionLayer } from "./core/connection/channels.ts";
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
} from "./core/connection/events.ts";
export type { ExitSignal, PtyRequest, TerminalSize } from "./core/connection/session_requests.ts";
