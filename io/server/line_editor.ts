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
 * The line is kept one code point per element (the cursor and
 * `maxLineLength` count code points); the screen is reckoned in terminal
 * columns, from {@link charWidth}: East Asian wide characters and most emoji
 * take two, combining marks, joiners and variation selectors none. A wide
 * character that would start in a row's last column goes to the next row, as
 * terminals put it, and the editor writes a space in the cell left over.
 *
 * Known limits: widths come from a fixed table, not from the terminal, so a
 * terminal with another idea of a character's width (emoji ZWJ sequences drawn
 * as one glyph, a narrow symbol made wide by U+FE0F, ambiguous-width
 * characters under a CJK locale) sees the cursor off by the difference. The
 * cursor moves by code point, so Left or Right over a zero-width mark moves
 * nothing on the screen.
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
  /** `#cellAt(i)` so far, for the line, start column and width in `#cellsOf`. */
  #cells: number[] = [];
  #cellsOf: { line: string[]; startCol: number; columns: number } | undefined;
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
    const end = this.#cellAt(this.#line.length);
    this.#move(out, this.#cursorCell(), end);
    if (this.#echo) this.#startCol = end % this.#columns;
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
      const start = this.#startCol;
      this.#move(out, this.#cursorCell(), start);
      const end = this.#draw(out, [], start, this.#cellAt(this.#line.length));
      this.#move(out, end, start);
    }
    out.s += translated;
    this.#startCol = advanceColumn(this.#startCol, translated, this.#columns);
    if (visible) {
      const end = this.#draw(out, this.#line, this.#startCol);
      this.#move(out, end, this.#cursorCell());
    }
    return out.s;
  }

  #do(action: Action, out: { s: string }, events: LineEditorEvent[]): void {
    switch (action) {
      case "enter": {
        const text = this.line;
        this.#move(out, this.#cursorCell(), this.#cellAt(this.#line.length));
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
        return this.#edit(out, this.#pos - 1, 1, [], this.#pos - 1);
      case "delete":
        if (this.#pos >= this.#line.length) return;
        return this.#edit(out, this.#pos, 1, [], this.#pos);
      case "eofOrDelete":
        if (this.#line.length === 0) {
          events.push({ type: "eof" });
          return;
        }
        return this.#do("delete", out, events);
      case "interrupt":
        this.#move(out, this.#cursorCell(), this.#cellAt(this.#line.length));
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
      case "eraseToEnd":
        return this.#edit(out, this.#pos, this.#line.length - this.#pos, [], this.#pos);
      case "eraseWord": {
        let start = this.#pos;
        while (start > 0 && this.#line[start - 1] === " ") start--;
        while (start > 0 && this.#line[start - 1] !== " ") start--;
        if (start === this.#pos) return;
        return this.#edit(out, start, this.#pos - start, [], start);
      }
      case "home":
        return this.#moveTo(out, 0);
      case "end":
        return this.#moveTo(out, this.#line.length);
      case "left":
        if (this.#pos === 0) return;
        return this.#moveTo(out, this.#pos - 1);
      case "right":
        if (this.#pos >= this.#line.length) return;
        return this.#moveTo(out, this.#pos + 1);
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
      case "redraw": {
        this.#move(out, this.#cursorCell(), this.#startCol);
        const end = this.#draw(out, this.#line, this.#startCol);
        this.#move(out, end, this.#cursorCell());
        return;
      }
    }
  }

  #insert(ch: string, out: { s: string }): void {
    if (this.#line.length >= this.#maxLength) {
      if (this.#echo) out.s += "\x07";
      return;
    }
    this.#edit(out, this.#pos, 0, [ch], this.#pos + 1);
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
  #replace(out: { s: string }, line: readonly string[], pos = line.length): void {
    this.#edit(out, 0, this.#line.length, line, pos);
  }

  /**
   * Replaces `count` characters at `at` with `chars`, puts the cursor at `pos`,
   * and redraws the line from `at` to its end, blanking the cells it no longer
   * uses. A zero-width mark is drawn on the cell of the character before it,
   * so when one is added or removed at `at` that character is drawn again too.
   */
  #edit(
    out: { s: string },
    at: number,
    count: number,
    chars: readonly string[],
    pos: number,
  ): void {
    const line = this.#line;
    const oldCursor = this.#cursorCell();
    const oldEnd = this.#cellAt(line.length);
    const markChanged = isMark(line[at]) || isMark(chars.length > 0 ? chars[0] : line[at + count]);
    line.splice(at, count, ...chars);
    if (this.#cells.length > at + 1) this.#cells.length = at + 1;
    this.#pos = pos;
    if (!this.#echo) return;
    let from = at;
    // A mark is drawn on the cell of the character before it: draw that one again.
    while (markChanged && from > 0) {
      from--;
      if (!isMark(line[from])) break;
    }
    const start = this.#cellAt(from);
    this.#move(out, oldCursor, start);
    const end = this.#draw(out, line.slice(from), start, oldEnd);
    this.#move(out, end, this.#cursorCell());
  }

  /** Moves the cursor to line index `pos`. */
  #moveTo(out: { s: string }, pos: number): void {
    const from = this.#cursorCell();
    this.#pos = pos;
    this.#move(out, from, this.#cursorCell());
  }

  /**
   * The cell where the line's character `i` is drawn from (or the line's end
   * cell), counted from the start of the row the line starts on: row
   * `floor(cell / columns)`, column `cell % columns`. A wide character that
   * would start in a row's last column starts a cell later; that padding cell
   * counts before it, so this is the cell just after character `i - 1`.
   */
  #cellAt(i: number): number {
    // Cached (typing at the end of a long line, or a paste, stays linear): a cell
    // depends only on the characters before it, the line's start and the width.
    const cells = this.#cells;
    const key = this.#cellsOf;
    if (
      key?.line !== this.#line || key.startCol !== this.#startCol || key.columns !== this.#columns
    ) {
      this.#cellsOf = { line: this.#line, startCol: this.#startCol, columns: this.#columns };
      cells.length = 0;
    }
    if (cells.length === 0) cells.push(this.#startCol);
    for (let k = cells.length - 1; k < i; k++) {
      cells.push(nextCell(cells[k]!, widthOf(this.#line[k]!), this.#columns));
    }
    return cells[i]!;
  }

  /** The cursor's cell: on its character, past a padding cell before a wide one. */
  #cursorCell(): number {
    const cell = this.#cellAt(this.#pos);
    const ch = this.#line[this.#pos];
    if (ch === undefined || widthOf(ch) !== 2) return cell;
    return nextCell(cell, 2, this.#columns) - 2;
  }

  /**
   * Draws `chars` from cell `at` (the cursor there), then spaces up to cell
   * `clearTo`; returns the cell the cursor ends at.
   */
  #draw(out: { s: string }, chars: readonly string[], at: number, clearTo = 0): number {
    if (!this.#echo) return at;
    const w = this.#columns;
    let cell = at;
    for (const ch of chars) {
      const next = nextCell(cell, widthOf(ch), w);
      // The terminal leaves the cell a wide character skips as it was: blank it.
      if (next - cell > 2) out.s += " ";
      out.s += ch;
      cell = next;
    }
    if (clearTo > cell) {
      out.s += " ".repeat(clearTo - cell);
      cell = clearTo;
    }
    // At the right margin the terminal waits to wrap; " \r" makes it wrap now,
    // so the cursor is where we count it (the start of the next row).
    if (cell > at && cell % w === 0) out.s += " \r";
    return cell;
  }

  /** Moves the cursor from cell `from` to cell `to` (see `#cellAt`) with relative motions. */
  #move(out: { s: string }, from: number, to: number): void {
    if (!this.#echo || from === to) return;
    const w = this.#columns;
    const rows = Math.floor(to / w) - Math.floor(from / w);
    const cols = (to % w) - (from % w);
    if (rows < 0) out.s += `\x1b[${-rows}A`;
    if (rows > 0) out.s += `\x1b[${rows}B`;
    if (cols === -1) out.s += "\b";
    else if (cols < 0) out.s += `\x1b[${-cols}D`;
    if (cols > 0) out.s += `\x1b[${cols}C`;
  }
}

/** Code points a terminal draws in no column of their own, as [first, last]. */
const ZERO_WIDTH: readonly (readonly [number, number])[] = [
  [0x0300, 0x036f], // Combining Diacritical Marks
  [0x1ab0, 0x1aff], // Combining Diacritical Marks Extended
  [0x1dc0, 0x1dff], // Combining Diacritical Marks Supplement
  [0x200c, 0x200d], // zero-width non-joiner and joiner
  [0x20d0, 0x20ff], // Combining Diacritical Marks for Symbols
  [0xfe00, 0xfe0f], // variation selectors
  [0xfe20, 0xfe2f], // Combining Half Marks
  [0xe0100, 0xe01ef], // Variation Selectors Supplement
];

/** Code points a terminal draws in two columns (East Asian Wide and Fullwidth, most emoji). */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals, Kangxi radicals, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
  [0x3400, 0x4dbf], // CJK Unified Ideographs Extension A
  [0x4e00, 0x9fff], // CJK Unified Ideographs
  [0xa000, 0xa4cf], // Yi
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK Compatibility Ideographs
  [0xfe30, 0xfe4f], // CJK Compatibility Forms
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x1f300, 0x1f64f], // Miscellaneous Symbols and Pictographs, Emoticons
  [0x1f900, 0x1f9ff], // Supplemental Symbols and Pictographs
  [0x20000, 0x2fffd], // CJK ideographs, plane 2
  [0x30000, 0x3fffd], // CJK ideographs, plane 3
];

/**
 * The columns a terminal gives a printable code point: 0 for combining marks,
 * the zero-width joiner and non-joiner and variation selectors, 2 for East
 * Asian Wide and Fullwidth characters and most emoji, 1 otherwise. A small
 * fixed table (not all of Unicode's East Asian Width data): enough for CJK,
 * Hangul, kana, fullwidth forms and the common emoji blocks.
 *
 * @example Columns of a few characters
 * ```ts
 * import { charWidth } from "./line_editor.ts";
 * console.log(charWidth(0x61)); // 1 ("a")
 * console.log(charWidth(0x65e5)); // 2 ("日")
 * console.log(charWidth(0x1f600)); // 2 ("😀")
 * console.log(charWidth(0x301)); // 0 (combining acute accent)
 * ```
 */
export function charWidth(codePoint: number): 0 | 1 | 2 {
  if (codePoint < 0x300) return 1;
  for (const [first, last] of ZERO_WIDTH) if (codePoint >= first && codePoint <= last) return 0;
  for (const [first, last] of WIDE) if (codePoint >= first && codePoint <= last) return 2;
  return 1;
}

/** The columns of one character of the line (one code point). */
function widthOf(ch: string): number {
  return charWidth(ch.codePointAt(0)!);
}

/** Whether `ch` is a zero-width mark (drawn on the cell of the character before it). */
function isMark(ch: string | undefined): boolean {
  return ch !== undefined && widthOf(ch) === 0;
}

/**
 * The cell after drawing a character `width` columns wide from `cell`. A wide
 * character that would start in a row's last column starts at the next row,
 * as terminals draw it.
 */
function nextCell(cell: number, width: number, columns: number): number {
  if (width === 2 && columns > 1 && cell % columns === columns - 1) cell++;
  return cell + width;
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

/**
 * The terminal column after writing `text` from column `col` (escape sequences
 * skipped, characters counted by {@link charWidth}). A row filled to the right
 * margin counts as column 0 of the next.
 */
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
    } else if (c >= 0x20) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      col = nextCell(col, charWidth(cp), columns) % columns;
    }
  }
  return col;
}
