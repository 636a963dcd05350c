/**
 * SFTP errors: {@link SFTPError} for a request the server refused (it carries
 * the SSH_FX_* status code and the server's message), and
 * {@link SFTPProtocolError} for a peer that broke the protocol, which ends the
 * subsystem.
 *
 * @module
 */

import { escapeControls } from "../core/peer_text.ts";
import { SSHError } from "../core/errors.ts";
import { SFTPStatus, STATUS_MESSAGES, STATUS_NAMES } from "./constants.ts";

/**
 * A request failed with an SSH_FX_* status: the server's answer, or our own
 * server's answer to a client. `status` is the code, `peerMessage` the text the
 * peer sent (empty when it sent none).
 *
 * @example Tell a missing file from other failures
 * ```ts
 * import { SFTPError, SFTPStatus } from "@sshts/ssh";
 * const e = new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path: "/etc/nope" });
 * console.log(e.status === SFTPStatus.NO_SUCH_FILE, e.message);
 * ```
 */
export class SFTPError extends SSHError {
  /** The SSH_FX_* status code. */
  readonly status: number;
  /** The message the peer sent with the status ("" if none), as sent (the error's message escapes its control characters). */
  readonly peerMessage: string;
  /** The path the request was about, when there was one. */
  readonly path: string | undefined;

  /** Creates the error; the message names the status, the path and the peer's text. */
  constructor(
    status: number,
    peerMessage = "",
    options?: ErrorOptions & { path?: string; operation?: string },
  ) {
    const name = STATUS_NAMES[status] ?? `status ${status}`;
    const text = escapeControls(peerMessage) || STATUS_MESSAGES[status] || name;
    const what = options?.operation ? `${options.operation}` : "SFTP request";
    // A path from a listing may hold control characters or bytes that are not UTF-8.
    const where = options?.path !== undefined ? ` "${escapeControls(options.path)}"` : "";
    super("ERR_SFTP", `${what}${where} failed: ${text} (${name})`, options);
    this.name = "SFTPError";
    this.status = status;
    this.peerMessage = peerMessage;
    this.path = options?.path;
  }

  /** Whether the status is SSH_FX_NO_SUCH_FILE (or NO_SUCH_PATH). */
  get notFound(): boolean {
    return this.status === SFTPStatus.NO_SUCH_FILE || this.status === SFTPStatus.NO_SUCH_PATH;
  }
}

/**
 * The peer broke the SFTP protocol (malformed or oversized packet, a reply to
 * no request, a reply of the wrong type). The subsystem ends: every pending
 * request fails with this error.
 *
 * @example
 * ```ts
 * import { SFTPProtocolError } from "@sshts/ssh";
 * const e = new SFTPProtocolError("Peer sent a 9000000-byte packet; the limit is 1048576");
 * console.log(e.code); // "ERR_PROTOCOL"
 * ```
 */
export class SFTPProtocolError extends SSHError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_PROTOCOL", message, options);
    this.name = "SFTPProtocolError";
  }
}
