/**
 * run() as a whole: its timeout covers opening the session and starting the command (a
 * server that stopped answering held it there for good), a misused redirection runs
 * nothing, and `stderr: STDOUT` without a stdout target merges stderr into the collected
 * stdout, as AsyncSSH's run(stderr=STDOUT).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loopback } from "../server/_loopback_test_util.ts";
import { ProcessDisconnectedError, ProcessTimeoutError } from "./errors.ts";
import { DisconnectError } from "../../core/errors.ts";
import { STDOUT } from "./redirect.ts";

test("run({ timeout }) covers a session the server never answers, and a command it never starts", async () => {
  const never = new Promise<never>(() => {});
  for (const hooks of [{ sessionRequested: () => never }, { processRequested: () => never }]) {
    await using lb = await loopback({ ...hooks, processFactory: (p) => p.write("ran\n") });
    const t0 = performance.now();
    const e = await lb.conn.run("make", { timeout: 200 }).then(() => undefined, (e) => e);
    assert.ok(e instanceof ProcessTimeoutError, String(e));
    assert.match(e.message, /"make" did not finish within 200 ms/);
    assert.ok(performance.now() - t0 < 5_000);
  }
});

test("run({ timeout }): the command's part is what is left, said with the whole timeout", async () => {
  await using lb = await loopback({
    processFactory: async (p) => {
      await p.write("partial\n");
      for await (const _ of p.events); // as `sleep 10`, until the client goes
    },
  });
  const e = await lb.conn.run("sleep 10", { timeout: 300 }).then(() => undefined, (e) => e);
  assert.ok(e instanceof ProcessTimeoutError, String(e));
  assert.match(e.message, /within 300 ms/);
  assert.equal(e.stdout, "partial\n");
});

test("run(cmd, { stderr: STDOUT }) merges stderr into stdout, as AsyncSSH's run()", async () => {
  await using lb = await loopback({
    processFactory: async (p) => {
      await p.write("a\n");
      await p.writeStderr("b\n");
      await p.write("c\n");
    },
  });
  const r = await lb.conn.run("x", { stderr: STDOUT });
  assert.deepEqual([...r.stdout].sort().join(""), "\n\n\nabc");
  assert.equal(r.stdout.length, 6);
  assert.equal(r.stderr, "");
  // createProcess too: p.stdout carries both.
  const p = await lb.conn.createProcess("x", { stderr: STDOUT, encoding: "utf-8" });
  let all = "";
  for await (const c of p.stdout) all += c;
  assert.deepEqual([...all].sort().join(""), "\n\n\nabc");
});

test("a redirection that cannot be used is refused before the session opens: nothing runs", async () => {
  const ran: string[] = [];
  await using lb = await loopback({ processFactory: (p) => void ran.push(p.command ?? "") });
  const locked = new WritableStream<Uint8Array>();
  locked.getWriter();
  await assert.rejects(lb.conn.run("touch marker", { stdout: locked }), TypeError);
  await assert.rejects(
    lb.conn.run("touch marker", { stdout: "/tmp/x", stderr: {} as never }),
    TypeError,
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ran, []);
});

test("run() cut by a lost connection: the DisconnectError carries the output read until then", async () => {
  await using lb = await loopback({
    processFactory: async (p) => {
      await p.write("started\n");
      await p.writeStderr("warming up\n");
      await new Promise((r) => setTimeout(r, 100));
      void lb.server.close(); // the server goes mid-command
      await new Promise(() => {});
    },
  });
  const e = await lb.conn.run("deploy").then(() => undefined, (e) => e);
  assert.ok(e instanceof ProcessDisconnectedError, String(e));
  assert.ok(e instanceof DisconnectError);
  assert.equal(e.code, "ERR_PEER_DISCONNECTED");
  assert.equal(e.stdout, "started\n");
  assert.equal(e.stderr, "warming up\n");
  assert.equal(e.command, "deploy");
  assert.ok(e.cause instanceof DisconnectError);
});

test("stderr: STDOUT with an encoding merges whole characters: one cut between packets stays whole", async () => {
  await using lb = await loopback({
    processFactory: async (p) => {
      await p.write(new Uint8Array([0x63, 0x61, 0x66, 0xc3])); // "caf" and half of "é"
      await new Promise((r) => setTimeout(r, 20));
      await p.writeStderr("warn\n");
      await new Promise((r) => setTimeout(r, 20));
      await p.write(new Uint8Array([0xa9, 0x0a])); // the other half, "\n"
    },
  });
  const r = await lb.conn.run("x", { stderr: STDOUT });
  assert.ok(!r.stdout.includes("\uFFFD"), JSON.stringify(r.stdout));
  assert.equal(r.stdout.replace("warn\n", ""), "café\n");
  const s = await lb.conn.run("x", { stderr: STDOUT, errors: "strict" });
  assert.equal(s.stdout.replace("warn\n", ""), "café\n");
  // A signal name with a NUL: a rejected promise, never a synchronous throw.
  const p = await lb.conn.createProcess("y");
  const sent = p.signal("TE\0RM");
  await assert.rejects(sent, RangeError);
  await p.wait();
});
