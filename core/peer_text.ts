/**
 * Text a peer sent, made safe to show: a server's DISCONNECT reason, a refused
 * channel's description or an SFTP status message can carry terminal escape
 * sequences that move the cursor, retitle the window or hide what follows when
 * an error message reaches a terminal or a log (ssh shows such text through
 * `strnvis` for the same reason; CVE-2019-6109 for scp).
 *
 * @module
 */

import { decodeEscapedUtf8 } from "./escaped_utf8.ts";
import type { SSHReader } from "./wire.ts";

/**
 * Reads text a peer wrote for a person (a banner, a prompt, a DISCONNECT or DEBUG message,
 * an exit signal's message, their language tags). The RFCs say UTF-8, but sshd sends its
 * Banner file and PAM's prompts as bytes, and OpenSSH, PuTTY and libssh show such text
 * whatever it is and however long: a byte that is not UTF-8 is kept escaped (shown as `\xNN`
 * by {@link escapeControls}), and past `maxLength` bytes the text is cut, rather than ending
 * the connection. The string itself is read within the packet, as any other.
 *
 * @example
 * ```ts
 * import { escapeControls, readPeerText } from "./peer_text.ts";
 * import { SSHReader } from "./wire.ts";
 * const r = new SSHReader(new Uint8Array([0, 0, 0, 3, 0x42, 0xe9, 0x6e])); // "B", Latin-1 é, "n"
 * console.log(escapeControls(readPeerText(r, "banner", 1024))); // "B\\xe9n"
 * ```
 */
export function readPeerText(r: SSHReader, what: string, maxLength: number): string {
  const b = r.readString(what);
  return decodeEscapedUtf8(b.length > maxLength ? b.subarray(0, maxLength) : b);
}

/**
 * Escapes control characters (C0, DEL, C1) and bidirectional overrides as `\xNN` /
 * `\u{NNNN}`, and shows a byte kept from a name that is not UTF-8 (a lone U+DC80–U+DCFF,
 * see `decodeEscapedUtf8`) as `\xNN`; everything else, newlines aside, is left as it is.
 *
 * @example
 * ```ts
 * import { escapeControls } from "@sshts/ssh";
 * console.log(escapeControls("bye\x1b]0;pwned\x07")); // "bye\\x1b]0;pwned\\x07"
 * ```
 */
export function escapeControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]|(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g,
    (c) => {
      const n = c.charCodeAt(0);
      // A lone U+DC80–U+DCFF is a byte that was not UTF-8 (core/escaped_utf8.ts): shown as that byte.
      const b = n >= 0xdc80 && n <= 0xdcff ? n - 0xdc00 : n;
      return b <= 0xff ? `\\x${b.toString(16).padStart(2, "0")}` : `\\u{${b.toString(16)}}`;
    },
  );
}
