/** X11 forwarding's client side on a channel: the set-up an X client sends, however it arrives. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SSHStreamConnection } from "../forward/stream.ts";
import { setUpX11Forwarding, type X11Host } from "./x11_forward.ts";

/**
 * A channel whose peer sends `bytes` a byte per message; resolves, when the client closes it,
 * with how many bytes it had read by then.
 */
function trickle(host: X11Host, bytes: Uint8Array): Promise<number> {
  let at = 0;
  const readable = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at < bytes.length) ctl.enqueue(bytes.slice(at, ++at));
      else ctl.close();
    },
  }, { highWaterMark: 0 });
  return new Promise<number>((resolve) => {
    host.onX11Channel!({
      readable,
      writable: new WritableStream(),
      info: {},
      close: () => resolve(at),
    } as unknown as SSHStreamConnection);
  });
}

/** A set-up naming a `n`-byte protocol and cookie (zeros: refused once it is all there). */
function setUp(n: number): Uint8Array {
  const s = new Uint8Array(12 + 2 * ((n + 3) & ~3));
  s.set([0x42, 0, 0, 11, 0, 0, n >> 8, n & 0xff, n >> 8, n & 0xff]);
  return s;
}

test("setUpX11Forwarding() channels take the longest set-up there is a byte per message, and refuse a wrong one", async () => {
  const host: X11Host = { onX11Channel: undefined };
  await setUpX11Forwarding(host, { display: ":0", xauthority: "/nonexistent/.Xauthority" });
  // 65535-byte name and cookie (128 KiB), a byte per message: buffered whole (in linear time:
  // the buffer doubles as it fills, where each byte copied everything so far before), then
  // refused for its protocol, and the channel closed. 64 short ones likewise, at once.
  const long = setUp(0xffff);
  assert.equal(await trickle(host, long), long.length, "refused once the whole set-up was read");
  const short = setUp(1023);
  const reads = await Promise.all(Array.from({ length: 64 }, () => trickle(host, short)));
  assert.deepEqual(new Set(reads), new Set([short.length]));
});
