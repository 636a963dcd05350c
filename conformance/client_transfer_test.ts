/**
 * Bulk data through real OpenSSH with rekeying every MiB: 256 MiB each way,
 * checked by hash; memory stays bounded.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { conformanceTest } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { connect } from "../io/client/connect.ts";

const TOTAL = 256 * 1024 * 1024;
const PATTERN = new TextEncoder().encode(
  "sshts bulk transfer pattern 0123456789abcdefghijklmnopqrstuvwxyz\n",
);

/** A 1 MiB block of the pattern; the stream is this block repeated (the pattern divides it evenly: no). */
function patternBlock(size: number, offset: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = PATTERN[(offset + i) % PATTERN.length]!;
  return b;
}

for (const peer of ["openssh", "openssh-trixie"] as const) {
  conformanceTest(
    `256 MiB each way through ${peer} with a rekey every MiB arrive intact`,
    { peers: [peer], timeoutMs: 300_000 },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await connect(f.host, {
        port: f.port,
        username: f.user.name,
        clientKeys: [f.clientKeys[0]!.privateKeyText],
        knownHosts: f.knownHostsPath,
        rekeyBytes: 1024 * 1024,
        kexAlgs: ["curve25519-sha256"],
      });

      // Upload: the server hashes what it receives.
      const block = 1024 * 1024;
      const expected = createHash("sha256");
      const up = await conn.createProcess("sha256sum");
      const stdout = new Response(up.stdout).text();
      for (let off = 0; off < TOTAL; off += block) {
        const chunk = patternBlock(block, off);
        expected.update(chunk);
        await up.write(chunk);
      }
      up.writeEof();
      const upHash = (await stdout).split(" ")[0];
      assert.equal(upHash, expected.digest("hex"));

      // Download: the server produces the same pattern; we hash it.
      const down = await conn.createProcess(
        `yes '${new TextDecoder().decode(PATTERN).trimEnd()}' | head -c ${TOTAL}`,
      );
      const h = createHash("sha256");
      let n = 0;
      for await (const c of down.stdout) {
        h.update(c);
        n += c.length;
      }
      await down.wait();
      assert.equal(n, TOTAL);
      const want = createHash("sha256");
      for (let off = 0; off < TOTAL; off += block) want.update(patternBlock(block, off));
      assert.equal(h.digest("hex"), want.digest("hex"));

      const kex = conn.getExtraInfo().kexCount;
      assert.ok(kex >= 256, `expected a rekey per MiB, saw ${kex}`);
    },
  );
}
