/**
 * The server's remote-forward listeners (`ssh -R`) end with their connection: a
 * tcpip-forward or streamlocal-forward still being decided by the hook, or still being
 * bound, when the connection closes is refused and leaves no listener behind. One
 * connection holds at most `maxRemoteForwards` of them (default 64), counting those
 * still being decided; one more is refused and logged, and the hook is not asked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SSHWriter } from "../../core/wire.ts";
import { Log } from "../engine/logger.ts";
import { loopback } from "./_loopback_test_util.ts";
import { ChannelOpenError } from "../engine/errors.ts";
import { DEFAULT_MAX_REMOTE_FORWARDS } from "../limits.ts";
import { RemoteListeners } from "../forward/server_listeners.ts";
import type { ServerConnectionContext } from "./context.ts";
import { ServerForwarding } from "./forwarding.ts";
import type { ServerHooks } from "./options.ts";
import { type ConnectionPermissions, UNRESTRICTED } from "./permissions.ts";

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port });
    c.on("connect", () => (c.destroy(), resolve(true)));
    c.on("error", () => resolve(false));
  });
}

/**
 * Forwarding whose hooks wait for `gate` before allowing (and count in `asked` how often
 * they were asked); `log` collects its log lines.
 */
function forwardingWithGate(
  gate: Promise<void>,
  { log = [], asked = { n: 0 }, maxListeners }: {
    log?: string[];
    asked?: { n: number };
    maxListeners?: number;
  } = {},
) {
  const hooks: ServerHooks = {
    serverRequested: async () => (asked.n++, await gate, true),
    unixServerRequested: async () => (asked.n++, await gate, true),
  };
  const permissions: ConnectionPermissions = UNRESTRICTED;
  return new ServerForwarding(
    {
      conn: {} as ServerConnectionContext,
      hook: (name) => hooks[name],
      permissions: () => permissions,
      accept: () => undefined,
      log: new Log({ info: (m) => log.push(m) }, "info", ""),
    },
    () => Promise.reject(new Error("no client")),
    maxListeners === undefined ? { gatewayPorts: false } : { gatewayPorts: false, maxListeners },
  );
}

const tcpipForward = (port: number) =>
  new SSHWriter().writeStringUtf8("127.0.0.1").writeUint32(port).toBytes();
const streamlocalForward = (path: string) => new SSHWriter().writeStringUtf8(path).toBytes();

test("ServerForwarding refuses a remote forward whose connection closed while the hook decided", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-fwd-leak-"));
  try {
    const path = join(dir, "fwd.sock");
    const port = await freePort();
    let open!: () => void;
    const fwd = forwardingWithGate(new Promise<void>((r) => (open = r)));
    const tcp = fwd.globalRequest("tcpip-forward", tcpipForward(port));
    const unix = fwd.globalRequest("streamlocal-forward@openssh.com", streamlocalForward(path));
    fwd.closeAll();
    open();
    const replies = await Promise.allSettled([tcp, unix]);
    for (const r of replies) assert.ok(r.status === "rejected" || !r.value.ok, "request granted");
    assert.equal(fwd.listenerCount, 0);
    assert.equal(await canConnect(port), false, `127.0.0.1:${port} is still listening`);
    assert.equal(existsSync(path), false, `${path} is still there`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("RemoteListeners closes a listener bound after closeAll() and fails its listen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-fwd-leak-"));
  try {
    const path = join(dir, "fwd.sock");
    const port = await freePort();
    const listeners = new RemoteListeners(() => Promise.reject(new Error("no client")), {
      gatewayPorts: false,
    });
    // Both listens are under way (binding) when the connection closes.
    const tcp = listeners.listenTcp("127.0.0.1", port);
    const unix = listeners.listenUnix(path);
    listeners.closeAll();
    await assert.rejects(tcp, /connection closed/);
    await assert.rejects(unix, /connection closed/);
    assert.equal(listeners.size, 0);
    assert.equal(await canConnect(port), false, `127.0.0.1:${port} is still listening`);
    assert.equal(existsSync(path), false, `${path} is still there`);
    // And none is bound after it.
    await assert.rejects(listeners.listenTcp("127.0.0.1", 0), /connection is closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ServerForwarding holds at most maxListeners remote forwards, counting those the hook decides", async () => {
  const log: string[] = [];
  const asked = { n: 0 };
  let open!: () => void;
  const fwd = forwardingWithGate(new Promise<void>((r) => (open = r)), {
    log,
    asked,
    maxListeners: 2,
  });
  try {
    // Three asked at once, while the hook has answered none: the third is refused at once.
    const replies = [0, 1, 2].map(() => fwd.globalRequest("tcpip-forward", tcpipForward(0)));
    assert.deepEqual(await replies[2], { ok: false });
    assert.equal(asked.n, 2, "the hook was asked beyond the cap");
    assert.match(
      log.join("\n"),
      /refused tcpip-forward .*holds 2 remote forwards.*maxRemoteForwards/,
    );
    open();
    const granted = await Promise.all(replies.slice(0, 2));
    assert.deepEqual(granted.map((r) => r.ok), [true, true]);
    assert.equal(fwd.listenerCount, 2);
    assert.deepEqual(await fwd.globalRequest("tcpip-forward", tcpipForward(0)), { ok: false });
    // A cancelled forward gives its place back.
    const port = new DataView(granted[0]!.data!.buffer).getUint32(0);
    assert.deepEqual(await fwd.globalRequest("cancel-tcpip-forward", tcpipForward(port)), {
      ok: true,
    });
    assert.equal((await fwd.globalRequest("tcpip-forward", tcpipForward(0))).ok, true);
  } finally {
    fwd.closeAll();
  }
});

test("RemoteListeners holds 64 listeners by default", () => {
  const listeners = new RemoteListeners(() => Promise.reject(new Error("no client")), {
    gatewayPorts: false,
  });
  assert.equal(DEFAULT_MAX_REMOTE_FORWARDS, 64);
  assert.equal(listeners.max, DEFAULT_MAX_REMOTE_FORWARDS);
  for (let i = 0; i < 64; i++) assert.ok(listeners.reserve());
  assert.equal(listeners.reserve(), false);
  listeners.release();
  assert.ok(listeners.reserve());
});

test("listen() refuses a remote forward beyond maxRemoteForwards and logs why", async () => {
  const log: string[] = [];
  await using lo = await loopback({
    serverRequested: () => true,
    maxRemoteForwards: 2,
    logger: { info: (m) => log.push(m) },
  });
  const forward = () =>
    lo.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9 });
  await forward();
  await forward();
  await assert.rejects(forward());
  assert.match(log.join("\n"), /maxRemoteForwards/);
});

test("remote forwards to ports below 1024 are refused unless allowPrivilegedPorts", async () => {
  for (const allowPrivilegedPorts of [false, true]) {
    const log: string[] = [];
    const asked: number[] = [];
    await using lo = await loopback({
      serverRequested: (_host, port) => {
        asked.push(port);
        return true;
      },
      allowPrivilegedPorts,
      logger: { info: (m) => log.push(m) },
    });
    const forward = lo.conn.forwardRemotePort({
      listenPort: 1023,
      destHost: "127.0.0.1",
      destPort: 9,
    });
    if (allowPrivilegedPorts) {
      // Granted where this process may bind it (tests run as root in CI), else refused by
      // the system, after the hook.
      await forward.then((l) => l.close(), () => {});
      assert.deepEqual(asked, [1023]);
    } else {
      // The hook is asked (it may serve the forward itself, binding nothing: see
      // mod_virtual_forward_test.ts); its "true", a bind, is refused.
      await assert.rejects(forward);
      assert.deepEqual(asked, [1023]);
      assert.match(log.join("\n"), /privileged port 1023/);
    }
  }
});

test("direct-tcpip with no host or no TCP port is refused before the hook is asked", async () => {
  const asked: string[] = [];
  await using lo = await loopback({
    connectionRequested: (host, port) => {
      asked.push(`${host}:${port}`);
      return host !== "localhost" && host !== "127.0.0.1" && host !== "::1"; // a deny-list
    },
  });
  // "" would be localhost to node:net, where sshd's resolver fails.
  for (const [host, port] of [["", 22], ["127.0.0.2", 0], ["127.0.0.2", 70_000]] as const) {
    // Written by hand: encodeTcpipOpen() refuses a port above 65535 itself.
    const data = new SSHWriter().writeStringUtf8(host).writeUint32(port)
      .writeStringUtf8("127.0.0.1").writeUint32(1).toBytes();
    await assert.rejects(
      lo.conn.openChannel("direct-tcpip", data),
      ChannelOpenError,
      `${host}:${port}`,
    );
  }
  assert.deepEqual(asked, []);
});
