// Interop with the platform's zlib (node:zlib in Node, Deno and Bun): what we send is
// read by real zlib, and what real zlib sends — with the sync flush of the RFC text's
// readers or the partial flush OpenSSH uses — is read by us packet by packet.
import { test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { seededRandom } from "../random.ts";
import { textLike } from "./_test_data.ts";
import { ZlibCompressor } from "./zlib_compressor.ts";
import { ZlibDecompressor } from "./zlib_decompressor.ts";

const MAX = 256 * 1024 + 64;

function payloads(): Uint8Array[] {
  const rand = seededRandom(9);
  const out: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const size = ((rand(2)[0] ?? 0) << 4) + 1;
    out.push(i % 3 === 0 ? rand(size) : i % 7 === 0 ? new Uint8Array(0) : textLike(i % 5, size));
  }
  out.push(textLike(2, 256 * 1024), rand(100 * 1024));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}

/** Compresses each payload with a node:zlib stream, flushing with `flush` after each. */
async function platformPackets(
  input: readonly Uint8Array[],
  flush: number,
  options: zlib.ZlibOptions = {},
): Promise<Uint8Array[]> {
  const deflate = zlib.createDeflate(options);
  const chunks: Uint8Array[] = [];
  deflate.on("data", (c: Uint8Array) => chunks.push(new Uint8Array(c)));
  const packets: Uint8Array[] = [];
  for (const payload of input) {
    if (payload.length > 0) deflate.write(payload);
    await new Promise<void>((resolve) => deflate.flush(flush, () => resolve()));
    await new Promise<void>((resolve) => setTimeout(resolve, 0)); // let 'data' events land
    packets.push(concat(chunks.splice(0)));
  }
  deflate.destroy();
  return packets;
}

test("ZlibCompressor output is inflated by the platform's zlib", () => {
  const c = new ZlibCompressor("zlib@openssh.com");
  const input = payloads();
  const wire = concat(input.map((p) => c.compress(p)));
  const out = zlib.inflateSync(wire, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(new Uint8Array(out), concat(input));
});

test("ZlibCompressor output is inflated by the platform's zlib packet by packet", () => {
  // Each packet on its own must be complete: inflate the stream so far after each one.
  const c = new ZlibCompressor("zlib");
  const input = payloads().slice(0, 25);
  const sent: Uint8Array[] = [];
  for (const [i, payload] of input.entries()) {
    sent.push(c.compress(payload));
    const out = zlib.inflateSync(concat(sent), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.deepEqual(new Uint8Array(out), concat(input.slice(0, i + 1)), `after packet ${i}`);
  }
});

test("ZlibDecompressor reads a platform zlib stream flushed with Z_SYNC_FLUSH", async () => {
  const input = payloads();
  const packets = await platformPackets(input, zlib.constants.Z_SYNC_FLUSH);
  const d = new ZlibDecompressor("zlib");
  for (const [i, packet] of packets.entries()) {
    assert.deepEqual(d.decompress(packet, MAX), input[i], `packet ${i}`);
  }
});

test("ZlibDecompressor reads a platform zlib stream flushed with Z_PARTIAL_FLUSH", async () => {
  // OpenSSH flushes this way; a packet's last bits may arrive with the next packet,
  // but all of a packet's data must still come out when that packet arrives.
  const input = payloads();
  const packets = await platformPackets(input, zlib.constants.Z_PARTIAL_FLUSH, { level: 9 });
  const aligned = packets.filter((p) => p.length >= 4 && p.at(-1) === 0xff && p.at(-3) === 0);
  assert.ok(aligned.length < packets.length / 2, "most packets end without a sync marker");
  const d = new ZlibDecompressor("zlib");
  for (const [i, packet] of packets.entries()) {
    assert.deepEqual(d.decompress(packet, MAX), input[i], `packet ${i}`);
  }
});

test("ZlibDecompressor reads platform zlib streams with small windows and levels", async () => {
  const input = payloads().slice(0, 30);
  for (const options of [{ windowBits: 9, level: 1 }, { windowBits: 12, memLevel: 1 }]) {
    const packets = await platformPackets(input, zlib.constants.Z_SYNC_FLUSH, options);
    const d = new ZlibDecompressor("zlib");
    for (const [i, packet] of packets.entries()) {
      assert.deepEqual(d.decompress(packet, MAX), input[i], JSON.stringify(options));
    }
  }
});
