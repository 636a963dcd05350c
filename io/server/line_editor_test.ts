import { test } from "node:test";
import assert from "node:assert/strict";
import { LineEditor } from "./line_editor.ts";

/** A tiny terminal: enough of a VT100 to check what the editor draws (with pending wrap). */
class Screen {
  readonly rows: string[][] = [];
  r = 0;
  c = 0;
  #pendingWrap = false;
  readonly cols: number;
  constructor(cols: number) {
    this.cols = cols;
  }
  #cell(r: number): string[] {
    while (this.rows.length <= r) this.rows.push([]);
    return this.rows[r]!;
  }
  write(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
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
      } else {
        if (this.#pendingWrap) {
          this.r++;
          this.c = 0;
          this.#pendingWrap = false;
        }
        this.#cell(this.r)[this.c] = ch;
        if (this.c === this.cols - 1) this.#pendingWrap = true;
        else this.c++;
      }
    }
  }
  text(): string {
    return this.rows.map((row) => Array.from(row, (x) => x ?? " ").join("").trimEnd()).join("\n")
      .trimEnd();
  }
}

function typeInto(ed: LineEditor, screen: Screen, input: string) {
  const r = ed.feed(input);
  screen.write(r.output);
  return r.events;
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
