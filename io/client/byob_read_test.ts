/**
 * A process's output read with a BYOB reader, against our own listen(): every byte
 * arrives, in order, in the reader's own reused buffer, across many channel packets and
 * window adjustments; default readers and `Response` still read the same streams.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "./connect.ts";
import { listen } from "../server/listen.ts";
import { lcgBytes } from "../../core/testing/fixtures.ts";

const hostKey = generatePrivateKey("ed25519");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const DATA = lcgBytes(3 * 1024 * 1024 + 17, 777);

async function withServer(fn: (conn: Awaited<ReturnType<typeof connect>>) => Promise<void>) {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: async (p) => {
      // Uneven writes, so packets and reads never line up.
      for (let at = 0, step = 1; at < DATA.length; at += step, step = (step * 7 + 3) % 70_000 + 1) {
        await p.write(DATA.subarray(at, Math.min(DATA.length, at + step)));
      }
      await p.writeStderr("done\n");
      p.exit(0);
    },
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
    config: false,
  });
  await fn(conn);
}

test("stdout read with a BYOB reader: every byte, in the reader's reused buffer", async () => {
  await withServer(async (conn) => {
    const p = await conn.createProcess("send");
    const errText = new Response(p.stderr).text();
    const reader = p.stdout.getReader({ mode: "byob" });
    const got = new Uint8Array(DATA.length);
    let n = 0;
    let reads = 0;
    let buf = new Uint8Array(10_000);
    const memory = buf.buffer;
    for (;;) {
      const { done, value } = await reader.read(buf);
      if (done) break;
      assert.ok(value.byteLength <= 10_000);
      assert.equal(value.buffer.byteLength, 10_000, "the reader's own buffer comes back");
      got.set(value, n);
      n += value.length;
      reads++;
      buf = new Uint8Array(value.buffer);
    }
    assert.equal(memory.byteLength, 0, "the first buffer was handed over (BYOB transfers it)");
    assert.equal(n, DATA.length);
    assert.equal(sha(got), sha(DATA));
    assert.ok(reads >= DATA.length / 10_000);
    assert.equal(await errText, "done\n");
    await p.waitClosed();
    assert.equal(p.exitStatus, 0);
  });
});

test("stdout read whole through Response and with a default reader", async () => {
  await withServer(async (conn) => {
    const a = await conn.createProcess("send");
    void new Response(a.stderr).text();
    const whole = new Uint8Array(await new Response(a.stdout).arrayBuffer());
    assert.equal(sha(whole), sha(DATA));
    const b = await conn.createProcess("send");
    void new Response(b.stderr).text();
    const chunks: Uint8Array[] = [];
    for await (const c of b.stdout) chunks.push(c);
    const joined = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let at = 0;
    for (const c of chunks) joined.set(c, (at += c.length) - c.length);
    assert.equal(sha(joined), sha(DATA));
  });
});
