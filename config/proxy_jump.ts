/**
 * The hops of a `ProxyJump` value, in the order they are connected to.
 *
 * @module
 */

import { fromBytes, toBytes } from "./_bytes.ts";
import { parseSSHUri, parseUserHostPort } from "./_values.ts";
import { SSHConfigError } from "./errors.ts";

/** One jump host. */
export interface SSHJumpHop {
  /** User to log in as, when given. */
  readonly user?: string | undefined;
  /** Host as written (config applies to it as to any host). */
  readonly host: string;
  /** Port, when given. */
  readonly port?: number | undefined;
}

/**
 * Splits a ProxyJump value ("[user@]host[:port]" or ssh:// URIs, comma
 * separated; the first is connected to first). "none" gives no hops.
 *
 * @example
 * ```ts
 * import { parseProxyJump } from "@sshts/ssh";
 * console.log(parseProxyJump("ops@bastion:2222,inner"));
 * // [{ user: "ops", host: "bastion", port: 2222 }, { user: undefined, host: "inner", port: undefined }]
 * ```
 */
export function parseProxyJump(value: string): SSHJumpHop[] {
  if (value.toLowerCase() === "none") return [];
  const out: SSHJumpHop[] = [];
  for (const part of toBytes(value).split(",")) {
    const uri = parseSSHUri(part, undefined);
    const p = uri === 1 ? parseUserHostPort(part, undefined) : uri;
    if (!p) {
      throw new SSHConfigError("ERR_CONFIG_INVALID", `Invalid ProxyJump hop "${fromBytes(part)}"`);
    }
    out.push({
      user: p.user === undefined ? undefined : fromBytes(p.user),
      host: fromBytes(p.host),
      port: p.port > 0 ? p.port : undefined,
    });
  }
  return out;
}
