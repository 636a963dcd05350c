/**
 * listen()'s forwarding under an authorized_keys `permitopen` list: the list holds
 * direct-streamlocal (`ssh -L port:/path.sock`) as well as direct-tcpip, as sshd's does —
 * a key held to `permitopen="db:5432"` opens no UNIX socket, whatever the application's
 * `unixConnectionRequested` would allow; `"[path]:*"` and `"*:*"` name sockets. Each
 * refusal is logged and the application's hook is not asked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "./listen.ts";

const hostKey = generatePrivateKey("ed25519");
const user = generatePrivateKey("ed25519");

/** A UNIX socket that answers every connection with `text`; disposed with the directory. */
async function socketSaying(text: string) {
  const dir = mkdtempSync(join(tmpdir(), "sshts-permitopen-"));
  const path = join(dir, "app.sock");
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    s.end(text);
  });
  await new Promise<void>((r) => srv.listen(path, r));
  return {
    path,
    [Symbol.asyncDispose]: async () => {
      await new Promise<void>((r) => srv.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Logs in with `user` on a line with `options`; records what the hooks were asked and the log. */
async function loginWith(options: string) {
  const asked: string[] = [];
  const log: string[] = [];
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys: `${options} ${user.exportPublicKey()}`,
    logger: { info: (m) => log.push(m) },
    // An application that forwards whatever the key's options allow.
    connectionRequested: (host, port) => (asked.push(`${host}:${port}`), true),
    unixConnectionRequested: (path) => (asked.push(path), true),
  });
  const conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [user],
  });
  return {
    conn,
    asked,
    log,
    [Symbol.asyncDispose]: async () => {
      await conn.close();
      await server.close();
    },
  };
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(new Uint8Array(await new Response(readable).arrayBuffer()));
}

test('listen() refuses direct-streamlocal to a key held to permitopen="db:5432" and logs why', async () => {
  await using sock = await socketSaying("secret\n");
  await using t = await loginWith('permitopen="db:5432"');
  await assert.rejects(t.conn.openUnixConnection(sock.path), /not allowed/);
  await assert.rejects(t.conn.openConnection("127.0.0.1", 22), /not allowed/);
  assert.deepEqual(t.asked, []); // refused before the application is asked
  const refusals = t.log.filter((l) => l.includes("refused"));
  assert.equal(refusals.length, 2, t.log.join("\n"));
  assert.match(refusals[0]!, /refused direct-streamlocal to ".*app\.sock": .*permitopen/);
  assert.match(refusals[1]!, /refused direct-tcpip to "127\.0\.0\.1:22": .*permitopen/);
});

test('listen() opens a socket named by permitopen="[path]:*" or "*:*", and any without a list', async () => {
  await using sock = await socketSaying("hello\n");
  const allowing = [
    `permitopen="db:5432",permitopen="[${sock.path}]:*"`,
    'permitopen="db:5432",permitopen="*:*"',
    "no-pty",
  ];
  for (const options of allowing) {
    await using t = await loginWith(options);
    const c = await t.conn.openUnixConnection(sock.path);
    assert.equal(await readAll(c.readable), "hello\n", options);
    assert.deepEqual(t.asked, [sock.path], options);
  }
  // A port in the entry, or another path, names no socket.
  for (const options of [`permitopen="[${sock.path}]:22"`, 'permitopen="[/run/other.sock]:*"']) {
    await using t = await loginWith(options);
    await assert.rejects(t.conn.openUnixConnection(sock.path), /not allowed/, options);
    assert.deepEqual(t.asked, [], options);
  }
});

test("listen() refuses direct-streamlocal under no-port-forwarding and restrict, and logs it", async () => {
  await using sock = await socketSaying("secret\n");
  for (const options of ["no-port-forwarding", "restrict"]) {
    await using t = await loginWith(options);
    await assert.rejects(t.conn.openUnixConnection(sock.path), /not allowed/, options);
    assert.deepEqual(t.asked, [], options);
    assert.ok(t.log.some((l) => /refused direct-streamlocal .*no-port-forwarding/.test(l)));
  }
});

test("listen() logs each forward it opens, fails to connect, or the application refuses", async () => {
  const log: string[] = [];
  const echo = net.createServer((s) => s.end("hi"));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const port = (echo.address() as net.AddressInfo).port;
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  try {
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      authorizedClientKeys: user.exportPublicKey(),
      logger: { info: (m) => void log.push(m) },
      connectionRequested: (host) => host === "127.0.0.1",
    });
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "alice",
      knownHosts: null,
      agent: false,
      clientKeys: [user],
    });
    const c = await conn.openConnection("127.0.0.1", port);
    assert.equal(await readAll(c.readable), "hi");
    await assert.rejects(conn.openConnection("127.0.0.1", closedPort), /Cannot connect/);
    await assert.rejects(conn.openConnection("localhost", port), /not allowed/);
    const lines = log.filter((l) => l.includes("forwarding:"));
    assert.ok(lines.some((l) => l.includes(`opened to "127.0.0.1:${port}"`)), lines.join("\n"));
    assert.ok(lines.some((l) => l.includes(`cannot connect to "127.0.0.1:${closedPort}"`)));
    assert.ok(lines.some((l) => l.includes(`the application refused "localhost:${port}"`)));
  } finally {
    await new Promise<void>((r) => echo.close(() => r()));
  }
});
