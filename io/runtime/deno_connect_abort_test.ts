/**
 * An aborted connect leaves no connection open. `Deno.connect({ signal })` checks the signal
 * once more after the connect completed and throws, dropping a connection it made without
 * closing it: aborts that came in that moment leaked a socket each (with its descriptor).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { connectDenoSocket, denoApi } from "./deno_socket.ts";
import { openTcpSocket } from "./tcp.ts";
import type { ByteSocket } from "./socket.ts";

type FakeDeno = NonNullable<Parameters<typeof connectDenoSocket>[3]>;
type FakeConn = Awaited<ReturnType<FakeDeno["connect"]>>;

/** A stand-in for `Deno.Conn` that counts its closes. */
function fakeConn(): FakeConn & { closes: number } {
  return {
    closes: 0,
    read: () => new Promise<number | null>(() => {}),
    write: (p: Uint8Array) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {
      this.closes++;
    },
    setNoDelay() {},
    localAddr: { hostname: "127.0.0.1", port: 1 },
    remoteAddr: { hostname: "127.0.0.1", port: 2 },
  };
}

/**
 * A stand-in for the Deno namespace whose connect completes when the test says so, and then,
 * as Deno's own does, checks the signal it was given once more (`throwIfAborted`): a connection
 * it made is then lost, never closed.
 */
function fakeDeno() {
  const conn = fakeConn();
  let complete!: () => void;
  let given: AbortSignal | undefined;
  let lost = false;
  const deno: FakeDeno = {
    async connect(o) {
      given = o.signal;
      given?.throwIfAborted();
      // Deno cancels a connect in flight when its signal aborts; this one completes anyway
      // (the abort came once the kernel had connected).
      await new Promise<void>((r) => complete = r);
      try {
        given?.throwIfAborted();
      } catch (e) {
        lost = true;
        throw e;
      }
      return conn;
    },
  };
  return { deno, conn, complete: () => complete(), given: () => given, lost: () => lost };
}

test("connectDenoSocket(): a connection completed after the abort is closed, not lost", async () => {
  const f = fakeDeno();
  const ac = new AbortController();
  const connecting = connectDenoSocket("127.0.0.1", 22, ac.signal, f.deno);
  const reason = new Error("gave up");
  ac.abort(reason);
  // Rejects at once, with the caller's reason, while the connect is still in flight.
  await assert.rejects(connecting, (e) => e === reason);
  assert.ok(f.given(), "Deno.connect was given a signal");
  assert.notEqual(f.given(), ac.signal, "not the caller's signal");
  assert.equal(f.given()!.aborted, true, "the connect in flight is cancelled");
  f.complete();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.lost(), false, "Deno.connect's own check did not drop the connection");
  assert.equal(f.conn.closes, 1, "the connection made after the abort is closed");
});

test("connectDenoSocket(): a connect that completes first is handed out and left open", async () => {
  const f = fakeDeno();
  const ac = new AbortController();
  const connecting = connectDenoSocket("127.0.0.1", 22, ac.signal, f.deno);
  f.complete();
  const sock = await connecting;
  ac.abort(); // too late: the socket is the caller's now
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.conn.closes, 0);
  assert.equal(sock.remotePort, 2);
  sock.destroy();
  assert.equal(f.conn.closes, 1);
});

test("connectDenoSocket(): an aborted signal rejects before connecting", async () => {
  const f = fakeDeno();
  const reason = new Error("already");
  await assert.rejects(
    connectDenoSocket("127.0.0.1", 22, AbortSignal.abort(reason), f.deno),
    (e) => e === reason,
  );
  assert.equal(f.given(), undefined, "Deno.connect was not called");
});

/**
 * Aborts `rounds` connects to a local listener at points around the connect's completion
 * (at once, a microtask later, a timer later), closes the ones that won, and returns how many
 * connections the listener accepted and saw closed. Nothing is timed: a final connect,
 * accepted after all the others (the listener accepts in order), says when all have arrived.
 */
async function abortConnects(
  open: (port: number, signal: AbortSignal) => Promise<ByteSocket>,
  rounds: number,
): Promise<{ accepted: number; closed: number }> {
  let accepted = 0;
  let closed = 0;
  let lastArrived = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const server = net.createServer((s) => {
    accepted++;
    s.on("error", () => {});
    s.on("close", () => (closed++, wake()));
    // Reads the client's end, which closes the socket.
    s.on("data", (d: Uint8Array) => {
      if (d.length) lastArrived = true, wake();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const until = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      // A hang guard, not a timing check: a leaked connection never closes.
      const guard = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what}: accepted ${accepted}, closed ${closed}`));
      }, 10_000);
      const check = () => {
        if (!done()) return;
        clearTimeout(guard);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  const aborts: ((abort: () => void) => void)[] = [
    (abort) => abort(),
    (abort) => queueMicrotask(abort),
    (abort) => void Promise.resolve().then(() => {}).then(() => {}).then(abort),
    (abort) => setTimeout(abort, 0),
    (abort) => setTimeout(abort, 1),
    (abort) => setImmediate(abort),
  ];
  try {
    for (let i = 0; i < rounds; i++) {
      const ac = new AbortController();
      const connecting = open(port, ac.signal);
      aborts[i % aborts.length]!(() => ac.abort());
      await connecting.then((s) => s.destroy(), () => {});
    }
    // Accepted after every connection made above: once it spoke, all of them have arrived.
    const last = net.connect(port, "127.0.0.1", () => last.write("last"));
    last.on("error", () => {});
    await until(() => lastArrived, "the last connect");
    last.destroy();
    await until(() => closed === accepted, "connections left open");
    return { accepted, closed };
  } finally {
    server.close();
  }
}

test(
  "connectDenoSocket(): connects aborted around their completion leave no connection open",
  { skip: denoApi() ? false : "Deno.connect exists on Deno only" },
  async () => {
    const { accepted, closed } = await abortConnects(
      (port, signal) => connectDenoSocket("127.0.0.1", port, signal),
      600,
    );
    assert.equal(closed, accepted);
    assert.ok(accepted > 0, "some connects completed before their abort");
  },
);

test("openTcpSocket(): connects aborted around their completion leave no connection open", async () => {
  const { accepted, closed } = await abortConnects(
    (port, signal) => openTcpSocket("127.0.0.1", port, signal),
    120,
  );
  assert.equal(closed, accepted);
});
