/**
 * SSHServerConnection's own methods as an application calls them: from every hook (even
 * connectionMade, before the engine has a driver), before authentication, and async hooks
 * that fail. Real sockets on loopback, our own client.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHError } from "../../core/errors.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import type { ServerConnectionContext } from "./context.ts";

const hostKey = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions>): Promise<SSHServer> {
  return listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
}

function login(s: SSHServer) {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
    clientKeys: [],
    config: false,
    connectTimeout: 10_000,
  });
}

test("close() from connectionMade sends DISCONNECT and resolves", async () => {
  let closing: Promise<void> | undefined;
  let thrown: unknown;
  await using s = await server({
    connectionMade: (c) => {
      try {
        closing = c.close();
      } catch (e) {
        thrown = e;
        throw e;
      }
    },
  });
  const err = await login(s).then(() => undefined, (e: unknown) => e);
  assert.equal(thrown, undefined);
  assert.ok(err instanceof SSHError);
  // The DISCONNECT goes out, but the socket closes with the client's first bytes unread: the
  // kernel may answer with a reset that overtakes it (seen on Deno under load).
  assert.ok(
    err.code === "ERR_PEER_DISCONNECTED" || err.code === "ERR_CONNECTION_LOST",
    err.code,
  );
  await closing;
});

test("close() then a throw from connectionMade refuses the client; close() resolves, nothing fires later", async () => {
  let closing: Promise<void> | undefined;
  await using s = await server({
    connectionMade: (c) => {
      closing = c.close();
      throw new Error("not from there");
    },
  });
  const err = await login(s).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SSHError);
  // Resolved at once: no driver will run, and the grace timer (which found none and threw,
  // uncaught, ending a Node server) is cleared.
  await closing;
});

test("abort() from connectionMade drops the connection without throwing", async () => {
  let thrown: unknown;
  let lost!: () => void;
  const gone = new Promise<void>((r) => (lost = r));
  await using s = await server({
    connectionMade: (c) => {
      try {
        c.abort();
      } catch (e) {
        thrown = e;
        throw e;
      }
    },
    connectionLost: () => lost(),
  });
  const err = await login(s).then(() => undefined, (e: unknown) => e);
  assert.equal(thrown, undefined);
  assert.ok(err instanceof SSHError);
  assert.equal(err.code, "ERR_CONNECTION_LOST");
  await gone;
});

test("openChannel() before authentication rejects with ERR_LOCAL_PROTOCOL, never throws", async () => {
  let result: Promise<unknown> | undefined;
  let thrown: unknown;
  await using s = await server({
    beginAuth: (_user, c) => {
      try {
        result = c.openChannel("custom@example.com").then(() => undefined, (e: unknown) => e);
      } catch (e) {
        thrown = e;
      }
      return true;
    },
  });
  await using _conn = await login(s);
  assert.equal(thrown, undefined);
  const err = await result;
  assert.ok(err instanceof SSHError);
  assert.equal(err.code, "ERR_LOCAL_PROTOCOL");
});

test("async notification hooks that reject do not become unhandled rejections", async () => {
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => void rejections.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    let lost!: () => void;
    const gone = new Promise<void>((r) => (lost = r));
    const fail = (what: string) => async (_c: ServerConnectionContext) => {
      await Promise.resolve();
      throw new Error(`${what} failed`);
    };
    await using s = await server({
      connectionMade: fail("connectionMade"),
      authCompleted: fail("authCompleted"),
      debugReceived: fail("debugReceived"),
      connectionLost: (c) => {
        lost();
        return fail("connectionLost")(c);
      },
      processFactory: (p) => p.exit(0),
    });
    const conn = await login(s);
    // A round trip after the hooks ran: an unhandled rejection has been reported by then.
    assert.equal((await conn.run("x")).exitStatus, 0);
    await conn.close();
    await gone;
    assert.equal((await login(s).then((c) => c.run("y").finally(() => c.close()))).exitStatus, 0);
    assert.deepEqual(rejections, []);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
});
