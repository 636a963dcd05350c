/**
 * The errors of the engine layer of `io/`: a channel the peer would not open,
 * and a channel that closed under its reader or writer.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";

/**
 * The peer refused to open a channel (the server for a client, the client for a server).
 *
 * @example
 * ```ts ignore
 * try { await conn.openChannel("direct-tcpip", data); }
 * catch (e) { if (e instanceof ChannelOpenError) console.log(e.reason, e.message); }
 * ```
 */
export class ChannelOpenError extends SSHError {
  /** SSH_OPEN_* reason code. */
  readonly reason: number;

  /** Creates the error. */
  constructor(reason: number, description: string) {
    super(
      "ERR_CHANNEL_OPEN",
      `Channel open refused (reason ${reason}): ${description || "no description"}`,
    );
    this.name = "ChannelOpenError";
    this.reason = reason;
  }
}

/**
 * Error used to fail a channel's streams when the connection goes away.
 *
 * @example
 * ```ts ignore
 * try { await channel.write(bytes); }
 * catch (e) { if (e instanceof ChannelClosedError) console.log("the peer closed the channel"); }
 * ```
 */
export class ChannelClosedError extends SSHError {
  /** Creates the error. */
  constructor(message = "The channel is closed") {
    super("ERR_CHANNEL", message);
    this.name = "ChannelClosedError";
  }
}
