/**
 * Jump hosts through real OpenSSH: `connect(host, { tunnel })` runs a new SSH
 * connection inside a direct-tcpip channel. A chain of three connections over
 * two sshd fixtures (9.2 → 10.x → 9.2 again) runs commands and carries data at
 * the far end; closing an inner connection leaves the outer one up, and losing
 * the outer one ends the inner ones.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { conformanceTest } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { login } from "./client_peer.ts";
import { SSHError } from "../core/errors.ts";

conformanceTest(
  "connect({ tunnel }) chains through two sshd fixtures and back",
  { peers: ["openssh", "openssh-trixie"] },
  async () => {
    const a = await sharedPeer("openssh");
    const b = await sharedPeer("openssh-trixie");
    const first = await login(a);
    // Hop 1: through a (9.2) to b (10.x). The host names are resolved by the jump host.
    const second = await login(b, { tunnel: first });
    // Hop 2: through b back to a: three SSH connections nested in one TCP connection.
    const third = await login(a, { tunnel: second });
    try {
      assert.match(
        (await second.run("echo $SSH_CONNECTION", { check: true })).stdout,
        /^127\.0\.0\.1 /,
      );
      const versions = [first, second, third].map((c) => c.getExtraInfo().serverVersion);
      assert.ok(versions[1]!.includes("OpenSSH_10"), versions.join(" | "));
      assert.ok(!versions[2]!.includes("OpenSSH_10"), versions.join(" | "));
      // 8 MiB through a cat at the far end: flow control holds in every layer.
      const p = await third.createProcess("sha256sum");
      const data = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
      await p.write(data);
      p.writeEof();
      const r = await p.wait();
      assert.equal(
        new TextDecoder().decode(r.stdout as Uint8Array).split(" ")[0],
        createHash("sha256").update(data).digest("hex"),
      );
      // Closing the innermost leaves the others working.
      await third.close();
      assert.equal((await second.run("echo still here")).stdout, "still here\n");
    } finally {
      await third.close();
      await second.close();
      await first.close();
    }
  },
);

conformanceTest(
  "connect({ tunnel }) connections end when the jump host connection is lost",
  { peers: ["openssh", "openssh-trixie"] },
  async () => {
    const a = await sharedPeer("openssh");
    const b = await sharedPeer("openssh-trixie");
    const first = await login(a);
    const second = await login(b, { tunnel: first });
    first.abort();
    await second.closed;
    assert.ok(second.closeError instanceof SSHError, "the inner connection reports why it ended");
    await assert.rejects(second.run("true"));
    // An unreachable next hop is a channel open failure, not a hang.
    const jump = await login(a);
    try {
      await assert.rejects(login(b, { tunnel: jump, port: 1 }), /Channel open refused/);
    } finally {
      await jump.close();
    }
  },
);
