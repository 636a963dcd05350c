/**
 * A line editor for pty sessions, as AsyncSSH's: the server echoes what the
 * user types, lets them edit it (backspace, delete, cursor left/right, home,
 * end, Ctrl-U/K/W) and recall history (up/down), and hands the application
 * whole lines. Ctrl-C interrupts, Ctrl-D on an empty line is end of input.
 * Output from the application is written around the line being edited (the
 * line is erased, the output written with `\n` as `\r\n`, the line redrawn).
 *
 * Pure: text in, terminal output and events out; the session wiring lives in
 * `process.ts`. Rendering uses relative cursor motions (CSI A/B/C/D), so
 * lines longer than the terminal is wide wrap and edit correctly.
 *
 * @module
 */

import {
  DEFAULT_LINE_HISTORY,
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_TERMINAL_COLUMNS,
} from "../limits.ts";

/** What a keystroke (or paste) produced for the application. */
export type LineEditorEvent =
  /** A finished line, without its newline. */
  | { readonly type: "line"; readonly text: string }
  /** Ctrl-D on an empty line: the user ended input. */
  | { readonly type: "eof" }
  /** Ctrl-C: the line was discarded; the application may treat it as SIGINT. */
  | { readonly type: "interrupt" }
  /** Line mode off: input passed through untouched. */
  | { readonly type: "data"; readonly text: string };

/** The result of {@link LineEditor.feed}. */
export interface LineEditorResult {
  /** Bytes for the terminal (echo and redraws), as text. */
  readonly output: string;
  /** Lines and other events, in input order. */
  readonly events: readonly LineEditorEvent[];
}

/** Options of {@link LineEditor}. */
export interface LineEditorOptions {
  /** Terminal width in columns (default 80). */
  readonly columns?: number;
  /** Lines kept for recall (default 1000). */
  readonly historySize?: number;
  /** Longest line accepted; further characters ring the bell (default 1024). */
  readonly maxLineLength?: number;
}

type Action =
  | "enter"
  | "backspace"
  | "delete"
  | "eofOrDelete"
  | "interrupt"
  | "eraseLine"
  | "eraseToEnd"
  | "eraseWord"
  | "home"
  | "end"
  | "left"
  | "right"
  | "historyPrev"
  | "historyNext"
  | "redraw";

/** Key sequences and what they do (the same bindings as AsyncSSH's editor, plus Ctrl-W). */
const KEYS: ReadonlyMap<string, Action> = new Map<string, Action>([
  ["\r", "enter"],
  ["\n", "enter"],
  ["\x1bOM", "enter"],
  ["\x7f", "backspace"],
  ["\x08", "backspace"],
  ["\x1b[3~", "delete"],
  ["\x04", "eofOrDelete"],
  ["\x03", "interrupt"],
  ["\x15", "eraseLine"],
  ["\x0b", "eraseToEnd"],
  ["\x17", "eraseWord"],
  ["\x01", "home"],
  ["\x1b[H", "home"],
  ["\x1bOH", "home"],
  ["\x1b[1~", "home"],
  ["\x1b[7~", "home"],
  ["\x05", "end"],
  ["\x1b[F", "end"],
  ["\x1bOF", "end"],
  ["\x1b[4~", "end"],
  ["\x1b[8~", "end"],
  ["\x02", "left"],
  ["\x1b[D", "left"],
  ["\x1bOD", "left"],
  ["\x06", "right"],
  ["\x1b[C", "right"],
  ["\x1bOC", "right"],
  ["\x10", "historyPrev"],
  ["\x1b[A", "historyPrev"],
  ["\x1bOA", "historyPrev"],
  ["\x0e", "historyNext"],
  ["\x1b[B", "historyNext"],
  ["\x1bOB", "historyNext"],
  ["\x12", "redraw"],
  ["\x0c", "redraw"],
]);

/**
 * The editor state: the line being typed, the cursor, history, and where on
 * the screen the line starts.
 *
 * @example Type, fix a typo, submit
 * ```ts
 * import { LineEditor } from "./line_editor.ts";
 * const ed = new LineEditor();
 * const r = ed.feed("helo\x1b[D\x1b[Dl\r");
 * console.log(r.events); // [{ type: "line", text: "hello" }]
 * ```
 */
export class LineEditor {
  #columns: number;
  readonly #historySize: number;
  readonly #maxLength: number;
  #line: string[] = [];
  #pos = 0;
  #startCol = 0;
  #history: string[] = [];
  #historyIndex = 0;
  #saved: string[] = [];
  #pending = "";
  #lastWasCr = false;
  #lineMode = true;
  #echo = true;

  /** Creates an editor for a terminal `columns` wide. */
  constructor(options: LineEditorOptions = {}) {
    this.#columns = options.columns || DEFAULT_TERMINAL_COLUMNS;
    this.#historySize = options.historySize ?? DEFAULT_LINE_HISTORY;
    this.#maxLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  }

  /** The line being edited. */
  get line(): string {
    return this.#line.join("");
  }

  /** The cursor position within the line (in characters). */
  get cursor(): number {
    return this.#pos;
  }

  /** Past lines, oldest first. */
  get history(): readonly string[] {
    return this.#history;
  }

  /** Whether input is edited line by line (true) or passed through raw. */
  get lineMode(): boolean {
    return this.#lineMode;
  }

  /** Whether typed characters are echoed. */
  get echo(): boolean {
    return this.#echo;
  }

  /** Turns echo on or off (off for passwords; editing still works). */
  setEcho(on: boolean): void {
    this.#echo = on;
  }

  /**
   * Turns line editing on or off. Returns the partly typed line (and any key
   * sequence begun after it) when switching off (the caller passes it on as raw
   * input), else "".
   */
  setLineMode(on: boolean): string {
    if (on === this.#lineMode) return "";
    this.#lineMode = on;
    if (on) return "";
    // A key sequence begun (an ESC waiting for more) is raw input now, not kept for later.
    const rest = this.line + this.#pending;
    this.#line = [];
    this.#pos = 0;
    this.#pending = "";
    return rest;
  }

  /**
   * The input ended (the client's EOF): returns the partly typed line, which the
   * caller passes on as the last input, and the terminal output that leaves the
   * cursor after it. Unlike {@link setLineMode}(false), the editor stays in line
   * mode, so output written after the EOF still has its `\n` written as `\r\n`.
   *
   * @example
   * ```ts
   * import { LineEditor } from "./line_editor.ts";
   * const ed = new LineEditor();
   * ed.feed("partial");
   * console.log(ed.endInput().rest); // "partial"
   * console.log(JSON.stringify(ed.formatOutput("bye\n"))); // "bye\r\n"
   * ```
   */
  endInput(): { readonly rest: string; readonly output: string } {
    const rest = this.line;
    const out = { s: "" };
    this.#move(out, this.#pos, this.#line.length);
    if (this.#echo) this.#startCol = advanceColumn(this.#startCol, rest, this.#columns);
    this.#line = [];
    this.#pos = 0;
    this.#pending = "";
    return { rest, output: out.s };
  }

  /** The terminal was resized. */
  setColumns(columns: number): void {
    this.#columns = columns || DEFAULT_TERMINAL_COLUMNS;
    this.#startCol %= this.#columns;
  }

  /** Processes input from the terminal. */
  feed(input: string): LineEditorResult {
    if (!this.#lineMode) {
      return {
        output: this.#echo ? input : "",
        events: input ? [{ type: "data", text: input }] : [],
      };
    }
    const events: LineEditorEvent[] = [];
    const out = { s: "" };
    const text = this.#pending + input;
    this.#pending = "";
    let i = 0;
    while (i < text.length) {
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      let key = ch;
      if (ch === "\x1b") {
        const end = escapeEnd(text, i);
        if (end === -1) {
          this.#pending = text.slice(i);
          break;
        }
        key = text.slice(i, end);
      }
      i += key.length;
      const wasCr = this.#lastWasCr;
      this.#lastWasCr = key === "\r";
      // A terminal's Enter may arrive as "\r\n": one line, not two.
      if (key === "\n" && wasCr) continue;
      const action = KEYS.get(key);
      if (action) this.#do(action, out, events);
      else if (cp >= 0x20 && cp !== 0x7f && key.length === ch.length) this.#insert(ch, out);
      // Other control characters and unknown escape sequences are ignored.
    }
    return { output: out.s, events };
  }

  /**
   * Formats application output for the terminal: `\n` becomes `\r\n`, and a
   * partly typed line is erased first and drawn again after it.
   */
  formatOutput(text: string): string {
    if (!this.#lineMode) return text;
    const translated = text.replace(/\r?\n/g, "\r\n");
    const out = { s: "" };
    const visible = this.#echo && this.#line.length > 0;
    if (visible) {
      this.#move(out, this.#pos, 0);
      this.#writeFrom(out, 0, 0, this.#line.length);
      this.#move(out, this.#line.length, 0);
    }
    out.s += translated;
    this.#startCol = advanceColumn(this.#startCol, translated, this.#columns);
    if (visible) {
      this.#writeFrom(out, 0);
      this.#move(out, this.#line.length, this.#pos);
    }
    return out.s;
  }

  #do(action: Action, out: { s: string }, events: LineEditorEvent[]): void {
    switch (action) {
      case "enter": {
        const text = this.line;
        this.#move(out, this.#pos, this.#line.length);
        out.s += "\r\n";
        this.#startCol = 0;
        this.#remember(text);
        this.#line = [];
        this.#pos = 0;
        events.push({ type: "line", text });
        return;
      }
      case "backspace":
        if (this.#pos === 0) return;
        this.#move(out, this.#pos, this.#pos - 1);
        this.#pos--;
        this.#line.splice(this.#pos, 1);
        this.#redrawRest(out, 1);
        return;
      case "delete":
        if (this.#pos >= this.#line.length) return;
        this.#line.splice(this.#pos, 1);
        this.#redrawRest(out, 1);
        return;
      case "eofOrDelete":
        if (this.#line.length === 0) {
          events.push({ type: "eof" });
          return;
        }
        return this.#do("delete", out, events);
      case "interrupt":
        this.#move(out, this.#pos, this.#line.length);
        if (this.#echo) out.s += "^C";
        out.s += "\r\n";
        this.#startCol = 0;
        this.#line = [];
        this.#pos = 0;
        this.#historyIndex = this.#history.length;
        events.push({ type: "interrupt" });
        return;
      case "eraseLine":
        return this.#replace(out, [], 0);
      case "eraseToEnd": {
        const removed = this.#line.length - this.#pos;
        this.#line.length = this.#pos;
        this.#redrawRest(out, removed);
        return;
      }
      case "eraseWord": {
        let start = this.#pos;
        while (start > 0 && this.#line[start - 1] === " ") start--;
        while (start > 0 && this.#line[start - 1] !== " ") start--;
        if (start === this.#pos) return;
        const removed = this.#pos - start;
        this.#move(out, this.#pos, start);
        this.#line.splice(start, removed);
        this.#pos = start;
        this.#redrawRest(out, removed);
        return;
      }
      case "home":
        this.#move(out, this.#pos, 0);
        this.#pos = 0;
        return;
      case "end":
        this.#move(out, this.#pos, this.#line.length);
        this.#pos = this.#line.length;
        return;
      case "left":
        if (this.#pos === 0) return;
        this.#move(out, this.#pos, this.#pos - 1);
        this.#pos--;
        return;
      case "right":
        if (this.#pos >= this.#line.length) return;
        this.#move(out, this.#pos, this.#pos + 1);
        this.#pos++;
        return;
      case "historyPrev":
        if (this.#historyIndex === 0) return;
        if (this.#historyIndex === this.#history.length) this.#saved = [...this.#line];
        this.#historyIndex--;
        return this.#replace(out, Array.from(this.#history[this.#historyIndex]!));
      case "historyNext":
        if (this.#historyIndex >= this.#history.length) return;
        this.#historyIndex++;
        return this.#replace(
          out,
          this.#historyIndex === this.#history.length
            ? this.#saved
            : Array.from(this.#history[this.#historyIndex]!),
        );
      case "redraw":
        this.#move(out, this.#pos, 0);
        this.#writeFrom(out, 0);
        this.#move(out, this.#line.length, this.#pos);
        return;
    }
  }

  #insert(ch: string, out: { s: string }): void {
    if (this.#line.length >= this.#maxLength) {
      if (this.#echo) out.s += "\x07";
      return;
    }
    this.#line.splice(this.#pos, 0, ch);
    this.#writeFrom(out, this.#pos);
    this.#pos++;
    this.#move(out, this.#line.length, this.#pos);
  }

  #remember(text: string): void {
    if (text !== "" && this.#history[this.#history.length - 1] !== text) {
      this.#history.push(text);
      if (this.#history.length > this.#historySize) this.#history.shift();
    }
    this.#historyIndex = this.#history.length;
    this.#saved = [];
  }

  /** Replaces the whole line, cursor at `pos` (default: the end). */
  #replace(out: { s: string }, line: string[], pos = line.length): void {
    const oldLength = this.#line.length;
    this.#move(out, this.#pos, 0);
    this.#line = [...line];
    this.#writeFrom(out, 0, Math.max(0, oldLength - line.length));
    this.#pos = pos;
    this.#move(out, Math.max(oldLength, line.length), pos);
  }

  /** Redraws from the cursor to the end, blanking `cleared` cells past it. */
  #redrawRest(out: { s: string }, cleared: number): void {
    this.#writeFrom(out, this.#pos, cleared);
    this.#move(out, this.#line.length + cleared, this.#pos);
  }

  /**
   * Writes the line from index `from` (cursor assumed there) plus `blank` spaces;
   * the cursor ends at `from + count` (default: the line end plus the blanks).
   * With `count` the characters written are spaces (erasing).
   */
  #writeFrom(out: { s: string }, from: number, blank = 0, eraseCount?: number): void {
    if (!this.#echo) return;
    const end = eraseCount !== undefined ? from + eraseCount : this.#line.length + blank;
    out.s += eraseCount !== undefined
      ? " ".repeat(eraseCount)
      : this.#line.slice(from).join("") + " ".repeat(blank);
    // At the right margin the terminal waits to wrap; " \r" makes it wrap now,
    // so the cursor is where we count it (the start of the next row).
    if (end > from && (this.#startCol + end) % this.#columns === 0) out.s += " \r";
  }

  /** Moves the cursor from line index `from` to `to` with relative motions. */
  #move(out: { s: string }, from: number, to: number): void {
    if (!this.#echo || from === to) return;
    const w = this.#columns;
    const a = this.#startCol + from;
    const b = this.#startCol + to;
    const rows = Math.floor(b / w) - Math.floor(a / w);
    const cols = (b % w) - (a % w);
    if (rows < 0) out.s += `\x1b[${-rows}A`;
    if (rows > 0) out.s += `\x1b[${rows}B`;
    if (cols === -1) out.s += "\b";
    else if (cols < 0) out.s += `\x1b[${-cols}D`;
    if (cols > 0) out.s += `\x1b[${cols}C`;
  }
}

/**
 * Where an escape sequence starting at `i` ends (exclusive), or -1 when the
 * input stops inside it. CSI (`ESC [ params final`) and SS3 (`ESC O x`) are
 * recognized; ESC followed by anything else is a two-character sequence.
 */
function escapeEnd(text: string, i: number): number {
  if (i + 1 >= text.length) return -1;
  const kind = text[i + 1];
  // The character after ESC O or ESC is a whole code point (Alt+😀 is ESC and two units).
  if (kind === "O") return i + 2 < text.length ? afterCodePoint(text, i + 2) : -1;
  if (kind !== "[") return afterCodePoint(text, i + 1);
  for (let j = i + 2; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c >= 0x40 && c <= 0x7e) return j + 1;
    // A CSI longer than this is garbage: end it here rather than buffer forever.
    if (j - i > 16) return j + 1;
  }
  return -1;
}

/** Where the code point at `j` ends, or -1 when its low surrogate has not come yet. */
function afterCodePoint(text: string, j: number): number {
  const c = text.charCodeAt(j);
  if (c < 0xd800 || c > 0xdbff) return j + 1;
  if (j + 1 >= text.length) return -1;
  const d = text.charCodeAt(j + 1);
  return d >= 0xdc00 && d <= 0xdfff ? j + 2 : j + 1;
}

/** The terminal column after writing `text` from column `col` (escape sequences skipped). */
function advanceColumn(col: number, text: string, columns: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0d) col = 0;
    else if (c === 0x08) col = Math.max(0, col - 1);
    else if (c === 0x09) col = Math.min(columns - 1, (col + 8) & ~7);
    else if (c === 0x1b) {
      const end = escapeEnd(text, i);
      if (end === -1) break;
      // OSC (ESC ]) runs to BEL or ST.
      if (text[i + 1] === "]") {
        const bel = text.indexOf("\x07", i);
        const st = text.indexOf("\x1b\\", i);
        const stop = [bel, st].filter((x) => x >= 0).sort((x, y) => x - y)[0];
        i = stop === undefined ? text.length : stop;
        continue;
      }
      i = end - 1;
    } else if (c >= 0x20 && !(c >= 0xdc00 && c <= 0xdfff)) {
      col++;
      if (col >= columns) col = 0;
    }
  }
  return col;
}
