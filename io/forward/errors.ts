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
 * ```ts
 * import { RemoteForwardError } from "@sshts/ssh";
 * // What `conn.forwardRemotePort({ listenPort: 80, ... })` rejects with when the server says no.
 * const e: unknown = new RemoteForwardError("The server refused to listen on 0.0.0.0:80");
 * if (e instanceof RemoteForwardError) console.log(e.code); // "ERR_CHANNEL"
 * ```
 */
export class RemoteForwardError extends SSHError {
  /** Creates the error. */
  constructor(message: string) {
    super("ERR_CHANNEL", message);
    this.name = "RemoteForwardError";
  }
}
