/** The Deno adapter's read buffer follows the traffic: small while idle, large for bulk. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DENO_READ_MIN_SIZE, DENO_READ_SIZE } from "../limits.ts";
import { nextReadSize } from "./deno_socket.ts";

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
