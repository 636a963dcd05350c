/**
 * A complete SSH-2 client and server for TypeScript, with a sans-IO protocol core.
 * Runs unchanged on Deno, Node and Bun.
 *
 * - {@link connect} opens a client connection; {@link listen} starts a server.
 * - `keys/` handles keys, certificates, known_hosts and authorized_keys.
 * - The sans-IO engines (`ClientConnection`, `ServerConnection`) are exported from
 *   `./core/mod.ts` for callers who bring their own I/O.
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
  type ProcessOptions,
  type ProcessTarget,
  SSHClientConnection,
} from "./io/client.ts";
export { ProcessError, type ProcessResult, SSHClientProcess } from "./io/process.ts";
export { ChannelClosedError, ChannelIO } from "./io/channel.ts";
export {
  listen,
  type ListenOptions,
  type ServerConnectionInfo,
  type ServerHostKey,
  type SSHServer,
} from "./io/server.ts";
export { SSHServerProcess } from "./io/server_process.ts";
export { clientKeyFromSSHKey, hostKeyFromSSHKey, readPrivateKey } from "./io/key_sources.ts";
export * from "./keys/mod.ts";
