/**
 * Which addresses a remote forward's listener binds, as OpenSSH's sshd: "localhost" (and,
 * without gatewayPorts, any request) means both loopback addresses, an explicit 127.0.0.1 or
 * ::1 only itself, and with gatewayPorts "" means both families' wildcards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { RemoteListeners } from "./server_listeners.ts";

/** Whether a TCP connection to host:port is accepted. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

const listeners = (gatewayPorts: boolean) =>
  new RemoteListeners(() => Promise.reject(new Error("no client")), { gatewayPorts });

test("RemoteListeners: a forward for localhost listens on 127.0.0.1 and ::1, on one port", async () => {
  const l = listeners(false);
  try {
    const port = await l.listenTcp("localhost", 0);
    assert.equal(await canConnect("127.0.0.1", port), true);
    assert.equal(await canConnect("::1", port), true, "a client of ::1 reaches the forward");
    assert.equal(l.cancelTcp("localhost", port), true);
    assert.equal(await canConnect("127.0.0.1", port), false);
    assert.equal(await canConnect("::1", port), false, "cancelling closes every address");
  } finally {
    l.closeAll();
  }
});

test("RemoteListeners: without gatewayPorts any address means loopback; 127.0.0.1 or ::1 only itself", () => {
  const l = listeners(false);
  assert.deepEqual(l.bindAddresses(""), ["127.0.0.1", "::1"]);
  assert.deepEqual(l.bindAddresses("0.0.0.0"), ["127.0.0.1", "::1"]);
  assert.deepEqual(l.bindAddresses("192.0.2.1"), ["127.0.0.1", "::1"]);
  assert.deepEqual(l.bindAddresses("127.0.0.1"), ["127.0.0.1"]);
  assert.deepEqual(l.bindAddresses("::1"), ["::1"]);
  const g = listeners(true);
  assert.deepEqual(g.bindAddresses("localhost"), ["127.0.0.1", "::1"]);
  assert.deepEqual(g.bindAddresses("*"), ["::", "0.0.0.0"]);
  assert.deepEqual(g.bindAddresses("0.0.0.0"), ["0.0.0.0"]);
  assert.deepEqual(g.bindAddresses("192.0.2.1"), ["192.0.2.1"]);
});

test("RemoteListeners: an explicit 127.0.0.1 does not listen on ::1", async () => {
  const l = listeners(false);
  try {
    const port = await l.listenTcp("127.0.0.1", 0);
    assert.equal(await canConnect("127.0.0.1", port), true);
    assert.equal(await canConnect("::1", port), false);
  } finally {
    l.closeAll();
  }
});

test("RemoteListeners: with gatewayPorts an empty address listens on both families", async () => {
  const l = listeners(true);
  try {
    const port = await l.listenTcp("", 0);
    assert.equal(await canConnect("127.0.0.1", port), true);
    assert.equal(await canConnect("::1", port), true);
  } finally {
    l.closeAll();
  }
});

test("RemoteListeners: a port taken on 127.0.0.1 fails the forward and leaves nothing bound", async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as net.AddressInfo).port;
  const l = listeners(false);
  try {
    await assert.rejects(l.listenTcp("localhost", port), /EADDRINUSE|in use/i);
    assert.equal(l.size, 0);
    assert.equal(await canConnect("::1", port), false);
  } finally {
    l.closeAll();
    taken.close();
  }
});
