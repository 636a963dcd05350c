/**
 * ChannelIO.sendEof() while writes still wait for the peer's window: what was written
 * before it goes out, and nothing written after it does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loopback } from "../server/_loopback_test_util.ts";
import { ChannelClosedError } from "./errors.ts";

test("write() after sendEof() is refused while earlier writes still wait", async () => {
  let received = 0;
  let allowRead!: () => void;
  const readAllowed = new Promise<void>((r) => (allowRead = r));
  await using t = await loopback({
    processFactory: async (p) => {
      await readAllowed; // the client's first write waits for the window meanwhile
      for await (const c of p.stdin) received += c.length;
      p.exit(0);
    },
  });
  const p = await t.conn.createProcess("cat");
  const before = new Uint8Array(4 * 1024 * 1024); // more than the window
  const first = p.channel.write(before);
  p.channel.sendEof();
  const late = p.channel.write(new Uint8Array(9));
  allowRead();
  await assert.rejects(late, ChannelClosedError);
  await first;
  assert.equal((await p.wait()).exitStatus, 0);
  assert.equal(received, before.length);
});

test("write() and bufferedWrite() of something not a Uint8Array are TypeErrors, and later writes go on", async () => {
  let received = "";
  await using t = await loopback({
    processFactory: async (p) => {
      for await (const c of p.stdin) received += new TextDecoder().decode(c);
      p.exit(0);
    },
  });
  const p = await t.conn.createProcess("cat");
  p.channel.setWriteBufferLimits({ high: 16 });
  for (const bad of [42, "text", null, [1, 2]]) {
    await assert.rejects(p.channel.write(bad as never), TypeError);
    await assert.rejects(p.channel.bufferedWrite(bad as never), TypeError);
  }
  await p.channel.bufferedWrite(new TextEncoder().encode("still "));
  await p.channel.write(new TextEncoder().encode("fine"));
  p.channel.sendEof();
  assert.equal((await p.wait()).exitStatus, 0);
  assert.equal(received, "still fine");
});
