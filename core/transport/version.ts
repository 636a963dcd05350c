/**
 * The version exchange (RFC 4253 §4.2): the identification line, and the lines a
 * server may send before it.
 *
 * @module
 */

import { DisconnectError, DisconnectReason } from "../errors.ts";
import { MAX_PRE_VERSION_BYTES, MAX_PRE_VERSION_LINES, MAX_VERSION_LINE } from "../limits.ts";

export { MAX_PRE_VERSION_BYTES, MAX_PRE_VERSION_LINES, MAX_VERSION_LINE };

/** The peer's identification, once read. */
export interface PeerVersion {
  /** The whole line without CR LF, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2". */
  readonly line: string;
  /** The software version part, e.g. "OpenSSH_9.2p1". */
  readonly software: string;
  /** The comment after the first space, if any. */
  readonly comments: string;
  /** Lines the peer sent before its version line (servers only). */
  readonly preamble: readonly string[];
}

/** Builds our identification line (without CR LF). */
export function formatVersionLine(software: string, comments?: string): string {
  if (!/^[\x21-\x2c\x2e-\x7e]+$/.test(software)) {
    throw new RangeError(
      `Invalid SSH software version "${software}": printable ASCII without '-' or space`,
    );
  }
  const line = `SSH-2.0-${software}${comments ? " " + comments : ""}`;
  if (line.length + 2 > MAX_VERSION_LINE) throw new RangeError("SSH version line is too long");
  return line;
}

/**
 * Incrementally reads the peer's identification line. Feed bytes with `push`; it
 * returns the version and the bytes after it once the line is complete.
 */
export class VersionReader {
  #buf = new Uint8Array(0);
  #preamble: string[] = [];
  #preambleBytes = 0;
  readonly #allowPreamble: boolean;

  /** `allowPreamble`: accept text lines before the version (true when reading a server's). */
  constructor(allowPreamble: boolean) {
    this.#allowPreamble = allowPreamble;
  }

  /**
   * Adds bytes. Returns undefined while the line is incomplete, or the version and the
   * remaining bytes. Throws DisconnectError for a bad or oversized identification.
   */
  push(data: Uint8Array): { version: PeerVersion; rest: Uint8Array } | undefined {
    const merged = new Uint8Array(this.#buf.length + data.length);
    merged.set(this.#buf);
    merged.set(data, this.#buf.length);
    let start = 0;
    for (;;) {
      const nl = merged.indexOf(0x0a, start);
      if (nl < 0) {
        const pending = merged.length - start;
        if (pending > MAX_VERSION_LINE && !(this.#allowPreamble && !startsWithSSH(merged, start))) {
          throw versionError(`Identification line longer than ${MAX_VERSION_LINE} bytes`);
        }
        if (this.#preambleBytes + pending > MAX_PRE_VERSION_BYTES) {
          throw versionError(
            `Peer sent more than ${MAX_PRE_VERSION_BYTES} bytes before its version`,
          );
        }
        this.#buf = merged.slice(start);
        return undefined;
      }
      let end = nl;
      if (end > start && merged[end - 1] === 0x0d) end--;
      const lineBytes = merged.subarray(start, end);
      const isVersion = startsWithSSH(merged, start);
      if (isVersion) {
        if (nl + 1 - start > MAX_VERSION_LINE) {
          throw versionError(`Identification line longer than ${MAX_VERSION_LINE} bytes`);
        }
        const line = asciiLine(lineBytes);
        return { version: parseVersionLine(line, this.#preamble), rest: merged.slice(nl + 1) };
      }
      if (!this.#allowPreamble) {
        throw versionError("Peer did not start with an SSH identification line");
      }
      this.#preambleBytes += nl + 1 - start;
      if (
        this.#preamble.length >= MAX_PRE_VERSION_LINES ||
        this.#preambleBytes > MAX_PRE_VERSION_BYTES
      ) {
        throw versionError("Peer sent too many lines before its version");
      }
      this.#preamble.push(new TextDecoder().decode(lineBytes));
      start = nl + 1;
    }
  }
}

function startsWithSSH(b: Uint8Array, at: number): boolean {
  return b.length - at >= 4 && b[at] === 0x53 && b[at + 1] === 0x53 && b[at + 2] === 0x48 &&
    b[at + 3] === 0x2d;
}

function asciiLine(b: Uint8Array): string {
  let s = "";
  for (const c of b) {
    if (c < 0x20 || c > 0x7e) throw versionError("Identification line holds non-printable bytes");
    s += String.fromCharCode(c);
  }
  return s;
}

const NONE: readonly string[] = Object.freeze([]);

function parseVersionLine(line: string, preamble: string[]): PeerVersion {
  const m = /^SSH-(\d+\.\d+)-([^ ]+)(?: (.*))?$/.exec(line);
  if (!m) throw versionError(`Malformed identification line "${line}"`);
  const proto = m[1]!;
  if (proto !== "2.0" && proto !== "1.99") {
    throw new DisconnectError(
      "ERR_VERSION",
      DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
      `Peer speaks SSH protocol ${proto}; only 2.0 is supported`,
    );
  }
  // Almost every peer sends no preamble: one shared empty list then, not one per connection.
  return {
    line,
    software: m[2]!,
    comments: m[3] ?? "",
    preamble: preamble.length ? preamble : NONE,
  };
}

function versionError(message: string): DisconnectError {
  return new DisconnectError("ERR_VERSION", DisconnectReason.PROTOCOL_ERROR, message);
}
