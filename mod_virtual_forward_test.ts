/**
 * Remote forwards the server application serves itself (`serverRequested` returning a
 * `VirtualRemoteForward`, AsyncSSH's server_requested returning a listener): the client's
 * `ssh -R` is accepted without a socket, the application pushes connections with
 * `conn.openConnection()`, and `close` runs once on cancel or disconnect. Through the
 * package entry point, our client against our server (OpenSSH's `ssh -R` is in
 * conformance/server_forwarding_test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerConnectionContext } from "./mod.ts";
import { loopbackPair } from "./_mod_test_util.ts";

/** An echo server on 127.0.0.1 (or a UNIX socket path), closed with the returned function. */
async function echoServer(path?: string): Promise<{ port: number; close(): void }> {
  const s = net.createServer((c) => c.pipe(c));
  await new Promise<void>((r) => path ? s.listen(path, r) : s.listen(0, "127.0.0.1", r));
  return { port: path ? 0 : (s.address() as net.AddressInfo).port, close: () => s.close() };
}

/** Writes `text` into a pushed connection and reads what comes back. */
async function echo(
  c: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  text: string,
) {
  const w = c.writable.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  let got = "";
  for await (const chunk of c.readable) got += new TextDecoder().decode(chunk);
  return got;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

test("a virtual remote forward carries pushed connections and binds no socket", async () => {
  const target = await echoServer();
  const closed: string[] = [];
  let ctx: ServerConnectionContext | undefined;
  try {
    await using p = await loopbackPair({
      serverRequested: (host, port, conn) => {
        ctx = conn;
        return { close: () => closed.push(`${host}:${port}`) };
      },
    });
    // Port 80 too: nothing is bound, so the privileged-port rule does not apply.
    await using l80 = await p.conn.forwardRemotePort({
      listenHost: "localhost",
      listenPort: 80,
      destHost: "127.0.0.1",
      destPort: target.port,
    });
    assert.equal(l80.port, 80);
    assert.equal(ctx!.listenerCount, 1);
    {
      await using c = await ctx!.openConnection("localhost", 80, { originHost: "10.0.0.7" });
      assert.equal(await echo(c, "through the virtual forward\n"), "through the virtual forward\n");
    }
    // A fixed high port: accepted, and still nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const free = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await using lf = await p.conn.forwardRemotePort({
      listenHost: "localhost",
      listenPort: free,
      destHost: "127.0.0.1",
      destPort: target.port,
    });
    assert.equal(lf.port, free);
    assert.equal(await canConnect(free), false, "no socket was bound");
    // Cancelling runs close once; pushing to a cancelled forward is refused by the client.
    await lf.close();
    await l80.close();
    for (let i = 0; i < 50 && closed.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closed.sort(), [`localhost:${free}`, "localhost:80"].sort());
    await assert.rejects(ctx!.openConnection("localhost", 80));
    assert.equal(ctx!.listenerCount, 0);
  } finally {
    target.close();
  }
  assert.equal(closed.length, 2, "close ran once per forward");
});

test("port 0: the forward reports the port the application gives, or is refused", async () => {
  const closed: number[] = [];
  let give: number | undefined = 4242;
  await using p = await loopbackPair({
    serverRequested: () => ({
      ...(give === undefined ? {} : { port: give }),
      close: () => closed.push(give ?? -1),
    }),
  });
  const l = await p.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9 });
  assert.equal(l.port, 4242);
  give = undefined;
  await assert.rejects(
    p.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9 }),
  );
  assert.deepEqual(closed, [-1], "a refused virtual forward is closed at once");
  // The same port twice on one connection: the second is refused.
  give = 4242;
  await assert.rejects(
    p.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9 }),
  );
  assert.deepEqual(closed, [-1, 4242]);
  await l.close();
});

test("virtual forwards close with the connection, count toward maxRemoteForwards, and UNIX paths work", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-vfwd-"));
  const target = await echoServer(join(dir, "target.sock"));
  const closed: string[] = [];
  let ctx: ServerConnectionContext | undefined;
  try {
    const p = await loopbackPair({
      maxRemoteForwards: 2,
      serverRequested: (_h, port) => ({ close: () => closed.push(String(port)) }),
      unixServerRequested: (path, conn) => {
        ctx = conn;
        return { close: () => closed.push(path) };
      },
    });
    const virtualPath = join(dir, "not-created.sock");
    await p.conn.forwardRemotePath({ listenPath: virtualPath, destPath: join(dir, "target.sock") });
    {
      await using c = await ctx!.openUnixConnection(virtualPath);
      assert.equal(await echo(c, "unix\n"), "unix\n");
    }
    assert.throws(() => rmSync(virtualPath), /ENOENT/, "no socket file was made");
    await p.conn.forwardRemotePort({ listenPort: 5000, destHost: "127.0.0.1", destPort: 9 });
    await assert.rejects(
      p.conn.forwardRemotePort({ listenPort: 5001, destHost: "127.0.0.1", destPort: 9 }),
    );
    assert.deepEqual(closed, [], "the refusal beyond the cap never asked the hook");
    await p.conn.close();
    await ctx!.closed;
    assert.deepEqual(closed.sort(), ["5000", virtualPath].sort());
    await p.server.close();
  } finally {
    target.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a hook answering true for a port below 1024 is refused unless allowPrivilegedPorts", async () => {
  const asked: number[] = [];
  await using p = await loopbackPair({
    serverRequested: (_host, port) => (asked.push(port), true),
  });
  await assert.rejects(
    p.conn.forwardRemotePort({ listenPort: 1023, destHost: "127.0.0.1", destPort: 9 }),
  );
  assert.deepEqual(asked, [1023]);
});

test("a real bind never takes the place of a virtual forward, and a truthy non-object answer still binds", async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const free = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const closed: number[] = [];
  const answers: unknown[] = [{ close: () => closed.push(free) }, true, 1];
  let ctx: ServerConnectionContext | undefined;
  const p = await loopbackPair({
    serverRequested: (_h, _port, conn) => {
      ctx = conn;
      return answers.shift() as boolean;
    },
  });
  try {
    const forward = () =>
      p.conn.forwardRemotePort({
        listenHost: "localhost",
        listenPort: free,
        destHost: "127.0.0.1",
        destPort: 9,
      });
    await forward(); // virtual
    await assert.rejects(forward(), "a real bind on the key the virtual forward holds");
    assert.equal(ctx!.listenerCount, 1);
    assert.equal(await canConnect(free), false);
    // An untyped hook's 1 means "listen", as before virtual forwards existed.
    const l = await p.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9 });
    assert.equal(await canConnect(l.port), true);
    await p.conn.close();
    await ctx!.closed;
    assert.deepEqual(closed, [free], "the virtual forward's close ran, once");
  } finally {
    await p.server.close();
  }
});
