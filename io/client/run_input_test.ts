/**
 * `conn.run(command, { input })` against our own listen() server in the same
 * process: the input is written while the output is read, so a process that
 * answers as it reads (`cat`) never stalls with both channel windows full.
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

const payload = (size: number) => lcgBytes(size, 12345);

async function withCatServer(
  fn: (conn: Awaited<ReturnType<typeof connect>>) => Promise<void>,
): Promise<void> {
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    // `cat`, and `head -c N` (reads N bytes, answers, exits without reading the rest).
    processFactory: async (p) => {
      const head = /^head -c (\d+)$/.exec(p.command ?? "");
      if (!head) {
        await p.stdin.pipeTo(p.stdout);
        p.exit(0);
        return;
      }
      let want = Number(head[1]);
      const reader = p.stdin.getReader();
      while (want > 0) {
        const { value, done } = await reader.read();
        if (done) break;
        const part = value.subarray(0, want);
        want -= part.length;
        await p.write(part);
      }
      p.exit(0);
    },
  });
  try {
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "alice",
      password: "pw",
      knownHosts: null,
    });
    await fn(conn);
  } finally {
    await server.close();
  }
}

test("run() with 16 MiB of input to cat reads the output while it writes", async () => {
  const data = payload(16 * 1024 * 1024);
  await withCatServer(async (conn) => {
    const r = await conn.run("cat", { input: data, encoding: null, check: true, timeout: 60_000 });
    assert.equal(r.stdout.length, data.length);
    assert.equal(sha(r.stdout), sha(data));
  });
});

test("run() returns when the process exits before it read all the input", async () => {
  const data = payload(8 * 1024 * 1024);
  await withCatServer(async (conn) => {
    const r = await conn.run("head -c 1000", {
      input: data,
      encoding: null,
      check: true,
      timeout: 60_000,
    });
    assert.equal(sha(r.stdout), sha(data.subarray(0, 1000)));
  });
});
