/**
 * The errors of the forwarding layer of `io/`.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";

/**
 * The server refused a remote listener.
 *
 * @example
 * ```ts ignore
 * try { await conn.forwardRemotePort({ listenPort: 80, destHost: "127.0.0.1", destPort: 8080 }); }
 * catch (e) { if (e instanceof RemoteForwardError) console.log("not allowed to listen there"); }
 * ```
 */
export class RemoteForwardError extends SSHError {
  /** Creates the error. */
  constructor(message: string) {
    super("ERR_CHANNEL", message);
    this.name = "RemoteForwardError";
  }
}
