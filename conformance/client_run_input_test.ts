/**
 * `run("cat", { input })` with 16 MiB against real servers (OpenSSH 9.2, 10.x and
 * Dropbear), hash-checked: run() reads the output while it writes the input, so the
 * two channel windows filling up cannot stall it. The same against our own
 * listen() is io/client/run_input_test.ts. And `cat`'s output read with a BYOB reader
 * (the reader's own reused buffer; io/client/byob_read_test.ts against our server).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sharedPeer } from "./_shared_peer.ts";
import { fastCipher, login, OPENSSH_PEERS } from "./client_peer.ts";
import { conformanceTest, type PeerName } from "./fixtures/mod.ts";
import { lcgBytes } from "../core/testing/fixtures.ts";

const SIZE = 16 * 1024 * 1024;

const payload = (size: number) => lcgBytes(size, 777);

/** Logs in to `peer` with the fastest cipher it has (Dropbear: its default). */
async function loginTo(peer: PeerName) {
  return login(
    await sharedPeer(peer),
    peer === "dropbear" ? {} : { encryptionAlgs: [fastCipher()] },
  );
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

for (const peer of [...OPENSSH_PEERS, "dropbear"] as PeerName[]) {
  conformanceTest(
    `run("cat") on ${peer} echoes 16 MiB of input, hash-checked`,
    { peers: [peer] },
    async () => {
      const data = payload(SIZE);
      await using conn = await loginTo(peer);
      const r = await conn.run("cat", {
        input: data,
        encoding: null,
        check: true,
        timeout: 120_000,
      });
      assert.equal(r.stdout.length, SIZE);
      assert.equal(sha(r.stdout), sha(data));
    },
  );
}

for (const peer of [...OPENSSH_PEERS, "dropbear"] as PeerName[]) {
  conformanceTest(
    `"cat" on ${peer}: 16 MiB of output read with a BYOB reader, hash-checked`,
    { peers: [peer] },
    async () => {
      const data = payload(SIZE);
      await using conn = await loginTo(peer);
      const p = await conn.createProcess("cat");
      const writing = (async () => {
        const w = p.stdin.getWriter();
        for (let at = 0; at < SIZE; at += 100_000) await w.write(data.subarray(at, at + 100_000));
        await w.close();
      })();
      const reader = p.stdout.getReader({ mode: "byob" });
      const got = new Uint8Array(SIZE);
      let n = 0;
      let buf = new Uint8Array(64 * 1024);
      for (;;) {
        const { done, value } = await reader.read(buf);
        if (done) break;
        assert.ok(n + value.length <= SIZE, "no more bytes than were sent");
        got.set(value, n);
        n += value.length;
        buf = new Uint8Array(value.buffer);
      }
      await writing;
      await p.waitClosed();
      assert.equal(n, SIZE);
      assert.equal(sha(got), sha(data));
    },
  );
}
