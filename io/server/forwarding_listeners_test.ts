/**
 * The server's remote-forward listeners (`ssh -R`) end with their connection: a
 * tcpip-forward or streamlocal-forward still being decided by the hook, or still being
 * bound, when the connection closes is refused and leaves no listener behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SSHWriter } from "../../core/wire.ts";
import { Log } from "../engine/logger.ts";
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

/** Forwarding whose hooks wait for `gate` before allowing; `log` collects its log lines. */
function forwardingWithGate(gate: Promise<void>, log: string[] = []) {
  const hooks: ServerHooks = {
    serverRequested: async () => (await gate, true),
    unixServerRequested: async () => (await gate, true),
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
    false,
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
    const listeners = new RemoteListeners(() => Promise.reject(new Error("no client")), false);
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
