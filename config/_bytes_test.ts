import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBytes, fromRaw, toBytes } from "./_bytes.ts";

test("fromRaw maps every byte to the one character of that code, ASCII or not", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const s = fromRaw(all);
  assert.equal(s.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(s.charCodeAt(i), i);
  // ASCII only (the fast path), and a file larger than one chunk of the slow one.
  const ascii = new TextEncoder().encode("Host *\n  Port 22\n".repeat(1000));
  assert.equal(fromRaw(ascii), "Host *\n  Port 22\n".repeat(1000));
  const mixed = new Uint8Array(20_000).fill(0x41);
  mixed[19_999] = 0x80; // windows-1252 would make this U+20AC: a byte string keeps 0x80
  const m = fromRaw(mixed);
  assert.equal(m.length, 20_000);
  assert.equal(m.charCodeAt(19_999), 0x80);
  assert.equal(fromBytes(toBytes("café")), "café");
});
