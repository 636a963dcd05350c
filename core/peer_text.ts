/**
 * Text a peer sent, made safe to show: a server's DISCONNECT reason, a refused
 * channel's description or an SFTP status message can carry terminal escape
 * sequences that move the cursor, retitle the window or hide what follows when
 * an error message reaches a terminal or a log (ssh shows such text through
 * `strnvis` for the same reason; CVE-2019-6109 for scp).
 *
 * @module
 */

/**
 * Escapes control characters (C0, DEL, C1) and bidirectional overrides as `\xNN` /
 * `\u{NNNN}`; everything else, newlines aside, is left as it is.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./peer_text.ts";
 * console.log(escapeControls("bye\x1b]0;pwned\x07")); // "bye\\x1b]0;pwned\\x07"
 * ```
 */
export function escapeControls(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}
