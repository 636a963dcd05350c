import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeControls } from "./peer_text.ts";
import { makePair } from "./testing/fixtures.ts";
import type { DisconnectError } from "./errors.ts";

test("escapeControls() escapes C0, DEL, C1 and bidi overrides, and nothing else", () => {
  assert.equal(escapeControls("plain text, ünïcödé ✓"), "plain text, ünïcödé ✓");
  assert.equal(escapeControls("a\x1b[2Jb\x07\x00\x7f\x9b"), "a\\x1b[2Jb\\x07\\x00\\x7f\\x9b");
  assert.equal(escapeControls("line\nnext\ttab"), "line\\x0anext\\x09tab");
  assert.equal(escapeControls("abc\u202edef\u2066"), "abc\\u{202e}def\\u{2066}");
});

test("a peer's DISCONNECT reason reaches the error message escaped", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  pair.server.disconnect(11, "bye\x1b]0;pwned-title\x07\x1b[2J");
  pair.run();
  const d = pair.clientEvents.find((e) => e.type === "disconnect") as
    | { error: DisconnectError }
    | undefined;
  assert.ok(d, "the client saw the disconnect");
  assert.equal(d.error.message.includes("\x1b"), false, d.error.message);
  assert.match(d.error.message, /bye\\x1b\]0;pwned-title\\x07\\x1b\[2J/);
});

test("escapeControls() shows a byte kept from a name that is not UTF-8 as that byte", () => {
  assert.equal(escapeControls("caf\uDCE9"), "caf\\xe9");
  assert.equal(escapeControls("\uD800\uDC80 is a character"), "\uD800\uDC80 is a character");
});
