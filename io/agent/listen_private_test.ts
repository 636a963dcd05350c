/**
 * SSHAgent.listen() serves a socket no one else can reach at any moment: without a path
 * in a new directory of mode 0700 (removed on close); with one, bound in a private
 * directory beside it and linked to the path only once it has its mode.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connectAgent } from "./client.ts";
import { SSHAgent } from "./ssh_agent.ts";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

test("SSHAgent.listen() without a path listens in a new 0700 directory and removes it on close", async () => {
  const agent = new SSHAgent();
  const l = await agent.listen();
  try {
    assert.equal(mode(dirname(l.path)), "700");
    assert.equal(mode(l.path), "600");
    await using client = await connectAgent(l.path);
    assert.deepEqual(await client.listIdentities(), []);
  } finally {
    await l.close();
  }
  assert.equal(existsSync(dirname(l.path)), false);
});

test("SSHAgent.listen(path) gives the socket its mode before it appears and leaves nothing beside it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-agent-listen-"));
  try {
    const path = join(dir, "agent.sock");
    const agent = new SSHAgent();
    const l = await agent.listen(path, { mode: 0o600 });
    assert.equal(l.path, path);
    assert.equal(mode(path), "600");
    assert.deepEqual(readdirSync(dir), ["agent.sock"]);
    {
      await using client = await connectAgent(path);
      assert.deepEqual(await client.listIdentities(), []);
    }
    // A taken path is refused, and the private directory goes too.
    await assert.rejects(agent.listen(path));
    assert.deepEqual(readdirSync(dir), ["agent.sock"]);
    await l.close();
    assert.deepEqual(readdirSync(dir), []);
    // Closing removes only its own socket.
    const l2 = await agent.listen(path);
    rmSync(path);
    writeFileSync(path, "someone else's\n");
    await l2.close();
    assert.equal(existsSync(path), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
