import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../errors.ts";
import { textLike } from "./_test_data.ts";
import { ZlibCompressor } from "./zlib_compressor.ts";
import { ZlibDecompressor } from "./zlib_decompressor.ts";

const SYNC_MARKER = [0x00, 0x00, 0xff, 0xff];

test("ZlibCompressor.compress() starts the stream with one RFC 1950 header", () => {
  const c = new ZlibCompressor("zlib@openssh.com");
  const first = c.compress(textLike(1, 500));
  assert.equal(first[0], 0x78, "deflate with a 32 KiB window");
  assert.equal(((first[0] ?? 0) * 256 + (first[1] ?? 0)) % 31, 0, "header check bits");
  assert.equal((first[1] ?? 0) & 0x20, 0, "no preset dictionary");
  const second = c.compress(textLike(2, 500));
  assert.notEqual(second[0], 0x78, "no second header");
});

test("ZlibCompressor.compress() ends every packet with a sync flush", () => {
  const c = new ZlibCompressor("zlib");
  for (const size of [1, 7, 100, 5000, 40000]) {
    const out = c.compress(textLike(size, size));
    assert.deepEqual([...out.subarray(-4)], SYNC_MARKER, `packet of ${size} bytes`);
  }
});

test("ZlibCompressor.compress() makes repeated data smaller across packets", () => {
  const c = new ZlibCompressor("zlib");
  const line = textLike(3, 300);
  const first = c.compress(line);
  const again = c.compress(line);
  assert.ok(again.length < first.length / 4, `${again.length} vs ${first.length}`);
});

test("ZlibCompressor.compress() returns nothing for an empty payload after a flush", () => {
  const c = new ZlibCompressor("zlib");
  const start = c.compress(new Uint8Array(0));
  assert.ok(start.length > 2, "the first call still writes the header");
  assert.equal(c.compress(new Uint8Array(0)).length, 0);
  const d = new ZlibDecompressor("zlib");
  assert.equal(d.decompress(start, 10).length, 0);
  assert.equal(d.decompress(new Uint8Array(0), 10).length, 0);
});

test("ZlibCompressor.compress() neither keeps the payload nor reuses its result", () => {
  const c = new ZlibCompressor("zlib");
  const payload = textLike(4, 2000);
  const copy = payload.slice();
  const out1 = c.compress(payload);
  const saved = out1.slice();
  payload.fill(0);
  c.compress(textLike(5, 2000));
  assert.deepEqual(out1, saved, "a later call must not overwrite an earlier result");
  assert.deepEqual(new ZlibDecompressor("zlib").decompress(out1, 2000), copy);
});

test("ZlibCompressor.compress() handles 256 KiB of incompressible data", () => {
  const c = new ZlibCompressor("zlib", { level: 9 });
  const random = new Uint8Array(256 * 1024);
  for (let i = 0, x = 1; i < random.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    random[i] = x >>> 24;
  }
  const out = c.compress(random);
  assert.ok(out.length < random.length + 256, `${out.length} bytes`);
  assert.deepEqual(new ZlibDecompressor("zlib").decompress(out, random.length), random);
});

test("ZlibCompressor rejects a level outside 0..9", () => {
  for (const level of [-1, 10, 1.5, Number.NaN]) {
    assert.throws(() => new ZlibCompressor("zlib", { level }), LocalProtocolError);
  }
});

test("ZlibCompressor writes the header for the level it uses", () => {
  // FLEVEL (the top two bits of FLG) says how hard the sender tried.
  assert.equal(new ZlibCompressor("zlib", { level: 1 }).compress(new Uint8Array(1))[1], 0x01);
  assert.equal(new ZlibCompressor("zlib", { level: 6 }).compress(new Uint8Array(1))[1], 0x9c);
  assert.equal(new ZlibCompressor("zlib", { level: 9 }).compress(new Uint8Array(1))[1], 0xda);
});
