import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen } from "./listen.ts";

const hostKeys = [generatePrivateKey("ed25519")];

interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  close(): void;
}
const deno = (globalThis as {
  Deno?: { connect(o: { hostname: string; port: number }): Promise<DenoConn> };
}).Deno;

/**
 * Connects to `port` (with Deno's own API on Deno, as a Deno client would: node:net's
 * connect there did not show the race) and gives a function that later tells whether the
 * server closed the connection, waiting at most `ms` for it.
 */
async function connectRaw(port: number): Promise<(ms: number) => Promise<"closed" | "open">> {
  if (deno) {
    const c = await deno.connect({ hostname: "127.0.0.1", port });
    return async (ms) => {
      const until = Date.now() + ms;
      const buf = new Uint8Array(4096);
      try {
        for (;;) {
          const n = await Promise.race([
            c.read(buf),
            new Promise<"timeout">((r) => setTimeout(() => r("timeout"), until - Date.now())),
          ]);
          if (n === null) return "closed";
          if (n === "timeout") return "open";
        }
      } catch {
        return "closed"; // reset
      } finally {
        try {
          c.close();
        } catch { /* closed */ }
      }
    };
  }
  const s = net.connect(port, "127.0.0.1");
  s.on("error", () => {});
  s.resume();
  await new Promise<void>((r) => s.once("connect", () => r()));
  const closed = new Promise<void>((r) => s.once("close", () => r()));
  return async (ms) => {
    const r = await Promise.race([
      closed.then(() => "closed" as const),
      new Promise<"open">((r) => setTimeout(() => r("open"), ms)),
    ]);
    s.destroy();
    return r;
  };
}

test("a connection made just before close() is not served after close() resolved", async () => {
  // (tcp_server_test.ts stages the race on Deno's accept loop deterministically.)
  for (let i = 0; i < 3; i++) {
    const server = await listen({ host: "127.0.0.1", port: 0, hostKeys, logLevel: "error" });
    const closedWithin = await connectRaw(server.address.port);
    await server.close();
    await new Promise((r) => setTimeout(r, 50)); // an accept Deno had finished lands here
    assert.equal(server.connections, 0, `round ${i}: no connection is served after close()`);
    assert.equal(await closedWithin(5000), "closed", `round ${i}: the socket was closed`);
  }
});

test("listen() fails as node:net does on every runtime: EADDRINUSE naming the address, a bad port", async () => {
  await using first = await listen({ host: "127.0.0.1", port: 0, hostKeys, logLevel: "error" });
  const port = first.address.port;
  await assert.rejects(listen({ host: "127.0.0.1", port, hostKeys }), (e: Error) => {
    assert.equal((e as { code?: string }).code, "EADDRINUSE");
    assert.match(e.message, new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
    return true;
  });
  await assert.rejects(listen({ host: "127.0.0.1", port: 70000, hostKeys }), (e: Error) => {
    assert.ok(e instanceof RangeError, `a RangeError, not ${e.name}`);
    assert.equal((e as { code?: string }).code, "ERR_SOCKET_BAD_PORT");
    return true;
  });
});

test("close({ drain }): no new connection, the open ones finish on their own; close() meanwhile cuts them", async () => {
  const { connect } = await import("../client/connect.ts");
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: async (p) => {
      if (p.command === "wait") await gate;
      await p.write(`done ${p.command}\n`);
    },
  });
  const port = server.address.port;
  const login = () =>
    connect("127.0.0.1", { port, username: "u", password: "p", knownHosts: null, agent: false });
  const a = await login();
  const running = a.run("wait");
  await new Promise((r) => setTimeout(r, 50)); // the command is running
  let drained = false;
  const closing = server.close({ drain: 60_000 }).then(() => (drained = true));
  // Not listening any more; the open connection goes on. (Deno's listener can reset a
  // connection the kernel queued as it closed, rather than have it refused.)
  await assert.rejects(
    login(),
    (e: { code?: string; message?: string }) =>
      e.code === "ERR_CONNECTION_REFUSED" ||
      (e.code === "ERR_CONNECTION_LOST" && /reset/i.test(e.message ?? "")),
  );
  release();
  assert.equal((await running).stdout, "done wait\n");
  assert.equal((await a.run("more")).stdout, "done more\n");
  assert.equal(drained, false, "the connection is still open");
  await a.close();
  await closing; // once the last connection ended
  assert.equal(server.connections, 0);

  // A close() during a drain closes what is left at once.
  const s2 = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: () => new Promise(() => {}),
  });
  const b = await connect("127.0.0.1", {
    port: s2.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
  });
  const hanging = b.run("forever").then(() => "finished", (e: { code?: string }) => e.code);
  await new Promise((r) => setTimeout(r, 50));
  const slow = s2.close({ drain: Infinity });
  await s2.close();
  await slow;
  assert.equal(s2.connections, 0);
  assert.notEqual(await hanging, "finished");
  await assert.rejects(server.close({ drain: -1 }), RangeError);
});

test("listen() warns about a host key file others may read, as sshd refuses one", async () => {
  const { mkdtempSync, rmSync, writeFileSync, chmodSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "sshts-hostkey-"));
  try {
    const path = join(dir, "ssh_host_ed25519_key");
    writeFileSync(path, generatePrivateKey("ed25519").exportPrivateKey("openssh"));
    const warnings = async (mode: number) => {
      chmodSync(path, mode);
      const seen: string[] = [];
      await using _s = await listen({
        host: "127.0.0.1",
        port: 0,
        hostKeys: [path],
        logger: { warn: (m) => void seen.push(m) },
      });
      return seen.filter((m) => m.includes("host key file"));
    };
    assert.deepEqual(await warnings(0o600), []);
    const open = await warnings(0o644);
    assert.equal(open.length, 1);
    assert.match(open[0]!, /readable by others \(mode 644\).*chmod 600/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listen() with another library's name for an option (authorizedKeys, hostKey, ident) is a TypeError naming ours", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { authorizedKeys: "ssh-ed25519 AAAA" },
      /no option authorizedKeys; it is authorizedClientKeys/,
    ],
    [{ hostKey: "/etc/ssh/ssh_host_ed25519_key" }, /no option hostKey; it is hostKeys/],
    [{ ident: "SSH-2.0-x" }, /no option ident; it is serverVersion/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(
      listen({ host: "127.0.0.1", port: 0, hostKeys, ...extra }),
      (e: Error) => e instanceof TypeError && message.test(e.message),
    );
  }
  // A name of the application's own is left alone.
  await using s = await listen({ host: "127.0.0.1", port: 0, hostKeys, ...{ tenant: "acme" } });
  assert.ok(s.address.port > 0);
});
