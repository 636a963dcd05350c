/**
 * The legacy SCP protocol ("rcp" records), pure: the records a source sends
 * (`C` file, `D` directory, `E` end of directory, `T` times, `\x01`/`\x02`
 * warnings and fatal errors), the one-byte acknowledgements a sink answers,
 * an incremental reader that frames records and file data from a byte
 * stream, and the checks that make a hostile peer harmless: names that are
 * one safe path component, 4-digit octal modes, bounded sizes and times, a cap
 * on record length, and control characters escaped before anything a peer
 * sent is shown.
 *
 * @module
 */

import { escapeControls } from "../../core/peer_text.ts";
import { SSHError } from "../../core/errors.ts";
import { decodeEscapedUtf8, encodeEscapedUtf8 } from "../../core/escaped_utf8.ts";

/** A record line's longest accepted length: OpenSSH's sink reads records into a 2048-byte buffer, we allow twice that. */
export const MAX_RECORD_LENGTH = 4096;
/**
 * The longest warning or fatal record we send, its type byte and "\n" included: OpenSSH's
 * scp reads such a line into a 2048-byte buffer and takes whatever is past 2047 bytes as
 * the next record or answer, so a longer message is cut (at a character boundary).
 */
export const MAX_SENT_MESSAGE_RECORD = 2047;
/** A name's longest accepted UTF-8 length: NAME_MAX on Linux and the BSDs. */
export const MAX_NAME_LENGTH = 255;
/** The largest file size accepted: sizes are JavaScript numbers, exact up to 2^53 - 1. */
export const MAX_FILE_SIZE: number = Number.MAX_SAFE_INTEGER;
/** The latest time accepted in a T record: 9999-12-31T23:59:59Z (later is a hostile or broken peer). */
export const MAX_TIME_SECONDS = 253402300799;
/** Directory nesting a sink accepts: deeper is a peer trying to exhaust the stack or the path length. */
export const MAX_DEPTH = 256;

/**
 * An SCP transfer failed: the peer broke the protocol or sent something
 * unsafe (a bad name, mode, size or time; an overlong record), the peer
 * reported errors (`\x01`/`\x02` records, its stderr, a non-zero exit), or a
 * transfer was cut. `path` names the file concerned when there is one (as it
 * is); the message has its control characters and bidirectional overrides
 * escaped (see {@link sanitize}), names a peer sent included.
 *
 * @example Tell an unsafe name from other failures
 * ```ts
 * import { SCPError } from "@sshts/ssh";
 * const e = new SCPError("Peer sent an unexpected name \".bashrc\" (asked for \"a.txt\")", {
 *   reason: "unexpected-name",
 * });
 * console.log(e.code, e.reason); // "ERR_SCP" "unexpected-name"
 * ```
 */
export class SCPError extends SSHError {
  /** What went wrong, for code (`protocol`, `bad-name`, `unexpected-name`, `remote`, `cut`, ...). */
  readonly reason: SCPErrorReason;
  /** The file or directory concerned, when there is one. */
  readonly path: string | undefined;

  /** Creates the error; `message` is escaped with {@link sanitize} (escaping twice changes nothing). */
  constructor(
    message: string,
    options: ErrorOptions & { reason?: SCPErrorReason; path?: string } = {},
  ) {
    // Names a peer sent reach messages in many places (an unexpected name, a cut file, a
    // path the target refused); checkName() refuses C0 controls only, so a C1 CSI or a
    // bidirectional override would reach a terminal as it is (CVE-2019-6109).
    super("ERR_SCP", sanitize(message), options);
    this.name = "SCPError";
    this.reason = options.reason ?? "protocol";
    this.path = options.path;
  }
}

/**
 * Why an {@link SCPError} happened: `protocol` (malformed record), `limit`
 * (a cap was exceeded), `bad-name` (empty, ".", "..", "/" or control
 * characters), `unexpected-name` (not what was asked for, CVE-2019-6111),
 * `remote` (the peer reported errors), `cut` (the stream ended mid-transfer),
 * `local` (a local file operation failed), `usage` (bad arguments).
 */
export type SCPErrorReason =
  | "protocol"
  | "limit"
  | "bad-name"
  | "unexpected-name"
  | "remote"
  | "cut"
  | "local"
  | "usage";

/** Seconds since the epoch and microseconds, as a T record carries them. */
export interface SCPTimes {
  /** Modification time, seconds. */
  readonly mtime: number;
  /** Access time, seconds. */
  readonly atime: number;
}

/**
 * One record a source sends. `warning` and `fatal` carry a message already
 * escaped for display.
 */
export type SCPRecord =
  | { readonly type: "file"; readonly mode: number; readonly size: number; readonly name: string }
  | { readonly type: "dir"; readonly mode: number; readonly name: string }
  | { readonly type: "end" }
  | { readonly type: "times"; readonly mtime: number; readonly atime: number }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "fatal"; readonly message: string };

/** A sink's answer to a record: ok, a warning (the transfer goes on) or a fatal error. */
export type SCPAck =
  | { readonly type: "ok" }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "fatal"; readonly message: string };

const enc = new TextEncoder();
const looseDec = new TextDecoder();

/**
 * Escapes control characters (C0, DEL, C1) and bidirectional overrides as
 * `\xNN` / `\u{NNNN}` so a peer's text cannot move the cursor, recolour the
 * terminal or hide what it says (CVE-2019-6109, CVE-2019-6110).
 *
 * @example
 * ```ts
 * import { sanitize } from "@sshts/ssh/sftp";
 * console.log(sanitize("ok\x1b[2Kfake")); // "ok\\x1b[2Kfake"
 * ```
 */
export function sanitize(text: string): string {
  return escapeControls(text);
}

/** Shows a peer's name quoted and escaped, cut to a readable length. */
function show(name: string): string {
  const s = sanitize(name);
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s).replace(/\\\\/g, "\\");
}

/**
 * Checks that `name` is one safe path component: not empty, not "." or "..",
 * no "/" and no control characters, at most {@link MAX_NAME_LENGTH} bytes.
 * Throws {@link SCPError} (`bad-name`) otherwise.
 *
 * @example
 * ```ts
 * import { checkName } from "@sshts/ssh/sftp";
 * checkName("report.pdf");
 * try { checkName(".."); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function checkName(name: string): void {
  let why: string | undefined;
  if (name === "") why = "an empty name";
  else if (name === "." || name === "..") why = `the name ${show(name)}`;
  else if (name.includes("/")) why = `a name with "/" (${show(name)})`;
  // deno-lint-ignore no-control-regex
  else if (/[\x00-\x1f\x7f]/.test(name)) why = `a name with control characters (${show(name)})`;
  else if (encodeEscapedUtf8(name).length > MAX_NAME_LENGTH) {
    why = `a name longer than ${MAX_NAME_LENGTH} bytes`;
  }
  if (why) throw new SCPError(`Peer sent ${why}; refused`, { reason: "bad-name" });
}

function bad(message: string, reason: SCPErrorReason = "protocol"): SCPError {
  return new SCPError(message, { reason });
}

/** Parses a run of ASCII digits (no sign, no spaces), at most `maxDigits` long. */
function digits(s: string, what: string, max: number): number {
  if (!/^[0-9]{1,20}$/.test(s)) throw bad(`Bad ${what} ${show(s)}: digits expected`);
  const n = Number(s);
  if (!(n <= max)) throw bad(`The ${what} ${show(s)} is larger than ${max}`, "limit");
  return n;
}

function mode(s: string): number {
  if (!/^[0-7]{4}$/.test(s)) throw bad(`Bad mode ${show(s)}: four octal digits expected`);
  return parseInt(s, 8);
}

/**
 * Parses one record line (without its final "\n"). Throws {@link SCPError}
 * on anything malformed or unsafe; names are checked with {@link checkName}.
 *
 * @example
 * ```ts
 * import { parseRecord } from "@sshts/ssh/sftp";
 * const r = parseRecord(new TextEncoder().encode("C0644 5 a.txt"));
 * console.log(r); // { type: "file", mode: 420, size: 5, name: "a.txt" }
 * ```
 */
export function parseRecord(line: Uint8Array): SCPRecord {
  if (line.length === 0) throw bad("Peer sent an empty record");
  if (line.length > MAX_RECORD_LENGTH) {
    throw bad(`Peer sent a record over ${MAX_RECORD_LENGTH} bytes`, "limit");
  }
  const kind = line[0]!;
  if (kind === 1 || kind === 2) {
    const message = sanitize(looseDec.decode(line.subarray(1)));
    return kind === 1 ? { type: "warning", message } : { type: "fatal", message };
  }
  // Names are bytes: one that is not UTF-8 keeps them as escapes (core/escaped_utf8.ts).
  const text = decodeEscapedUtf8(line);
  switch (text[0]) {
    case "E":
      if (text !== "E") throw bad(`Bad end-of-directory record ${show(text)}`);
      return { type: "end" };
    case "T": {
      const m = /^T([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*)$/.exec(text);
      if (!m) throw bad(`Bad times record ${show(text)}`);
      const mtime = digits(m[1]!, "modification time", MAX_TIME_SECONDS);
      digits(m[2]!, "microseconds", 999_999);
      const atime = digits(m[3]!, "access time", MAX_TIME_SECONDS);
      digits(m[4]!, "microseconds", 999_999);
      return { type: "times", mtime, atime };
    }
    case "C":
    case "D": {
      const m = /^[CD]([^ ]*) ([^ ]*) (.*)$/s.exec(text);
      if (!m) throw bad(`Bad ${text[0] === "C" ? "file" : "directory"} record ${show(text)}`);
      const md = mode(m[1]!);
      const size = digits(m[2]!, "size", MAX_FILE_SIZE);
      const name = m[3]!;
      checkName(name);
      return text[0] === "C"
        ? { type: "file", mode: md, size, name }
        : { type: "dir", mode: md, name };
    }
    default:
      throw bad(`Peer sent an unknown record ${show(text)}`);
  }
}

/**
 * Encodes a record (with its "\n"). Modes are masked to 0o7777; names are
 * checked with {@link checkName}; times are whole seconds from 0 (a time
 * before 1970, as OpenSSH sends it) to {@link MAX_TIME_SECONDS}; warning and
 * fatal texts are escaped and cut to {@link MAX_SENT_MESSAGE_RECORD} bytes.
 *
 * @example
 * ```ts
 * import { encodeRecord } from "@sshts/ssh/sftp";
 * const b = encodeRecord({ type: "file", mode: 0o644, size: 5, name: "a.txt" });
 * console.log(new TextDecoder().decode(b)); // "C0644 5 a.txt\n"
 * ```
 */
export function encodeRecord(r: SCPRecord): Uint8Array {
  const oct = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");
  switch (r.type) {
    case "file":
      checkName(r.name);
      return encodeEscapedUtf8(`C${oct(r.mode)} ${r.size} ${r.name}\n`);
    case "dir":
      checkName(r.name);
      return encodeEscapedUtf8(`D${oct(r.mode)} 0 ${r.name}\n`);
    case "end":
      return enc.encode("E\n");
    case "times": {
      // Whole seconds within what parseRecord() takes: a time before 1970 is sent as 0, as
      // OpenSSH's scp sends it ("T-5 0 ..." makes a sink refuse the whole transfer).
      const t = (v: number) =>
        Number.isFinite(v) ? Math.min(Math.max(Math.floor(v), 0), MAX_TIME_SECONDS) : 0;
      return enc.encode(`T${t(r.mtime)} 0 ${t(r.atime)} 0\n`);
    }
    case "warning":
    case "fatal": {
      // One line (sanitize() escapes "\n"), cut by bytes at a character boundary so that
      // OpenSSH's 2048-byte buffer takes it whole (past it, the rest is read as a record).
      const text = enc.encode(sanitize(r.message));
      let n = Math.min(text.length, MAX_SENT_MESSAGE_RECORD - 2);
      while (n > 0 && n < text.length && (text[n]! & 0xc0) === 0x80) n--;
      const out = new Uint8Array(n + 2);
      out[0] = r.type === "warning" ? 1 : 2;
      out.set(text.subarray(0, n), 1);
      out[n + 1] = 10;
      return out;
    }
  }
}

/** The one-byte "ok" acknowledgement. */
export const ACK_OK: Uint8Array = new Uint8Array([0]);

/**
 * Frames what a peer sends: record lines, acknowledgements and file data,
 * from chunks pushed in as they arrive. Each `read*` method returns
 * undefined when it needs more bytes. Memory is bounded: a line longer than
 * {@link MAX_RECORD_LENGTH} throws instead of buffering.
 *
 * @example
 * ```ts
 * import { SCPReader } from "@sshts/ssh/sftp";
 * const r = new SCPReader();
 * r.push(new TextEncoder().encode("C0644 3 a\nab"));
 * console.log(r.readRecord()); // { type: "file", mode: 420, size: 3, name: "a" }
 * console.log(r.readData(10)); // Uint8Array [97, 98]
 * console.log(r.readData(10)); // undefined (needs more)
 * ```
 */
export class SCPReader {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;

  /** Adds bytes from the peer (kept by reference: do not reuse the buffer). */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
  }

  /** Bytes pushed and not yet read. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Up to `max` bytes of file data (a view into a pushed chunk), or undefined when none is buffered. */
  readData(max: number): Uint8Array | undefined {
    const c = this.#chunks[0];
    if (!c || max <= 0) return undefined;
    const n = Math.min(max, c.length - this.#head);
    const out = c.subarray(this.#head, this.#head + n);
    this.#consume(n);
    return out;
  }

  /** One byte, or undefined. */
  #peekByte(): number | undefined {
    const c = this.#chunks[0];
    return c ? c[this.#head] : undefined;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const c = this.#chunks[0]!;
      const left = c.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  /**
   * A line without its "\n", or undefined when none is complete. Throws
   * {@link SCPError} (`limit`) past {@link MAX_RECORD_LENGTH} bytes.
   */
  readLine(): Uint8Array | undefined {
    let len = 0;
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i]!;
      const from = i === 0 ? this.#head : 0;
      const at = c.indexOf(10, from);
      if (at >= 0) {
        len += at - from;
        if (len > MAX_RECORD_LENGTH) break;
        const line = new Uint8Array(len);
        let off = 0;
        while (off < len) {
          const d = this.readData(len - off)!;
          line.set(d, off);
          off += d.length;
        }
        this.#consume(1);
        return line;
      }
      len += c.length - from;
      if (len > MAX_RECORD_LENGTH) break;
    }
    if (len > MAX_RECORD_LENGTH) {
      throw new SCPError(`Peer sent a record over ${MAX_RECORD_LENGTH} bytes`, {
        reason: "limit",
      });
    }
    return undefined;
  }

  /** The next record, or undefined when it is not complete yet. */
  readRecord(): SCPRecord | undefined {
    const line = this.readLine();
    return line === undefined ? undefined : parseRecord(line);
  }

  /**
   * The next acknowledgement: a zero byte, or a `\x01`/`\x02` line. Any
   * other byte starts a line that is taken as a fatal error (as OpenSSH does).
   */
  readAck(): SCPAck | undefined {
    const b = this.#peekByte();
    if (b === undefined) return undefined;
    if (b === 0) {
      this.#consume(1);
      return { type: "ok" };
    }
    const line = this.readLine();
    if (line === undefined) return undefined;
    const message = sanitize(looseDec.decode(b === 1 || b === 2 ? line.subarray(1) : line));
    return b === 1 ? { type: "warning", message } : { type: "fatal", message };
  }
}

// ---- shell quoting and the scp command line ----

/**
 * Quotes `path` for a POSIX shell as one word (CVE-2020-15778: a path with
 * `;`, backticks, `$()`, spaces or quotes runs nothing). With `globs`, `*`
 * and `?` stay unquoted so the remote shell still expands them (a `\` before
 * one makes it literal). With `globs` or `home`, a leading `~`, `~/`, `~user`
 * or `~user/` stays unquoted so it still means a home directory (as in
 * `scp file host:~`).
 *
 * @example
 * ```ts
 * import { shellQuote } from "@sshts/ssh/sftp";
 * console.log(shellQuote("it's; rm -rf ~")); // "'it'\\''s; rm -rf ~'"
 * console.log(shellQuote("logs/*.gz", { globs: true })); // "'logs/'*'.gz'"
 * console.log(shellQuote("~/up load", { home: true })); // "~/'up load'"
 * ```
 */
export function shellQuote(
  path: string,
  options: { globs?: boolean; home?: boolean } = {},
): string {
  if (path === "") return "''";
  let out = "";
  let run = "";
  const flush = () => {
    if (run !== "") out += `'${run.replace(/'/g, "'\\''")}'`;
    run = "";
  };
  let i = 0;
  if (options.globs || options.home) {
    // Not "~-" or "~+" (the shell's $OLDPWD and $PWD): a user name never starts with "-".
    const home = /^~(?:[A-Za-z0-9._][A-Za-z0-9._-]*)?(\/|$)/.exec(path);
    if (home) {
      out += home[0];
      i = home[0].length;
    }
  }
  for (; i < path.length; i++) {
    const c = path[i]!;
    if (options.globs && c === "\\" && i + 1 < path.length) run += path[++i]!;
    else if (options.globs && (c === "*" || c === "?")) {
      flush();
      out += c;
    } else run += c;
  }
  flush();
  return out;
}

/** A `scp -t` or `scp -f` command line as a server receives it. */
export interface SCPCommand {
  /** `-t`: the client sends (we are the sink); `-f`: the client receives (we are the source). */
  readonly mode: "to" | "from";
  /** `-r`. */
  readonly recurse: boolean;
  /** `-p`. */
  readonly preserve: boolean;
  /** `-d`: the target must be a directory. */
  readonly targetIsDirectory: boolean;
  /**
   * The path words. Glob characters the client left unquoted stay as they
   * are; quoted or backslash-escaped ones come back escaped with `\`, as
   * glob expansion expects.
   */
  readonly paths: readonly string[];
}

/**
 * Whether a command line asks for the scp server (`scp ... -t|-f ...`).
 *
 * @example
 * ```ts
 * import { isScpCommand } from "@sshts/ssh/sftp";
 * console.log(isScpCommand("scp -t /tmp"), isScpCommand("ls")); // true false
 * ```
 */
export function isScpCommand(command: string): boolean {
  return /^\s*(?:\S*\/)?scp\s/.test(command);
}

/**
 * Parses `scp [-r] [-p] [-d] [-v] [-q] -t|-f [--] path...` the way a POSIX
 * shell would split it (single and double quotes, backslashes), without
 * running a shell: unquoted shell syntax (`;`, `|`, `&`, `$`, backticks,
 * redirections, parentheses) is refused. Throws {@link SCPError} (`usage`).
 *
 * @example
 * ```ts
 * import { parseScpCommand } from "@sshts/ssh/sftp";
 * console.log(parseScpCommand("scp -r -p -f -- 'my dir'").paths); // ["my dir"]
 * ```
 */
export function parseScpCommand(command: string): SCPCommand {
  const words = shellWords(command);
  if (words.length === 0 || !/(^|\/)scp$/.test(words[0]!)) {
    throw new SCPError("Not an scp command", { reason: "usage" });
  }
  let to = false, from = false, recurse = false, preserve = false, dir = false;
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      i++;
      break;
    }
    if (!w.startsWith("-") || w === "-") break;
    for (const f of w.slice(1)) {
      if (f === "t") to = true;
      else if (f === "f") from = true;
      else if (f === "r") recurse = true;
      else if (f === "p") preserve = true;
      else if (f === "d") dir = true;
      else if (f === "v" || f === "q") { /* tolerated */ }
      else throw new SCPError(`Unsupported scp option -${sanitize(f)}`, { reason: "usage" });
    }
  }
  const paths = words.slice(i);
  if (to === from) throw new SCPError("scp needs exactly one of -t and -f", { reason: "usage" });
  if (paths.length === 0 || (to && paths.length !== 1)) {
    throw new SCPError(to ? "scp -t takes one target" : "scp -f needs a path", {
      reason: "usage",
    });
  }
  return { mode: to ? "to" : "from", recurse, preserve, targetIsDirectory: dir, paths };
}

/** Splits a command line into words; glob characters that were quoted come back escaped. */
function shellWords(s: string): string[] {
  const words: string[] = [];
  let w: string | undefined;
  // Tilde expansion, as the shell does it: an unquoted "~" opening the word, alone or
  // before an unquoted "/", is the home directory (1: "~" seen; 2: "~/" seen; -1: no).
  let tilde = -1;
  const add = (c: string, quoted: boolean) => {
    if (w === undefined) tilde = !quoted && c === "~" ? 1 : -1;
    else if (tilde === 1) tilde = !quoted && c === "/" ? 2 : -1;
    w = (w ?? "") + (quoted && /[*?[\]\\]/.test(c) ? `\\${c}` : c);
  };
  const end = () => {
    // The paths are resolved against the home directory: "~/x" is "./x" (never an option,
    // and "~//x" stays under it), "~" is ".".
    if (w !== undefined) words.push(tilde === 1 ? "." : tilde === 2 ? `./${w.slice(2)}` : w);
    w = undefined;
    tilde = -1;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === " " || c === "\t" || c === "\n") {
      end();
    } else if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close < 0) throw new SCPError("Unterminated quote in scp command", { reason: "usage" });
      if (w === undefined) tilde = -1;
      w ??= "";
      for (const q of s.slice(i + 1, close)) add(q, true);
      i = close;
    } else if (c === '"') {
      if (w === undefined) tilde = -1;
      w ??= "";
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        const q = s[j]!;
        if (q === "$" || q === "`") {
          throw new SCPError("Shell expansion in an scp command is not supported", {
            reason: "usage",
          });
        }
        if (q === "\\" && j + 1 < s.length && /["\\$`\n]/.test(s[j + 1]!)) add(s[++j]!, true);
        else add(q, true);
      }
      if (j >= s.length) {
        throw new SCPError("Unterminated quote in scp command", { reason: "usage" });
      }
      i = j;
    } else if (c === "\\") {
      if (i + 1 < s.length) add(s[++i]!, true);
    } else if (/[;&|<>()$`{}]/.test(c)) {
      throw new SCPError(`Shell syntax ${show(c)} in an scp command is not supported`, {
        reason: "usage",
      });
    } else {
      add(c, false);
    }
  }
  end();
  return words;
}

/**
 * A matcher for the names a source may send at the top of a transfer when
 * we asked for `requested` (CVE-2019-6111): its last component exactly, or,
 * when that holds an unescaped `*` or `?`, names matching that pattern (as
 * {@link shellQuote} leaves only those two for the remote shell to expand).
 *
 * @example
 * ```ts
 * import { nameMatcher } from "@sshts/ssh/sftp";
 * const ok = nameMatcher("/home/me/*.txt");
 * console.log(ok("a.txt"), ok(".bashrc")); // true false
 * ```
 */
export function nameMatcher(requested: string): (name: string) => boolean {
  const path = requested.replace(/\/+$/, "");
  const base = path.split("/").pop() ?? "";
  if (!/(^|[^\\])[*?]/.test(base)) {
    const literal = base.replace(/\\(.)/g, "$1");
    // "." or "" (a bare directory), "~" or "~user" opening the path (a home directory,
    // whatever its name; "a/~" is a name): any safe name; the sink checks names anyway.
    if (literal === "" || literal === "." || literal === ".." || HOME_WORD.test(path)) {
      return () => true;
    }
    return (name) => name === literal;
  }
  const re = globRe(base);
  return (name) => re.test(name);
}

/** A word the shell reads as a home directory: "~" or "~user" (as {@link shellQuote} leaves it). */
const HOME_WORD = /^~(?:[A-Za-z0-9._][A-Za-z0-9._-]*)?$/;

function globRe(p: string): RegExp {
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "\\" && i + 1 < p.length) re += esc(p[++i]!);
    else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += esc(c);
  }
  return new RegExp(`^${p.startsWith(".") ? "" : "(?!\\.)"}${re}$`, "s");
}

function esc(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
