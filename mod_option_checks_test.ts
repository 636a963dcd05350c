/**
 * Through the entry point: numbers an application passes to `connect()` that would
 * otherwise go wrong quietly or late (a NaN rekey limit never rekeyed, a NaN keepalive
 * interval turned keepalives off, a bad window failed the first channel, a port of 70000
 * failed with the runtime's own message) are refused with a RangeError naming the option,
 * before any connection is made.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { connect } from "./mod.ts";

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
