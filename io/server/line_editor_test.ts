import { test } from "node:test";
import assert from "node:assert/strict";
import { charWidth, LineEditor } from "./line_editor.ts";

/** Columns a terminal gives `ch`, the test's own reckoning for the characters used here. */
function cellsOf(ch: string): number {
  if (/^[\p{Mn}\u200c\u200d]$/u.test(ch)) return 0;
  const wide =
    /^[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uff00-\uff60\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]$/u;
  return wide.test(ch) ? 2 : 1;
}

/** The right half of a wide character's two cells. */
const RIGHT_HALF = "";

/**
 * A tiny terminal: enough of a VT100 to check what the editor draws (with pending
 * wrap), and of xterm's wide characters: two cells, moved to the next row when
 * started in the last column (that cell left as it was); a combining mark joins
 * the cell written last; writing over half a wide character blanks the other.
 */
class Screen {
  readonly rows: string[][] = [];
  r = 0;
  c = 0;
  #pendingWrap = false;
  #last: [number, number] | undefined;
  readonly cols: number;
  constructor(cols: number) {
    this.cols = cols;
  }
  #cell(r: number): string[] {
    while (this.rows.length <= r) this.rows.push([]);
    return this.rows[r]!;
  }
  #put(ch: string, width: number): void {
    const row = this.#cell(this.r);
    for (let k = this.c; k < this.c + width; k++) {
      if (row[k] === RIGHT_HALF) row[k - 1] = " ";
      if (row[k + 1] === RIGHT_HALF) row[k + 1] = " ";
    }
    row[this.c] = ch;
    if (width === 2) row[this.c + 1] = RIGHT_HALF;
    this.#last = [this.r, this.c];
  }
  write(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      if (ch.length === 2) i++;
      if (ch === "\x1b" && s[i + 1] === "[") {
        const m = /^\[(\d*)([A-D])/.exec(s.slice(i + 1))!;
        assert.ok(m, `unexpected escape ${JSON.stringify(s.slice(i, i + 6))}`);
        const n = Number(m[1] || 1);
        if (m[2] === "A") this.r -= n;
        if (m[2] === "B") this.r += n;
        if (m[2] === "C") this.c = Math.min(this.cols - 1, this.c + n);
        if (m[2] === "D") this.c = Math.max(0, this.c - n);
        assert.ok(this.r >= 0, "cursor moved above the first row");
        this.#pendingWrap = false;
        i += m[0].length;
      } else if (ch === "\r") {
        this.c = 0;
        this.#pendingWrap = false;
      } else if (ch === "\n") {
        this.r++;
        this.#pendingWrap = false;
      } else if (ch === "\b") {
        this.c = Math.max(0, this.c - 1);
        this.#pendingWrap = false;
      } else if (ch === "\x07") {
        // bell
      } else if (cellsOf(ch) === 0) {
        if (this.#last) this.#cell(this.#last[0])[this.#last[1]] += ch;
      } else {
        const width = cellsOf(ch);
        if (this.#pendingWrap || this.c + width > this.cols) {
          this.r++;
          this.c = 0;
          this.#pendingWrap = false;
        }
        this.#put(ch, width);
        if (this.c + width >= this.cols) {
          this.c = this.cols - 1;
          this.#pendingWrap = true;
        } else this.c += width;
      }
    }
  }
  text(): string {
    return this.rows.map((row) =>
      Array.from(row, (x) => x ?? " ").filter((x) => x !== RIGHT_HALF).join("").trimEnd()
    ).join("\n").trimEnd();
  }
}

function typeInto(ed: LineEditor, screen: Screen, input: string) {
  const r = ed.feed(input);
  screen.write(r.output);
  return r.events;
}

/** Feeds `input`, shows the output on `screen`, and returns the output. */
function echoOf(ed: LineEditor, screen: Screen, input: string): string {
  const r = ed.feed(input);
  screen.write(r.output);
  return r.output;
}

test("LineEditor.feed() echoes typing and returns the line on Enter", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  assert.deepEqual(typeInto(ed, s, "hello"), []);
  assert.equal(s.text(), "hello");
  assert.deepEqual(typeInto(ed, s, "\r"), [{ type: "line", text: "hello" }]);
  assert.equal(s.r, 1);
  assert.equal(s.c, 0);
  assert.equal(ed.line, "");
});

test("LineEditor.feed() edits with backspace, cursor keys, home, end and delete", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  typeInto(ed, s, "helo wrld");
  typeInto(ed, s, "\x1b[D\x1b[D\x1b[D"); // left x3: before "rld"
  typeInto(ed, s, "o");
  assert.equal(ed.line, "helo world");
  typeInto(ed, s, "\x01\x1b[C\x1b[C\x1b[Cl"); // home, right x3, insert
  assert.equal(ed.line, "hello world");
  typeInto(ed, s, "\x05!!\x7f"); // end, "!!", backspace
  assert.equal(ed.line, "hello world!");
  typeInto(ed, s, "\x1b[H\x1b[3~"); // home, delete
  assert.equal(ed.line, "ello world!");
  assert.equal(s.text(), "ello world!");
  assert.equal(s.c, 0);
  assert.deepEqual(typeInto(ed, s, "\x04\r"), [{ type: "line", text: "llo world!" }]);
});

test("LineEditor.feed() erases the line, to the end and a word", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  typeInto(ed, s, "one two three");
  typeInto(ed, s, "\x17");
  assert.equal(ed.line, "one two ");
  typeInto(ed, s, "\x01\x06\x06\x06\x0b");
  assert.equal(ed.line, "one");
  assert.equal(s.text(), "one");
  typeInto(ed, s, "\x15");
  assert.equal(ed.line, "");
  assert.equal(s.text(), "");
});

test("LineEditor.feed() recalls history with up and down, keeping the line being typed", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  typeInto(ed, s, "first\rsecond command\r");
  typeInto(ed, s, "dra");
  typeInto(ed, s, "\x1b[A");
  assert.equal(ed.line, "second command");
  typeInto(ed, s, "\x1bOA");
  assert.equal(ed.line, "first");
  assert.equal(s.text().split("\n")[2], "first");
  typeInto(ed, s, "\x1b[A"); // already at the oldest
  assert.equal(ed.line, "first");
  typeInto(ed, s, "\x1b[B\x1b[B");
  assert.equal(ed.line, "dra");
  assert.equal(s.text().split("\n")[2], "dra");
  assert.deepEqual(ed.history, ["first", "second command"]);
});

test("LineEditor.feed() reports Ctrl-C as an interrupt and Ctrl-D on an empty line as EOF", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  assert.deepEqual(typeInto(ed, s, "oops\x03"), [{ type: "interrupt" }]);
  assert.equal(ed.line, "");
  assert.equal(s.text(), "oops^C");
  assert.deepEqual(typeInto(ed, s, "x\x04"), []);
  assert.deepEqual(typeInto(ed, s, "\x7f\x04"), [{ type: "eof" }]);
});

test("LineEditor.feed() joins escape sequences split across reads and folds CR LF", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  typeInto(ed, s, "ab\x1b");
  typeInto(ed, s, "[");
  typeInto(ed, s, "DX");
  assert.equal(ed.line, "aXb");
  assert.deepEqual(typeInto(ed, s, "\r\n"), [{ type: "line", text: "aXb" }]);
  assert.deepEqual(typeInto(ed, s, "\n"), [{ type: "line", text: "" }]);
  assert.deepEqual(typeInto(ed, s, "\x1b[99~z\r"), [{ type: "line", text: "z" }]);
});

test("LineEditor.feed() wraps long lines and edits across the wrap", () => {
  const ed = new LineEditor({ columns: 10 });
  const s = new Screen(10);
  s.write(ed.formatOutput("> "));
  typeInto(ed, s, "abcdefghijklmnopqrstu"); // 2 + 21 = 23 columns: three rows
  assert.equal(s.text(), "> abcdefgh\nijklmnopqr\nstu");
  typeInto(ed, s, "\x01"); // home: back to row 0, column 2
  assert.deepEqual([s.r, s.c], [0, 2]);
  typeInto(ed, s, "_");
  assert.equal(s.text(), "> _abcdefg\nhijklmnopq\nrstu");
  typeInto(ed, s, "\x05\x7f\x7f");
  assert.equal(s.text(), "> _abcdefg\nhijklmnopq\nrs");
  typeInto(ed, s, "\x15");
  assert.equal(s.text(), ">");
  // Exactly at the margin: the cursor must be at the start of the next row.
  typeInto(ed, s, "12345678");
  assert.deepEqual([s.r, s.c], [1, 0]);
  typeInto(ed, s, "9");
  assert.equal(s.text(), "> 12345678\n9");
});

test("LineEditor.formatOutput() writes around a partly typed line and translates newlines", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  s.write(ed.formatOutput("> "));
  typeInto(ed, s, "draft\x1b[D");
  s.write(ed.formatOutput("news\n"));
  assert.equal(s.text(), "> news\ndraft");
  assert.deepEqual([s.r, s.c], [1, 4]);
  typeInto(ed, s, "!");
  assert.equal(ed.line, "draf!t");
  assert.equal(s.text(), "> news\ndraf!t");
  assert.equal(ed.formatOutput("a\nb\r\nc"), "\x1b[5D      \x1b[6Da\r\nb\r\ncdraf!t\b");
});

test("LineEditor.setEcho(false) hides input but still returns lines", () => {
  const ed = new LineEditor();
  ed.setEcho(false);
  const r = ed.feed("s3cret\x7f\x7fet\r");
  assert.equal(r.output, "\r\n");
  assert.deepEqual(r.events, [{ type: "line", text: "s3cret" }]);
});

test("LineEditor.setLineMode(false) passes input through and hands back the partial line", () => {
  const ed = new LineEditor();
  ed.feed("par");
  assert.equal(ed.setLineMode(false), "par");
  const r = ed.feed("\x1b[A\x03q");
  assert.deepEqual(r.events, [{ type: "data", text: "\x1b[A\x03q" }]);
  assert.equal(ed.formatOutput("x\ny"), "x\ny");
  ed.setLineMode(true);
  assert.deepEqual(ed.feed("ok\r").events, [{ type: "line", text: "ok" }]);
});

test("LineEditor.setLineMode(false) hands on a key sequence begun, and does not keep it for later", () => {
  const ed = new LineEditor();
  ed.feed("ab\x1b"); // ESC at a packet's end waits for the rest of its sequence
  assert.equal(ed.setLineMode(false), "ab\x1b");
  ed.setLineMode(true);
  assert.deepEqual(ed.feed("x\r").events, [{ type: "line", text: "x" }]);
});

test("LineEditor.feed() takes ESC and a character outside the BMP as one key (Alt+😀), leaving no half", () => {
  for (const chunks of [["\x1b😀b\r"], ["\x1b\ud83d", "\ude00b\r"], ["\x1bO😀b\r"]]) {
    const ed = new LineEditor();
    const events = chunks.flatMap((c) => ed.feed(c).events);
    assert.deepEqual(events, [{ type: "line", text: "b" }], JSON.stringify(chunks));
  }
});

test("LineEditor.feed() rings the bell past maxLineLength and counts characters, not UTF-16 units", () => {
  const ed = new LineEditor({ maxLineLength: 3 });
  const r = ed.feed("😀éab");
  assert.equal(ed.line, "😀éa");
  assert.ok(r.output.endsWith("\x07"));
  const s = new Screen(80);
  const ed2 = new LineEditor();
  typeInto(ed2, s, "😀x\x1b[D\x1b[Dy");
  assert.equal(ed2.line, "y😀x");
});

test("LineEditor.endInput() hands back the partial line and keeps translating newlines", () => {
  const ed = new LineEditor({ columns: 10 });
  const s = new Screen(10);
  s.write(ed.formatOutput("> "));
  typeInto(ed, s, "abcdefghij\x1b[D\x1b[D");
  const { rest, output } = ed.endInput();
  assert.equal(rest, "abcdefghij");
  s.write(output);
  assert.deepEqual([s.r, s.c], [1, 2]);
  assert.equal(ed.line, "");
  assert.equal(ed.lineMode, true);
  s.write(ed.formatOutput("\nbye\n"));
  assert.equal(s.text(), "> abcdefgh\nij\nbye");
  assert.equal(ed.formatOutput("x\ny"), "x\r\ny");
  assert.deepEqual(new LineEditor().endInput(), { rest: "", output: "" });
});

test("charWidth() gives wide characters two columns and combining marks none", () => {
  const cases: [number, number][] = [
    [0x41, 1], // A
    [0xe9, 1], // é
    [0x300, 0], // combining grave
    [0x36f, 0],
    [0x370, 1],
    [0x1ab0, 0],
    [0x1dc0, 0],
    [0x200b, 1], // zero-width space: not in the table
    [0x200c, 0], // ZWNJ
    [0x200d, 0], // ZWJ
    [0x20d0, 0],
    [0xfe0f, 0], // variation selector 16
    [0xfe20, 0],
    [0xe0100, 0],
    [0x10ff, 1],
    [0x1100, 2], // Hangul Jamo
    [0x1160, 1],
    [0x3000, 2], // ideographic space
    [0x303f, 1],
    [0x3042, 2], // あ
    [0x65e5, 2], // 日
    [0xa4cf, 2],
    [0xac00, 2], // 가
    [0xd7a3, 2],
    [0xd7a4, 1],
    [0xff01, 2], // ！
    [0xff61, 1], // halfwidth ｡
    [0xffe6, 2],
    [0x1f600, 2], // 😀
    [0x1f650, 1],
    [0x1f92f, 2], // 🤯
    [0x20000, 2],
    [0x3fffd, 2],
    [0x3fffe, 1],
  ];
  for (const [cp, width] of cases) assert.equal(charWidth(cp), width, cp.toString(16));
});

test("LineEditor.feed() moves over wide characters two columns at a time (日本語, Left, Left, x)", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  assert.equal(echoOf(ed, s, "日本語"), "日本語");
  assert.equal(echoOf(ed, s, "\x1b[D\x1b[D"), "\x1b[2D\x1b[2D");
  assert.equal(echoOf(ed, s, "x"), "x本語\x1b[4D");
  assert.equal(s.text(), "日x本語");
  assert.deepEqual([s.r, s.c], [0, 3]);
  assert.equal(echoOf(ed, s, "\x05"), "\x1b[4C");
  assert.equal(echoOf(ed, s, "\x01"), "\x1b[7D");
  assert.equal(echoOf(ed, s, "\x06"), "\x1b[2C");
  assert.deepEqual(typeInto(ed, s, "\r"), [{ type: "line", text: "日x本語" }]);
});

test("LineEditor.feed() blanks two columns when backspace or delete removes a wide character", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  typeInto(ed, s, "ab日本c");
  assert.equal(echoOf(ed, s, "\x1b[D\x7f"), "\b\x1b[2Dc  \x1b[3D");
  assert.equal(s.text(), "ab日c");
  assert.deepEqual([s.r, s.c], [0, 4]);
  assert.equal(echoOf(ed, s, "\x1b[D\x1b[3~"), "\x1b[2Dc  \x1b[3D");
  assert.equal(ed.line, "abc");
  assert.equal(ed.cursor, 2);
  const ed2 = new LineEditor();
  const s2 = new Screen(80);
  typeInto(ed2, s2, "😀x😀");
  typeInto(ed2, s2, "\x01\x1b[3~");
  assert.equal(s2.text(), "x😀");
  assert.deepEqual([s2.r, s2.c], [0, 0]);
  typeInto(ed2, s2, "\x05\x7f");
  assert.equal(s2.text(), "x");
  assert.deepEqual([s2.r, s2.c], [0, 1]);
});

test("LineEditor.feed() blanks the columns of wide characters on kill to end, kill word and history recall", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  typeInto(ed, s, "한국어 日本語");
  assert.equal(echoOf(ed, s, "\x17"), "\x1b[6D      \x1b[6D");
  assert.equal(s.text(), "한국어");
  assert.deepEqual([s.r, s.c], [0, 7]);
  typeInto(ed, s, "\x01\x06\x0b");
  assert.equal(s.text(), "한");
  assert.deepEqual([s.r, s.c], [0, 2]);
  typeInto(ed, s, "\r全角ｘ\r");
  assert.deepEqual(ed.history, ["한", "全角ｘ"]);
  typeInto(ed, s, "ab");
  assert.equal(echoOf(ed, s, "\x1b[A"), "\x1b[2D全角ｘ");
  assert.equal(echoOf(ed, s, "\x1b[A"), "\x1b[6D한    \x1b[4D");
  assert.equal(s.text().split("\n")[2], "한");
  assert.deepEqual([s.r, s.c], [2, 2]);
  typeInto(ed, s, "\x1b[B\x1b[B");
  assert.equal(s.text().split("\n")[2], "ab");
  assert.deepEqual([s.r, s.c], [2, 2]);
  typeInto(ed, s, "\x1b[A\x15");
  assert.equal(s.text().split("\n")[2] ?? "", "");
  assert.deepEqual([s.r, s.c], [2, 0]);
});

test("LineEditor.feed() draws combining marks and joiners in no column of their own", () => {
  const ed = new LineEditor();
  const s = new Screen(80);
  // e + U+0301 (é decomposed), then a family emoji joined by U+200D.
  typeInto(ed, s, "e\u0301x");
  assert.deepEqual([s.r, s.c], [0, 2]);
  assert.equal(echoOf(ed, s, "\x1b[D"), "\b");
  assert.equal(echoOf(ed, s, "\x1b[D"), ""); // over the mark: the screen cursor stays
  assert.equal(ed.cursor, 1);
  // Deleting the mark draws its base character again, without it.
  assert.equal(echoOf(ed, s, "\x1b[3~"), "\bex\b");
  assert.equal(s.text(), "ex");
  assert.equal(echoOf(ed, s, "\u0301"), "\be\u0301x\b");
  assert.equal(s.text(), "e\u0301x");
  typeInto(ed, s, "\x05\x7f\x7f");
  assert.equal(s.text(), "e");
  assert.deepEqual([s.r, s.c], [0, 1]);
  assert.equal(ed.line, "e");
  typeInto(ed, s, "\x15👨\u200d👩");
  assert.deepEqual([s.r, s.c], [0, 4]);
  assert.equal(echoOf(ed, s, "\x7f"), "\x1b[2D  \x1b[2D");
  assert.deepEqual(typeInto(ed, s, "\r"), [{ type: "line", text: "👨\u200d" }]);
});

test("LineEditor.feed() wraps wide characters at the right margin, blanking a last column a wide one skips", () => {
  const ed = new LineEditor({ columns: 10 });
  const s = new Screen(10);
  s.write(ed.formatOutput("> "));
  typeInto(ed, s, "日本語");
  // Ends exactly at the margin: " \r" puts the cursor at the next row.
  assert.equal(echoOf(ed, s, "漢"), "漢 \r");
  assert.deepEqual([s.r, s.c], [1, 0]);
  typeInto(ed, s, "字");
  assert.equal(s.text(), "> 日本語漢\n字");
  typeInto(ed, s, "\x01a");
  // "a" shifts 漢 to start in the last column: it goes to the next row instead.
  assert.equal(s.text(), "> a日本語\n漢字");
  assert.deepEqual([s.r, s.c], [0, 3]);
  assert.equal(echoOf(ed, s, "\x05"), "\x1b[1B\x1b[1C");
  // Left onto 漢 puts the cursor on it, at the start of row 1, then onto 語 on row 0.
  assert.equal(echoOf(ed, s, "\x1b[D\x1b[D\x1b[D"), "\x1b[2D\x1b[2D\x1b[1A\x1b[7C");
  // Delete "a": everything moves back a column, and 漢 back up to row 0.
  typeInto(ed, s, "\x01\x1b[3~");
  assert.equal(s.text(), "> 日本語漢\n字");
  assert.deepEqual([s.r, s.c], [0, 2]);
  assert.equal(echoOf(ed, s, "b"), "b日本語 漢字\x1b[1A\b");
  assert.equal(s.text(), "> b日本語\n漢字");
  assert.deepEqual([s.r, s.c], [0, 3]);
  typeInto(ed, s, "\x05\x1b[D\x1b[D\x7f");
  assert.equal(s.text(), "> b日本漢\n字");
  assert.deepEqual(typeInto(ed, s, "\r"), [{ type: "line", text: "b日本漢字" }]);
});

test("LineEditor.formatOutput() counts the columns of wide characters in output and in the line", () => {
  const ed = new LineEditor({ columns: 10 });
  const s = new Screen(10);
  s.write(ed.formatOutput("日本語"));
  assert.equal(echoOf(ed, s, "abc"), "abc");
  assert.equal(echoOf(ed, s, "d"), "d \r");
  const ed2 = new LineEditor({ columns: 10 });
  // Nine columns, then a wide character that goes to the next row.
  assert.equal(ed2.formatOutput("> 1234567語"), "> 1234567語");
  assert.equal(ed2.feed("12345678").output, "12345678 \r");
  const ed3 = new LineEditor();
  const s3 = new Screen(80);
  typeInto(ed3, s3, "日本\x1b[D");
  assert.equal(ed3.formatOutput("hi\n"), "\x1b[2D    \x1b[4Dhi\r\n日本\x1b[2D");
  const { rest, output } = ed3.endInput();
  assert.equal(rest, "日本");
  assert.equal(output, "\x1b[2C");
});
