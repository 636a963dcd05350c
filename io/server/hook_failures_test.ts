/**
 * An application hook that throws or rejects is refused to the client (and the server goes
 * on), and logged as a warning with its error: a bug in a hook must not look like a policy
 * refusal in the operator's log. The same for an SFTP backend that throws something that is
 * no SFTPError (the client gets only "Failure").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { loopback } from "./_loopback_test_util.ts";

function warnings(): { logger: { warn: (m: string) => void }; lines: string[] } {
  const lines: string[] = [];
  return { logger: { warn: (m) => lines.push(m) }, lines };
}

/** Waits a moment for log lines written after the client's answer. */
const settle = () => new Promise((r) => setTimeout(r, 50));

test("a sessionRequested hook that throws: the session is refused, the error logged", async () => {
  const w = warnings();
  await using t = await loopback({
    logger: w.logger,
    sessionRequested: () => {
      throw new Error("session hook bug");
    },
  });
  await assert.rejects(t.conn.run("true"), /could not open the session channel/);
  await settle();
  assert.match(w.lines.join("\n"), /opening a session channel failed: Error: session hook bug/);
});

test("processRequested, authCompleted and connectionLost hooks that reject are logged", async () => {
  const w = warnings();
  {
    await using t = await loopback({
      logger: w.logger,
      processRequested: () => Promise.reject(new Error("process hook bug")),
      authCompleted: () => Promise.reject(new Error("auth hook bug")),
      connectionLost: () => {
        throw new Error("lost hook bug");
      },
      processFactory: (p) => p.exit(0),
    });
    const r = await t.conn.run("true").then(() => "ran", (e) => String(e));
    assert.notEqual(r, "ran");
  }
  await settle();
  const log = w.lines.join("\n");
  assert.match(log, /the processRequested hook failed: Error: process hook bug/);
  assert.match(log, /the authCompleted hook failed: Error: auth hook bug/);
  assert.match(log, /the connectionLost hook failed: Error: lost hook bug/);
});

test("a serverRequested hook that throws: the forward is refused, the error logged", async () => {
  const w = warnings();
  await using t = await loopback({
    logger: w.logger,
    serverRequested: () => {
      throw new Error("forward hook bug");
    },
  });
  await assert.rejects(
    t.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9 }),
  );
  await settle();
  assert.match(w.lines.join("\n"), /tcpip-forward request's hook failed: Error: forward hook bug/);
});

test("an SFTP backend that throws a plain Error: the client gets Failure, the log the error", async () => {
  class Buggy extends MemoryBackend {
    override stat(): never {
      throw new TypeError("backend bug");
    }
  }
  const w = warnings();
  await using t = await loopback({ logger: w.logger, sftp: { backend: new Buggy() } });
  await using sftp = await t.conn.startSftp();
  const e = await sftp.stat("/x").then(() => undefined, (e) => e);
  assert.ok(e instanceof SFTPError);
  assert.doesNotMatch(e.message, /backend bug/); // the client is told no more than "Failure"
  await settle();
  assert.match(w.lines.join("\n"), /sftp: the backend failed on stat .*TypeError: backend bug/s);
});

test("connectionLost gets no error when this side closed (conn.close(), server.close()); the client the reason", async () => {
  for (const how of ["conn", "server"] as const) {
    const lost: unknown[] = [];
    const t = await loopback({ connectionLost: (_c, e) => void lost.push(e) });
    const [conn] = t.server.getConnections();
    const gone = t.conn.closed.then(() => undefined);
    if (how === "conn") await conn!.close();
    else await t.server.close();
    await gone;
    assert.deepEqual(lost, [undefined], how);
    // The client is told which: one connection closed, or the whole server going away.
    assert.match(
      String(t.conn.closeError?.message),
      how === "conn" ? /Disconnected by application/ : /Server shutting down/,
    );
    await t[Symbol.asyncDispose]();
  }
});
