/**
 * A complete SSH-2 client and server for TypeScript, with a sans-IO protocol core.
 * Runs unchanged on Deno, Node and Bun.
 *
 * - {@link connect} opens a client connection; {@link listen} starts a server.
 * - Keys, certificates, known_hosts and authorized_keys are exported here too, and on
 *   their own from `@sshts/ssh/keys`.
 * - The sans-IO engines (`ClientConnection`, `ServerConnection`), for callers who
 *   bring their own I/O (a browser, a worker), are the `@sshts/ssh/core` entry point.
 *
 * @example A server and a client that trusts exactly its host key
 * ```ts
 * import { addKnownHost, connect, generatePrivateKey, hostKeyFromSSHKey, listen } from "@sshts/ssh";
 *
 * const hostKey = generatePrivateKey("ed25519");
 * await using server = await listen({
 *   port: 0, // any free port
 *   hostKeys: [hostKeyFromSSHKey(hostKey)],
 *   validatePassword: (user, password) => user === "demo" && password === "demo",
 *   processFactory: async (process) => {
 *     await process.write(`you ran ${process.command}\n`);
 *   },
 * });
 * const { port } = server.address;
 * await using conn = await connect("127.0.0.1", {
 *   port,
 *   username: "demo",
 *   password: "demo",
 *   // Trust this one host key (by default, ~/.ssh/known_hosts decides).
 *   knownHosts: { text: addKnownHost("", "127.0.0.1", port, hostKey.publicKey()) },
 * });
 * const { stdout, exitStatus } = await conn.run("uname -a", { check: true });
 * console.log(exitStatus, stdout); // 0 "you ran uname -a\n"
 * ```
 *
 * @module
 */

export * from "./core/errors.ts";
export { escapeControls } from "./core/peer_text.ts";
export { decodeEscapedUtf8, encodeEscapedUtf8, hasEscapedBytes } from "./core/escaped_utf8.ts";
// Every error class the library throws, so `instanceof` works from the package.
export { KexError } from "./core/kex/errors.ts";
export { CompressionError } from "./core/compression/compression_error.ts";
export {
  KeyBlobError,
  type KeyBlobProblem,
  UnsupportedKeyTypeError,
} from "./core/publickey/errors.ts";
export { UnsupportedAlgorithmError } from "./core/crypto/registry.ts";
export { PqInputError, type PqInputProblem } from "./core/pq/errors.ts";
export { Asn1Error } from "./keys/formats/asn1.ts";

// io/config: OpenSSH client configuration for this machine (config/ is the pure resolver).
export { readSSHConfig, resolveSSHConfig } from "./io/config/mod.ts";
export { spawnProxyCommand } from "./io/config/proxy_command.ts";
export {
  type AlgorithmFamily,
  DEFAULT_SSH_CONFIG_PROFILE,
  formatSSHConfig,
  type FormatSSHConfigOptions,
  MuxProtocolError,
  parseProxyJump,
  type ResolvedSSHConfig,
  type ResolveSSHConfigOptions,
  SSHConfigError,
  type SSHConfigErrorCode,
  type SSHConfigFileStat,
  type SSHConfigForward,
  type SSHConfigLookupResult,
  type SSHConfigProfile,
  type SSHConfigSystem,
  type SSHConfigTokens,
  type SSHJumpHop,
} from "./config/mod.ts";

// io/client: connect() and the client connection.
export { connect, type ConnectHooks } from "./io/client/connect.ts";
export type {
  HostBasedCredentials,
  KbdintResponder,
  StagedAuth,
  StagedAuthResult,
} from "./io/client/staged_auth.ts";
export {
  setUpX11Forwarding,
  type X11ClientOptions,
  type X11Host,
} from "./io/client/x11_forward.ts";
export {
  getServerAuthMethods,
  getServerHostKey,
  type ProbeOptions,
  type ServerHostKeyProbe,
} from "./io/client/probe.ts";
export {
  ALGORITHM_KINDS,
  type AlgorithmKind,
  DEFAULT_ALGORITHMS,
  type Direction,
  hashHostKey,
  type HostKeyHashKind,
  negotiatedMethod,
  SUPPORTED_ALGORITHMS,
  supportedAlgorithms,
} from "./io/client/session_controls.ts";
export {
  type OpenConnectionOptions,
  type OpenUnixConnectionOptions,
  SSHClientConnection,
} from "./io/client/connection.ts";
export { ClientConnectionBase } from "./io/client/connection_base.ts";
export type {
  ClientExtraInfo,
  ConnectOptions,
  ForwardSignalOptions,
  LocalPortForwardOptions,
  NodeDuplexLike,
  OpenChannelOptions,
  RemoteAcceptOptions,
  RemoteConnectionHandler,
  RemotePortForwardOptions,
  RunOptions,
  SocksForwardOptions,
  TunnelConnection,
} from "./io/client/options.ts";
export { DEFAULT_CONNECT_TIMEOUT_MS } from "./io/client/connect.ts";
export {
  ConnectError,
  connectErrorPhase,
  type ConnectPhase,
  ConnectTimeoutError,
  ProcessDisconnectedError,
  ProcessError,
  ProcessOutputLimitError,
  type ProcessResult,
  ProcessTimeoutError,
} from "./io/client/errors.ts";
export { type ReadChunk, SSHClientProcess, type WaitOptions } from "./io/client/process.ts";
export {
  type ProcessOptions,
  type ProcessTarget,
  type SSHChannelSession,
  type SSHClientSession,
  TerminalMode,
  type TerminalOptions,
  type X11ForwardingOptions,
} from "./io/client/session.ts";
export {
  DEVNULL,
  type RedirectableProcess,
  type RedirectOptions,
  type RedirectSource,
  type RedirectTarget,
  STDOUT,
} from "./io/client/redirect.ts";

// io/fanout: many hosts from one process.
export {
  connectMany,
  type ConnectManyOptions,
  DEFAULT_FANOUT_CONCURRENCY,
  DEFAULT_POOL_KEEPALIVE,
  DEFAULT_POOL_MAX_SESSIONS,
  DEFAULT_RETRY_DELAY,
  type FanoutCommandResult,
  type FanoutCommandSuccess,
  type FanoutFailure,
  type FanoutHost,
  type FanoutProgress,
  type FanoutResult,
  type FanoutSuccess,
  type FanoutTask,
  type FanoutTaskInfo,
  type FanoutTiming,
  isRetryableConnectError,
  type PoolOptions,
  type PoolRunAllOptions,
  runMany,
  type RunManyOptions,
  SSHPool,
} from "./io/fanout/mod.ts";

// io/engine: channels as Web Streams.
export { ChannelClosedError, ChannelOpenError } from "./io/engine/errors.ts";
export type { ConsoleLike, Log, LogLevel, LogOptions } from "./io/engine/logger.ts";
export { ChannelIO, type ChannelRequestHandler, type ChannelSink } from "./io/engine/channel.ts";
export {
  IncompleteReadError,
  ReadLimitError,
  readLines,
  StreamReader,
  type StreamReaderOptions,
} from "./io/engine/stream_reader.ts";

// io/forward and io/runtime: listeners, forwarded connections, sockets.
export { RemoteForwardError } from "./io/forward/errors.ts";
export type { SSHListener } from "./io/forward/listener.ts";
export {
  DEFAULT_ACCEPT_BACKLOG,
  type SSHAcceptingListener,
} from "./io/forward/accepting_listener.ts";
export type { ForwardedConnectionInfo, SSHStreamConnection } from "./io/forward/stream.ts";
export {
  duplexFromSocket,
  forwardConnection,
  type ForwardedSocket,
  forwardUnixConnection,
} from "./io/forward/forward_connection.ts";
export type { ByteSocket, SocketHandlers, WebDuplex } from "./io/runtime/socket.ts";

// io/agent and agent/: the agent client, the in-process agent, the protocol's types.
export {
  type AgentAddIdentityOptions,
  AgentClient,
  type AgentClientOptions,
  type AgentExtensionReply,
  type AgentKey,
  type AgentKeyPair,
  type AgentSignOptions,
  type AgentStreamOpener,
  connectAgent,
  DEFAULT_AGENT_TIMEOUT_MS,
} from "./io/agent/client.ts";
export { type AgentListener, type AgentListenOptions, SSHAgent } from "./io/agent/ssh_agent.ts";
export {
  type AgentOption,
  type BindableEngine,
  type SessionBindSource,
  sessionBindSource,
} from "./io/agent/connect_agent.ts";
export {
  type AgentAddOptions,
  AgentConnectionState,
  AgentError,
  type AgentErrorKind,
  type AgentIdentity,
  type AgentKeyInfo,
  AgentKeyring,
  type AgentKeyringOptions,
  type AgentReply,
  type AgentRequest,
  type ConfirmRequest,
  type DestinationConstraint,
  type DestinationHop,
  type HopKey,
  type KeyConstraint,
  type SessionBind,
  type SessionBinding,
} from "./agent/mod.ts";

// io/server: listen() and what its hooks see.
export { listen, type SSHServer } from "./io/server/listen.ts";
export { serveConnection, type ServeOptions } from "./io/server/serve.ts";
export type {
  CertificateAuthInfo,
  HostBasedClientInfo,
  ListenOptions,
  MaybePromise,
  PasswordVerdict,
  ProcessFactory,
  ProcessRequest,
  PublicKeyAuthInfo,
  PublicKeyAuthOptions,
  ServerHooks,
  VirtualRemoteForward,
} from "./io/server/options.ts";
export type {
  ServerChannelOptions,
  ServerConnectionContext,
  ServerConnectionInfo,
  ServerExtraInfo,
} from "./io/server/context.ts";
export type { SSHServerConnection } from "./io/server/connection.ts";
export type { HostKeyInput } from "./io/server/host_keys.ts";
export type { AuthorizedPrincipalsSource, PublicKeysSource } from "./io/server/user_trust.ts";
export type { ConnectionPermissions } from "./io/server/permissions.ts";
export {
  type ServerProcessEvent,
  type ServerRedirectOptions,
  type SessionEncodingOptions,
  SSHServerProcess,
  textSession,
} from "./io/server/process.ts";
export { type LocalCommandOptions, runLocalCommand } from "./io/server/local_command.ts";
export { SERVER_SET_ENV } from "./io/server/session.ts";
export type { X11Request, X11ServerOptions } from "./io/server/x11.ts";
export type { LineEditor, LineEditorEvent, LineEditorResult } from "./io/server/line_editor.ts";

// io/keys: key shapes, key files, signers.
export type { ClientKeyPair, HostKeyInfo, ServerHostKey } from "./io/keys/types.ts";
export {
  authorizedKeysFor,
  type AuthorizedKeysInput,
  type AuthorizedKeysSource,
  loadAuthorizedKeys,
  matchAuthorizedKey,
} from "./io/keys/authorized_keys.ts";
export {
  clientKeyFromSSHKey,
  clientKeyFromX509,
  hostKeyFromSSHKey,
  hostKeyFromX509,
} from "./io/keys/signers.ts";
export {
  type CertificateInput,
  DEFAULT_IDENTITY_FILES,
  loadCertificates,
  loadDefaultClientKeys,
  loadKeyPairs,
  type LoadKeyPairsOptions,
  loadPublicKeys,
  type PrivateKeyInput,
  type PublicKeyInput,
  readCertificate,
  readPrivateKey,
  readPrivateKeyList,
  readPublicKey,
} from "./io/keys/files.ts";
export { loadRevokedKeys, RevokedKeys, type RevokedKeysSource } from "./io/keys/revoked_keys.ts";
export {
  DEFAULT_KNOWN_HOSTS_FILES,
  hostLabel,
  type KnownHostKeys,
  type KnownHostsCheckInfo,
  knownHostsFromKeys,
  type KnownHostsSource,
  type KnownHostsVerifier,
  knownHostsVerifier,
  readKnownHosts,
} from "./io/keys/known_hosts.ts";
export {
  loadX509Certificates,
  type X509CertificateInput,
  x509HostKeyVerifier,
} from "./io/keys/x509_verifier.ts";
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
// The packet-protection seam the transport exposes (`transport.sealer`, `.opener`).
export type { PacketOpener, PacketSealer } from "./core/crypto/types.ts";
export type { PeerVersion } from "./core/transport/version.ts";
export type { KexInitLists, NegotiatedAlgorithms } from "./core/transport/kexinit.ts";
export type { Modulus } from "./core/kex/moduli.ts";
export type {
  ClientAuthEvent,
  ClientHostKey,
  ClientPublicKey,
  StagedAuthAttempt,
} from "./core/auth/client_auth.ts";
export type { AuthVerdict, KbdintChallenge, ServerAuthEvent } from "./core/auth/server_auth.ts";
export type { SignatureCheck, SkSignatureDetails } from "./core/publickey/verify.ts";
export type {
  ClientConnection,
  ClientEvent,
  HostKeysProvedEvent,
} from "./core/client/client_connection.ts";
export type { ServerConnection, ServerEvent } from "./core/server/server_connection.ts";
export type { EngineBase, EngineEvent } from "./core/engine/engine_base.ts";
export type { TransportPhase } from "./core/transport/phases.ts";
export type { LocalState, RemoteState } from "./core/connection/channel_state.ts";
export type { ProvenHostKey } from "./core/connection/hostkeys.ts";
export type { ChannelOptions, ConnectionLayer } from "./core/connection/channels.ts";
export {
  ChannelOpenFailure,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
} from "./core/connection/channels.ts";
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
} from "./core/connection/events.ts";
export type { ExitSignal, PtyRequest, TerminalSize } from "./core/connection/session_requests.ts";

// SFTP: the client (conn.startSftp()), the server pieces (listen({ sftp })), and the pure protocol.
export {
  type FollowOptions,
  MAX_LISTED_ENTRIES,
  type OpenMode,
  type ProgressHandler,
  type SFTPChannelOpener,
  SFTPClient,
  type SFTPClientOptions,
  type SFTPDirEntry,
  startSftp,
  type TransferOptions,
} from "./io/sftp/client.ts";
export { type FileReadableOptions, openFlags, SFTPFile } from "./io/sftp/file.ts";
export {
  FileSizeLimitError,
  type ReadFileOptions,
  type WriteFileOptions,
} from "./io/sftp/whole_file.ts";
export { FsBackend, type FsBackendOptions, type FsHandle } from "./io/sftp/fs_backend.ts";
export {
  serveSftp,
  sftpProcessFactory,
  type SFTPServerConfig,
  type SFTPServerOption,
} from "./io/sftp/server.ts";
export { FileSessionLimits } from "./io/sftp/session_limits.ts";
export type { HandleBudget } from "./sftp/server_engine.ts";
// SCP: scp() (SFTP or the legacy protocol), libssh2's conn.scpSend/scpRecv, listen({ scp }).
export { scp, type SCPLocation, type SCPOptions } from "./io/scp/scp.ts";
export { type SCPFileStat, type SCPSendOptions } from "./io/scp/remote.ts";
export { type SCPServerConfig, type SCPServerOption } from "./io/scp/server.ts";
export { SCPError, type SCPErrorReason } from "./sftp/scp/records.ts";
export {
  type DirEntry,
  type ExtendedAttribute,
  type FileAttributes,
  FrameError,
  MemoryBackend,
  type MemoryBackendOptions,
  type MemoryHandle,
  type NameEntry,
  OpenFlags,
  type SFTPBackend,
  SFTPError,
  type SFTPLimits,
  SFTPProtocolError,
  SFTPStatus,
  type StatVFS,
  type SymlinkOrder,
  symlinkOrder,
} from "./sftp/mod.ts";
