/** The Deno adapter's read buffer follows the traffic: small while idle, large for bulk. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DENO_READ_MIN_SIZE, DENO_READ_SIZE } from "../limits.ts";
import { nextReadSize, socketFromDenoConn } from "./deno_socket.ts";
import { markTransient } from "../../core/transient_buffers.ts";

test("nextReadSize: grows while reads fill the buffer, up to the maximum", () => {
  let size = DENO_READ_MIN_SIZE;
  const seen = [size];
  while (size < DENO_READ_SIZE) seen.push(size = nextReadSize(size, size));
  assert.deepEqual(seen, [512, 2048, 8192, 32768, 131072, 262144]);
  assert.equal(nextReadSize(DENO_READ_SIZE, DENO_READ_SIZE), DENO_READ_SIZE);
});

test("nextReadSize: shrinks back to the minimum while reads come back small", () => {
  let size = DENO_READ_SIZE;
  let steps = 0;
  while (size > DENO_READ_MIN_SIZE) {
    size = nextReadSize(size, 100);
    steps++;
  }
  assert.equal(size, DENO_READ_MIN_SIZE);
  assert.equal(steps, 9);
  assert.equal(nextReadSize(DENO_READ_MIN_SIZE, 1), DENO_READ_MIN_SIZE);
  // Between a quarter and full: stays.
  assert.equal(nextReadSize(8192, 4096), 8192);
});

/** A stand-in for `Deno.Conn` that records each write and completes it at once. */
function recordingConn() {
  const writes: Uint8Array[] = [];
  const conn = {
    read: () => new Promise<number | null>(() => {}),
    write(p: Uint8Array) {
      writes.push(p);
      return Promise.resolve(p.length);
    },
    closeWrite: () => Promise.resolve(),
    close() {},
    setNoDelay() {},
    localAddr: { hostname: "127.0.0.1", port: 1 },
    remoteAddr: { hostname: "127.0.0.1", port: 2 },
  };
  return { conn, writes };
}

test("socketFromDenoConn: chunks queued together go out as one write, whose buffer is freed once written", async () => {
  const { conn, writes } = recordingConn();
  const sock = socketFromDenoConn(conn);
  const a = new Uint8Array(3000).fill(1);
  const b = new Uint8Array(3000).fill(2);
  markTransient(a);
  const kept = new Uint8Array(10).fill(3); // not transient: the caller may still hold it
  sock.write(kept);
  sock.write(a);
  sock.write(b);
  await new Promise((r) => setTimeout(r, 10));
  // The first write went out alone; the two queued behind it were merged into one.
  assert.equal(writes.length, 2);
  assert.deepEqual([...writes[0]!], [...kept]);
  assert.equal(kept.length, 10, "a chunk that is not transient stays");
  // The merged copy was ours alone: freed (detached) after the write, not left to the GC.
  assert.equal(writes[1]!.byteLength, 0);
  assert.equal(a.byteLength, 0, "the transient chunk copied into the merge is freed");
  assert.equal(b.length, 3000, "an unmarked chunk is left alone");
  sock.destroy();
});
