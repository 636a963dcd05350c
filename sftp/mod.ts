/**
 * SFTP (SSH File Transfer Protocol, version 3 with OpenSSH's extensions), pure:
 * the codec, a client engine, a server engine that serves any
 * {@link SFTPBackend}, and an in-memory backend. Nothing here does I/O; the
 * `io/` layer runs these over an SSH channel (`conn.startSftp()`, and
 * `listen({ sftp })` on the server side). Also the legacy SCP protocol's
 * record codec and sink state machine (`scp()` and `listen({ scp })` run them).
 *
 * Extensions, both directions: `posix-rename@openssh.com`,
 * `statvfs@openssh.com`, `fstatvfs@openssh.com`, `hardlink@openssh.com`,
 * `fsync@openssh.com`, `lsetstat@openssh.com`, `limits@openssh.com`,
 * `expand-path@openssh.com`, `copy-data`, `home-directory`,
 * `users-groups-by-id@openssh.com`.
 *
 * @example Our client engine against our server engine, in memory
 * ```ts
 * import { MemoryBackend, SFTPClientEngine, SFTPServerEngine } from "@sshts/ssh/sftp";
 *
 * const files = new MemoryBackend();
 * files.writeFile("/hello.txt", new TextEncoder().encode("hello"));
 * const client = new SFTPClientEngine();
 * const server = new SFTPServerEngine(files, {
 *   send: (chunks) => chunks.forEach((c) => client.receiveData(c)),
 * });
 * const flush = async () => {
 *   for (const c of client.takeOutgoing()) server.receiveData(c);
 *   await server.idle();
 * };
 *
 * client.start();
 * await flush();
 * console.log(client.pollEvent()?.type); // "version"
 * const id = client.request({ type: "stat", path: "/hello.txt" });
 * await flush();
 * const e = client.pollEvent();
 * if (e?.type === "reply" && e.id === id && e.result.kind === "attrs") {
 *   console.log(e.result.attrs.size); // 5
 * }
 * ```
 *
 * @module
 */

export {
  type ExtendedAttribute,
  type FileAttributes,
  formatLongname,
  isDirectory,
  isRegularFile,
  isSymbolicLink,
  modeString,
} from "./attrs.ts";
export type { DirEntry, SFTPBackend } from "./backend.ts";
export {
  SFTPClientEngine,
  type SFTPClientEngineOptions,
  type SFTPClientEvent,
  type SFTPResult,
} from "./client_engine.ts";
export {
  CLIENT_DEFAULT_REQUEST,
  CLIENT_MAX_PACKET,
  CLIENT_MAX_REQUEST,
  Ext,
  EXTENSION_VERSIONS,
  OpenFlags,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  SERVER_MAX_HANDLES,
  SERVER_MAX_PACKET,
  SERVER_MAX_READ,
  SERVER_MAX_WRITE,
  SFTP_VERSION,
  SFTPStatus,
  ST_NOSUID,
  ST_RDONLY,
} from "./constants.ts";
export { SFTPError, SFTPProtocolError } from "./errors.ts";
export { readOnlyBackend } from "./read_only.ts";
export type {
  NameEntry,
  SFTPLimits,
  SFTPReply,
  SFTPRequest,
  SFTPRequestType,
  StatVFS,
} from "./messages.ts";
export { SSHError, type SSHErrorCode } from "../core/errors.ts";
export { decodeEscapedUtf8, encodeEscapedUtf8, hasEscapedBytes } from "../core/escaped_utf8.ts";
export {
  MEMORY_BACKEND_MAX_BYTES,
  MemoryBackend,
  type MemoryBackendOptions,
  type MemoryHandle,
} from "./memory_backend.ts";
export {
  basename,
  dirname,
  globToRegExp,
  hasGlob,
  joinPath,
  normalizePath,
  resolvePath,
  unescapeGlob,
  unsafeEntryName,
} from "./path.ts";
export {
  type HandleBudget,
  SFTPServerEngine,
  type SFTPServerEngineOptions,
} from "./server_engine.ts";
export { FrameError, PacketFramer } from "./framer.ts";
export { type SymlinkOrder, symlinkOrder } from "./symlink_order.ts";
// Legacy SCP, pure: the record codec, the framing reader, the sink state machine, shell quoting.
export {
  ACK_OK,
  checkName,
  encodeRecord,
  isScpCommand,
  MAX_DEPTH,
  MAX_FILE_SIZE,
  MAX_NAME_LENGTH,
  MAX_RECORD_LENGTH,
  MAX_TIME_SECONDS,
  nameMatcher,
  parseRecord,
  parseScpCommand,
  sanitize,
  type SCPAck,
  type SCPCommand,
  SCPError,
  type SCPErrorReason,
  SCPReader,
  type SCPRecord,
  type SCPTimes,
  shellQuote,
} from "./scp/records.ts";
export { type SCPSinkEvent, SCPSinkMachine, type SCPSinkOptions } from "./scp/sink_machine.ts";
