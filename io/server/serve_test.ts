/**
 * serveConnection(): the server on a stream the caller brings, with our own client on the
 * other end (in memory, and over a TCP socket accepted outside listen()).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import type { WebDuplex } from "../runtime/socket.ts";
import type { SSHServerConnection } from "./connection.ts";
import { serveConnection, type ServeOptions } from "./serve.ts";

const hostKey = generatePrivateKey("ed25519");
const options: ServeOptions = {
  hostKeys: [hostKey],
  authFailureDelay: 0,
  validatePassword: (user, pw) => user === "alice" && pw === "pw",
  processFactory: (p) => p.write(`ran ${p.command} as ${p.username}\n`),
};

function pipePair(): [WebDuplex, WebDuplex] {
  const a = new TransformStream<Uint8Array, Uint8Array>();
  const b = new TransformStream<Uint8Array, Uint8Array>();
  return [{ readable: a.readable, writable: b.writable }, {
    readable: b.readable,
    writable: a.writable,
  }];
}

test("serveConnection() serves one in-memory connection to connect({ sock })", async () => {
  const [serverSide, clientSide] = pipePair();
  const conn = await serveConnection(serverSide, options);
  const client = await connect("in-memory", {
    sock: clientSide,
    username: "alice",
    password: "pw",
    knownHosts: { text: `in-memory ${hostKey.exportPublicKey("openssh")}` },
  });
  const r = await client.run("id", { check: true });
  assert.equal(r.stdout, "ran id as alice\n");
  assert.equal(conn.username, "alice");
  assert.match(conn.getExtraInfo().authMethod ?? "", /password|keyboard-interactive/);
  await client.close();
  await conn.closed;
});

test("serveConnection() over a TCP socket accepted outside listen(); signal closes it", async () => {
  const served: Promise<SSHServerConnection>[] = [];
  const ac = new AbortController();
  const tcp = net.createServer((sock) => {
    served.push(serveConnection(socketFromNodeSocket(sock), { ...options, signal: ac.signal }));
  });
  await new Promise<void>((r) => tcp.listen({ host: "127.0.0.1", port: 0 }, r));
  try {
    const client = await connect("127.0.0.1", {
      port: (tcp.address() as net.AddressInfo).port,
      username: "alice",
      password: "pw",
      knownHosts: null,
    });
    assert.equal((await client.run("x", { check: true })).stdout, "ran x as alice\n");
    const conn = await served[0]!;
    assert.equal(conn.remoteAddress, "127.0.0.1");
    ac.abort();
    await conn.closed;
    await client.closed;
    // An aborted signal refuses at once.
    await assert.rejects(serveConnection(pipePair()[0], { ...options, signal: ac.signal }));
  } finally {
    tcp.close();
  }
});

test("serveConnection() takes an accepted net.Socket as it is, as connect({ sock }) does", async () => {
  // AsyncSSH's connect_reverse / run_server on an accepted socket; the socket was taken for
  // a WebDuplex and failed with "getWriter is not a function".
  const served: Promise<SSHServerConnection>[] = [];
  const tcp = net.createServer((sock) => void served.push(serveConnection(sock, options)));
  await new Promise<void>((r) => tcp.listen({ host: "127.0.0.1", port: 0 }, r));
  try {
    const client = await connect("127.0.0.1", {
      port: (tcp.address() as net.AddressInfo).port,
      username: "alice",
      password: "pw",
      knownHosts: null,
    });
    assert.equal((await client.run("y", { check: true })).stdout, "ran y as alice\n");
    const conn = await served[0]!;
    await client.close();
    await conn.closed;
  } finally {
    tcp.close();
  }
});
