/**
 * Processes whose set-up, output or peer fails: what must not crash the program (an
 * unhandled rejection ends a Node process), leak a session, or throw where a promise
 * was promised.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { listen } from "../server/listen.ts";
import { connect } from "./connect.ts";
import { ProcessTimeoutError } from "./errors.ts";
import { unhandledRejections } from "../_unhandled_test_util.ts";

const hostKey = generatePrivateKey("ed25519");

test("a redirect to a file that cannot be opened is the process's error, not the program's end", async () => {
  const seen = await unhandledRejections(async () => {
    await using t = await loopback({
      processFactory: async (p) => {
        await new Promise((r) => setTimeout(r, 100));
        await p.write("late\n");
      },
    });
    const p = await t.conn.createProcess("x", { stdout: "/nonexistent-dir/out.txt" });
    // The output had nowhere to go: wait() says so rather than report a clean end.
    await assert.rejects(p.wait(), /ENOENT|no such/i);
    const q = await t.conn.createProcess("x");
    await assert.rejects(q.redirect({ stdout: "/nonexistent-dir/out.txt" }), /ENOENT|no such/i);
  });
  assert.deepEqual(seen, []);
});

test("collectOutput() polled without wait() survives a dropped connection", async () => {
  const seen = await unhandledRejections(async () => {
    await using s = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      validatePassword: () => true,
      processFactory: async (p) => {
        await p.write("progress 1\n");
        await p.channel.closedPromise;
      },
    });
    let down: net.Socket | undefined;
    const proxy = net.createServer((c) => {
      const up = net.connect(s.address.port, "127.0.0.1");
      down = c;
      c.pipe(up).pipe(c);
      c.on("error", () => {});
      up.on("error", () => {});
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    try {
      const conn = await connect("127.0.0.1", {
        port: (proxy.address() as net.AddressInfo).port,
        username: "u",
        password: "p",
        knownHosts: null,
        clientKeys: [],
        config: false,
      });
      const p = await conn.createProcess("make", { encoding: "utf-8" });
      for (let i = 0; i < 50 && p.collectOutput().stdout === ""; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(p.collectOutput().stdout, "progress 1\n");
      down!.destroy(); // the network drops, and nobody waits on the process
      await conn.closed;
    } finally {
      proxy.close();
    }
  });
  assert.deepEqual(seen, []);
});

test("createProcess() that fails its set-up closes the session it opened", async () => {
  await using t = await loopback({ processFactory: (p) => p.write("ok\n") });
  for (let i = 0; i < 12; i++) {
    await assert.rejects(t.conn.createProcess("x", { encoding: "no-such-encoding" as "utf-8" }));
  }
  // Twelve failures did not use up the server's ten sessions.
  assert.equal((await t.conn.run("x")).stdout, "ok\n");
});

test("kill(), changeTerminalSize() and sendBreak() after close() resolve false, never throw", async () => {
  await using t = await loopback({ processFactory: () => new Promise(() => {}) });
  const p = await t.conn.createProcess("x");
  p.close();
  assert.equal(await p.kill(), false);
  assert.equal(await p.changeTerminalSize({ columns: 80, rows: 24 }), false);
  assert.equal(await p.sendBreak(100), false);
});

test("a timeout with errors: 'strict' is a ProcessTimeoutError even when output stops mid-character", async () => {
  await using t = await loopback({
    processFactory: async (p) => {
      await p.write(new Uint8Array([0x68, 0x69, 0xe2, 0x82])); // "hi" and half a "€"
      await new Promise(() => {});
    },
  });
  await assert.rejects(
    t.conn.run("x", { timeout: 200, errors: "strict" }),
    (e: unknown) => e instanceof ProcessTimeoutError && e.stdout === "hi",
  );
});

test("a timeout with errors: 'strict' is a ProcessTimeoutError even when output is not UTF-8", async () => {
  await using t = await loopback({
    processFactory: async (p) => {
      await p.write(new Uint8Array([0x61, 0xff, 0x62])); // "a", a byte UTF-8 never has, "b"
      await new Promise(() => {});
    },
  });
  await assert.rejects(
    t.conn.run("x", { timeout: 200, errors: "strict" }),
    (e: unknown) => e instanceof ProcessTimeoutError && e.stdout === "a\ufffdb",
  );
});

test("a session callback that throws is reported, and does not end the program", async () => {
  const lost: (Error | undefined)[] = [];
  const seen = await unhandledRejections(async () => {
    await using t = await loopback({ processFactory: (p) => p.write("hi\n") });
    const { channel } = await t.conn.createSession({
      eofReceived: () => {
        throw new Error("bug in eofReceived");
      },
      connectionLost: (e) => {
        lost.push(e);
        throw new Error("bug in connectionLost");
      },
    }, "x");
    await channel.closedPromise;
  });
  assert.deepEqual(seen, []);
  assert.equal(lost[0]?.message, "bug in eofReceived");
});

test("a connection lost while a session, SFTP start or remote forward waits is not a refusal", async () => {
  const lost = (e: unknown) => {
    assert.equal((e as { code?: string }).code, "ERR_CONNECTION_LOST", String(e));
    assert.doesNotMatch(String(e), /refused/);
    return true;
  };
  const abortOnRequest = {
    processRequested: (_req: unknown, conn: { abort(): void }) => {
      conn.abort();
      return true;
    },
    processFactory: () => {},
  };
  {
    await using t = await loopback(abortOnRequest as never);
    await assert.rejects(t.conn.createProcess("x"), lost);
  }
  {
    await using t = await loopback({ ...abortOnRequest, sftp: { root: "/tmp" } } as never);
    await assert.rejects(t.conn.startSftp(), lost);
  }
  {
    let server: { abort(): void } | undefined;
    await using t = await loopback({
      serverFactory: (c: { abort(): void }) => {
        server = c;
        return {};
      },
      serverRequested: () => {
        server!.abort();
        return true;
      },
    } as never);
    await assert.rejects(
      t.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 1 }),
      lost,
    );
  }
});

test("methods that promise a promise reject it on a closed connection instead of throwing", async () => {
  const t = await loopback({ processFactory: () => {} });
  await t.conn.close();
  let session: Promise<unknown> | undefined;
  let request: Promise<unknown> | undefined;
  assert.doesNotThrow(() => void (session = t.conn.openSession()));
  assert.doesNotThrow(() => void (request = t.conn.globalRequest("keepalive@openssh.com")));
  await assert.rejects(session!, /closed/i);
  await assert.rejects(request!, /closed/i);
  await t.server.close();
});
