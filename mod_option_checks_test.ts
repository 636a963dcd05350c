/**
 * Through the entry point: numbers an application passes to `connect()` that would
 * otherwise go wrong quietly or late (a NaN rekey limit never rekeyed, a NaN keepalive
 * interval turned keepalives off, a bad window failed the first channel, a port of 70000
 * failed with the runtime's own message) are refused with a RangeError naming the option,
 * before any connection is made; and those `listen()` and `serveConnection()` take, when the server
 * starts, rather than failing every connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { connect, generatePrivateKey, listen, serveConnection } from "./mod.ts";

const BAD_CONNECT: readonly [string, number][] = [
  ["port", 70000],
  ["port", 0],
  ["port", 22.5],
  ["localPort", -1],
  ["windowSize", NaN],
  ["windowSize", 0],
  ["maxPacketSize", -5],
  ["rekeyBytes", NaN],
  ["rekeyBytes", -1],
  ["rekeyInterval", -1],
  ["keepaliveInterval", NaN],
  ["keepaliveCountMax", 1.5],
];

test("connect() refuses numeric options that are out of range before connecting", async () => {
  let accepted = 0;
  const tcp = net.createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  const port = (tcp.address() as net.AddressInfo).port;
  try {
    for (const [key, v] of BAD_CONNECT) {
      await assert.rejects(
        connect("127.0.0.1", { port, username: "u", knownHosts: null, config: false, [key]: v }),
        (e: Error) => e instanceof RangeError && e.message.startsWith(`${key} must be`),
        `${key}: ${v}`,
      );
    }
    assert.equal(accepted, 0, "no connection was made");
  } finally {
    tcp.close();
  }
});

const BAD_LISTEN: readonly [string, unknown][] = [
  ["windowSize", NaN],
  ["maxPacketSize", 0],
  ["rekeyBytes", NaN],
  ["rekeyInterval", -1],
  ["keepaliveInterval", -1],
  ["keepaliveCountMax", 1.5],
  ["maxChannels", 0],
  ["loginTimeout", NaN],
  ["authFailureDelay", -1],
  ["maxAuthTries", NaN],
  ["maxSessions", -1],
  ["maxFileSessions", 0.5],
  ["maxOpenFilesPerConnection", -3],
  ["maxRemoteForwards", NaN],
  ["lineHistorySize", -1],
  ["maxLineLength", 0],
  ["maxConnections", -1],
  ["backlog", -1],
  ["maxStartups", -1],
  ["maxStartups", { start: 10, rate: 101, full: 100 }],
  ["maxStartups", { start: 10, rate: 30, full: 5 }],
];

test("listen() and serveConnection() refuse numeric options that are out of range when they start", async () => {
  const hostKeys = [generatePrivateKey("ed25519")];
  for (const [key, v] of BAD_LISTEN) {
    const name = typeof v === "object" ? `${key}.` : `${key} `;
    const refused = (e: Error) => e instanceof RangeError && e.message.startsWith(name);
    await assert.rejects(listen({ host: "127.0.0.1", port: 0, hostKeys, [key]: v }), refused);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    await assert.rejects(serveConnection({ readable, writable }, { hostKeys, [key]: v }), refused);
  }
  // The limits that mean "none" are taken.
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys,
    maxConnections: Infinity,
    loginTimeout: 0,
    keepaliveInterval: 0,
    maxSessions: 0,
  });
  assert.ok(server.address.port > 0);
});
