/**
 * `run("cat", { input })` with 16 MiB against real servers (OpenSSH 9.2, 10.x and
 * Dropbear), hash-checked: run() reads the output while it writes the input, so the
 * two channel windows filling up cannot stall it. The same against our own
 * listen() is io/client/run_input_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sharedPeer } from "./_shared_peer.ts";
import { fastCipher, login, OPENSSH_PEERS } from "./client_peer.ts";
import { conformanceTest, type PeerName } from "./fixtures/mod.ts";

const SIZE = 16 * 1024 * 1024;

function payload(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let s = 777;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

for (const peer of [...OPENSSH_PEERS, "dropbear"] as PeerName[]) {
  conformanceTest(
    `run("cat") on ${peer} echoes 16 MiB of input, hash-checked`,
    { peers: [peer] },
    async () => {
      const data = payload(SIZE);
      await using conn = await login(
        await sharedPeer(peer),
        peer === "dropbear" ? {} : { encryptionAlgs: [fastCipher()] },
      );
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
