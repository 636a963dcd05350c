/**
 * The host name of a direct-tcpip open, checked before it is sent. OpenSSH's
 * sshd reads that field as a C string: one holding a NUL makes it end the
 * whole connection (every forward and session on it), not just refuse the
 * channel. No host name holds a control character, so none is sent. The same
 * goes for a listen address and a socket path sent to the server (a NUL only).
 *
 * @module
 */

/** C0 controls (NUL among them), DEL and C1 controls. */
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTER = /[\x00-\x1f\x7f-\x9f]/;

/**
 * Whether `host` may go into a direct-tcpip open: no control characters (NUL among them).
 *
 * @example
 * ```ts
 * import { isSendableHost } from "./dest_host.ts";
 * console.log(isSendableHost("db.internal")); // true
 * console.log(isSendableHost("127.0.0.1\0.example")); // false
 * ```
 */
export function isSendableHost(host: string): boolean {
  return !CONTROL_CHARACTER.test(host);
}

/**
 * Throws a `RangeError` when `host` cannot go into a direct-tcpip open (see
 * {@link isSendableHost}); `what` names the argument in the message.
 *
 * @example
 * ```ts
 * import { checkDestHost } from "./dest_host.ts";
 * checkDestHost("db.internal", "destHost"); // fine
 * try {
 *   checkDestHost("db\0x", "destHost");
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function checkDestHost(host: string, what: string): void {
  if (typeof host !== "string" || isSendableHost(host)) return;
  throw new RangeError(
    `${what} must be a host name without control characters, not ${JSON.stringify(host)}`,
  );
}

/**
 * Throws a `RangeError` when the host name at the start of direct-tcpip open data (an
 * SSH string) cannot be sent (see {@link isSendableHost}); data too short to hold one is
 * left for the peer to refuse.
 *
 * @example
 * ```ts
 * import { checkDirectTcpipOpen } from "./dest_host.ts";
 * import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
 * checkDirectTcpipOpen(encodeTcpipOpen("db", 5432, "127.0.0.1", 0)); // fine
 * try {
 *   checkDirectTcpipOpen(encodeTcpipOpen("db\0x", 5432, "127.0.0.1", 0));
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function checkDirectTcpipOpen(data: Uint8Array): void {
  const host = firstString(data);
  if (host !== undefined) checkDestHost(host, "host");
}

/**
 * Throws a `RangeError` when the data of a channel open of type `channelType` names what
 * OpenSSH's sshd would end the whole connection over: a direct-tcpip host (see
 * {@link checkDirectTcpipOpen}) or a direct-streamlocal socket path with a NUL. Other
 * types pass.
 *
 * @example
 * ```ts
 * import { checkChannelOpen } from "./dest_host.ts";
 * import { encodeStreamlocalOpen } from "../client/forwarding.ts";
 * try {
 *   checkChannelOpen("direct-streamlocal@openssh.com", encodeStreamlocalOpen("/run/a\0b"));
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function checkChannelOpen(channelType: string, data: Uint8Array): void {
  if (channelType === "direct-tcpip") checkDirectTcpipOpen(data);
  else if (channelType === "direct-streamlocal@openssh.com") {
    const path = firstString(data);
    if (path !== undefined) checkSocketPath(path, "path");
  }
}

/** The first SSH string of `data`; undefined when it is cut short (the peer refuses that). */
function firstString(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined;
  const n = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
  if (data.length < 4 + n) return undefined;
  return new TextDecoder().decode(data.subarray(4, 4 + n));
}

/**
 * Throws a `RangeError` when the UNIX socket path `path` holds a NUL: no path does, and
 * OpenSSH's sshd reads the socket path of a direct-streamlocal open or a
 * streamlocal-forward request as a C string, ending the whole connection (every forward
 * and session on it) over one. `what` names the argument in the message.
 *
 * @example
 * ```ts
 * import { checkSocketPath } from "./dest_host.ts";
 * checkSocketPath("/run/app.sock", "destPath"); // fine
 * try {
 *   checkSocketPath("/run/app.sock\0x", "destPath");
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 */
export function checkSocketPath(path: string, what: string): void {
  if (typeof path !== "string" || !path.includes("\0")) return;
  throw new RangeError(`${what} must be a socket path without a NUL, not ${JSON.stringify(path)}`);
}
