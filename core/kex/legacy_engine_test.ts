/**
 * The off-by-default algorithms through the real engines: a client and a server
 * engine in memory negotiate each optional or insecure kex, cipher and MAC by
 * name (and only by name), authenticate, and carry channel data both ways.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_CIPHERS,
  INSECURE_CIPHERS,
  INSECURE_MACS,
  OPTIONAL_CIPHERS,
  OPTIONAL_MACS,
} from "../crypto/registry.ts";
import type { DisconnectError } from "../errors.ts";
import { makePair } from "../testing/fixtures.ts";
import type { EnginePair } from "../testing/pair.ts";
import { BUILTIN_MODULI } from "./moduli.ts";
import { DEFAULT_KEX, INSECURE_KEX, OPTIONAL_KEX, SUPPORTED_KEX } from "./registry.ts";

function disconnect(pair: EnginePair): DisconnectError | undefined {
  for (const e of [...pair.clientEvents, ...pair.serverEvents]) {
    if (e.type === "disconnect") return e.error;
  }
  return undefined;
}

/** Opens a session, sends `data` each way, returns what each side received. */
function exchange(pair: EnginePair, data: Uint8Array): { atServer: number; atClient: number } {
  const { client: c, server: sc } = pair.openSession();
  let atServer = 0, atClient = 0;
  let sent = 0, echoed = 0;
  for (let round = 0; round < 1000 && (atServer < data.length || atClient < data.length); round++) {
    if (sent < data.length) sent += pair.client.sendData(c, data.subarray(sent));
    if (echoed < atServer) {
      echoed += pair.server.sendData(sc, data.subarray(echoed, atServer));
    }
    const s0 = pair.serverEvents.length, c0 = pair.clientEvents.length;
    pair.run();
    for (const e of pair.serverEvents.slice(s0)) {
      if (e.type === "channelData") {
        atServer += e.data.length;
        pair.server.consume(sc, e.data.length);
      }
    }
    for (const e of pair.clientEvents.slice(c0)) {
      if (e.type === "channelData") {
        atClient += e.data.length;
        pair.client.consume(c, e.data.length);
      }
    }
  }
  return { atServer, atClient };
}

test("off-by-default kex, ciphers and MACs are never offered unless named", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  const n = pair.client.transport.algorithms!;
  assert.ok(DEFAULT_KEX.includes(n.kex));
  assert.ok(DEFAULT_CIPHERS.includes(n.cipherC2S));
  // A client that only wants a legacy cipher cannot get it from a default server.
  const refused = makePair({ clientAlgorithms: { cipher: ["3des-cbc"] }, password: "secret" });
  refused.run();
  assert.match(disconnect(refused)?.message ?? "", /cipher|encryption|algorithm/i);
  assert.equal(refused.client.authenticated, false);
});

for (const kex of [...OPTIONAL_KEX, ...INSECURE_KEX.filter((k) => k.startsWith("rsa"))]) {
  test(`engines complete ${kex} by name and authenticate`, () => {
    const pair = makePair({
      clientAlgorithms: { kex: [kex] },
      serverAlgorithms: { kex: SUPPORTED_KEX },
      // Group exchange: a 2048-bit group keeps this fast (the default serves 8192).
      server: { moduli: [BUILTIN_MODULI[0]!] },
      password: "secret",
    });
    pair.run();
    assert.equal(disconnect(pair), undefined, disconnect(pair)?.message);
    assert.ok(pair.client.authenticated);
    assert.equal(pair.client.transport.algorithms?.kex, kex);
  });
}

const LEGACY_CIPHERS = [...OPTIONAL_CIPHERS, ...INSECURE_CIPHERS];
const LEGACY_MACS = [...OPTIONAL_MACS, ...INSECURE_MACS];

test("engines carry channel data both ways with every legacy cipher (hmac-sha2-256-etm)", () => {
  const data = new Uint8Array(40_000).map((_, i) => (i * 13) & 0xff);
  for (const cipher of LEGACY_CIPHERS) {
    const pair = makePair({
      clientAlgorithms: { cipher: [cipher] },
      serverAlgorithms: { cipher: LEGACY_CIPHERS },
      password: "secret",
    });
    pair.run();
    assert.equal(disconnect(pair), undefined, `${cipher}: ${disconnect(pair)?.message}`);
    assert.equal(pair.client.transport.algorithms?.cipherS2C, cipher);
    assert.deepEqual(
      exchange(pair, data),
      { atServer: data.length, atClient: data.length },
      cipher,
    );
    assert.equal(disconnect(pair), undefined, cipher);
  }
});

test("engines carry channel data both ways with every legacy MAC (aes128-ctr, 3des-cbc)", () => {
  const data = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
  for (const cipher of ["aes128-ctr", "3des-cbc"]) {
    for (const mac of LEGACY_MACS) {
      const pair = makePair({
        clientAlgorithms: { cipher: [cipher], mac: [mac] },
        serverAlgorithms: { cipher: [cipher], mac: LEGACY_MACS },
        password: "secret",
      });
      pair.run();
      const label = `${cipher} + ${mac}`;
      assert.equal(disconnect(pair), undefined, `${label}: ${disconnect(pair)?.message}`);
      assert.equal(pair.client.transport.algorithms?.macC2S, mac, label);
      assert.deepEqual(
        exchange(pair, data),
        { atServer: data.length, atClient: data.length },
        label,
      );
    }
  }
});
