import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError, LocalProtocolError, WireError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { bigIntToMpintBytes, SSHReader, SSHWriter } from "../wire.ts";
import { MODP_GROUP_14, OAKLEY_GROUP_2 } from "./dh_groups.ts";
import { KexError } from "./errors.ts";
import { BUILTIN_MODULI } from "./moduli.ts";
import { getKexMethod, SUPPORTED_KEX } from "./registry.ts";
import { createHostKeySigner } from "./host_key_signer.ts";
import { runPair, TEST_HOST_KEY, testContext, testMethod, twoStep } from "./_test_pair.ts";
import type { KexClientFlow, KexMethod, KexServerFlow } from "./types.ts";

const hostKey = createHostKeySigner(TEST_HOST_KEY, "ssh-ed25519");
const isGex = (name: string) => name.includes("group-exchange");
/** Big finite-field groups make every fresh flow cost a modexp: fuzz them less. */
const HEAVY = new Set([
  "diffie-hellman-group16-sha512",
  "diffie-hellman-group17-sha512",
  "diffie-hellman-group18-sha512",
  "rsa2048-sha256",
]);
/**
 * SSH.com's names for the MODP groups run the very parsers of the methods above
 * them (same agreement, same message shapes; only the hash differs), so the fuzz
 * tests skip them; the flow tests run each one.
 */
const FUZZED_KEX = SUPPORTED_KEX.filter((n) =>
  !/^diffie-hellman-group1\d-sha\d+@ssh\.com$/.test(n)
);

/** Runs fn; any exception must be a typed peer error. Returns the error, if any. */
function typed(fn: () => unknown, what: string): unknown {
  try {
    fn();
  } catch (e) {
    assert.ok(
      e instanceof WireError || e instanceof DisconnectError,
      `${what}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
    return e;
  }
  return undefined;
}

function assertKexError(fn: () => unknown, what: string): void {
  const e = typed(fn, what);
  assert.ok(e instanceof KexError, `${what}: expected KexError, got ${e}`);
}

/** A client flow that is ready for the final reply (GEX: after the group; RSA: after the keys). */
function readyClient(method: KexMethod, seed: number, first?: Uint8Array): KexClientFlow {
  const c = method.createClient(testContext(seed));
  c.start();
  if (twoStep(method.name)) c.receive(first!);
  return c;
}

/** A server flow that is ready for the client's last message. */
function readyServer(method: KexMethod, seed: number, request?: Uint8Array): KexServerFlow {
  const s = method.createServer(testContext(seed), { hostKey, moduli: [BUILTIN_MODULI[0]!] });
  s.start?.();
  if (isGex(method.name)) s.receive(request!);
  return s;
}

function mutate(rnd: (n: number) => Uint8Array, base: Uint8Array): Uint8Array {
  const kind = rnd(1)[0]! % 4;
  if (kind === 0) return base.slice(0, ((rnd(2)[0]! << 8) | rnd(1)[0]!) % base.length);
  const m = kind === 1 ? new Uint8Array([...base, ...rnd(1 + (rnd(1)[0]! % 8))]) : base.slice();
  const flips = 1 + (rnd(1)[0]! % 4);
  for (let i = 0; i < flips; i++) {
    // Bias towards the headers where the lengths live.
    const span = rnd(1)[0]! % 2 === 0 ? Math.min(m.length, 48) : m.length;
    m[((rnd(2)[0]! << 8) | rnd(1)[0]!) % span] = rnd(1)[0]!;
  }
  return m;
}

function fuzzMethods(names: readonly string[], seed: number): void {
  const rnd = seededRandom(fuzzSeed(seed));
  for (const name of names) {
    const method = testMethod(name);
    // GEX servers use the 2048-bit group here to keep the test fast.
    const pair = runPair(method, { seed: 11, moduli: [BUILTIN_MODULI[0]!] });
    const gex = isGex(name);
    const reply = pair.serverSent[pair.serverSent.length - 1]!;
    const init = pair.clientSent[pair.clientSent.length - 1]!;
    const trials = fuzzRuns(HEAVY.has(name) || gex ? 4 : 20);
    for (let i = 0; i < trials; i++) {
      const c = readyClient(method, 11, pair.serverSent[0]);
      typed(() => c.receive(mutate(rnd, reply)), `${name} client`);
      const s = readyServer(method, 1011, pair.clientSent[0]);
      typed(() => s.receive(mutate(rnd, init)), `${name} server`);
    }
    if (twoStep(name)) {
      for (let i = 0; i < fuzzRuns(30); i++) {
        const c = method.createClient(testContext(11));
        c.start();
        typed(() => c.receive(mutate(rnd, pair.serverSent[0]!)), `${name} client group`);
        if (!gex) continue; // RSA: the server's first message is not a reply to anything.
        const s = method.createServer(testContext(11), { hostKey });
        typed(() => s.receive(mutate(rnd, pair.clientSent[0]!)), `${name} server request`);
      }
    }
  }
}

const FINITE_FIELD = FUZZED_KEX.filter((n) => n.startsWith("diffie-hellman"));

test("elliptic-curve, hybrid and RSA reply/init parsers throw only typed errors on fuzzed input", () => {
  fuzzMethods(FUZZED_KEX.filter((n) => !FINITE_FIELD.includes(n)), 99);
});

test("finite-field DH and group exchange parsers throw only typed errors on fuzzed input", () => {
  fuzzMethods(FINITE_FIELD, 98);
});

test("reply and init parsers reject truncation, trailing bytes and wrong message numbers", () => {
  for (const name of FUZZED_KEX) {
    const method = testMethod(name);
    const pair = runPair(method, { seed: 12, moduli: [BUILTIN_MODULI[0]!] });
    const reply = pair.serverSent[pair.serverSent.length - 1]!;
    const init = pair.clientSent[pair.clientSent.length - 1]!;
    const client = readyClient(method, 12, pair.serverSent[0]);
    for (const cut of [0, 1, 3, 5, 20, reply.length - 1]) {
      const e = typed(() => client.receive(reply.subarray(0, cut)), `${name} cut ${cut}`);
      assert.ok(e !== undefined, `${name}: truncated reply at ${cut} was accepted`);
    }
    const trailing = typed(() => client.receive(new Uint8Array([...reply, 0])), name);
    assert.ok(trailing instanceof WireError && trailing.code === "ERR_WIRE_MALFORMED", name);
    for (const n of [20, 30, 32, 33, 34, 50, 255]) {
      if (n === reply[0]) continue;
      const e = typed(
        () => client.receive(new Uint8Array([n, ...reply.subarray(1)])),
        `${name} msg ${n}`,
      );
      assert.ok(e instanceof DisconnectError && e.code === "ERR_PROTOCOL", `${name} msg ${n}`);
    }
    const server = readyServer(method, 13, pair.clientSent[0]);
    assert.ok(
      typed(() => server.receive(init.subarray(0, init.length - 1)), name) instanceof WireError,
    );
    assert.ok(typed(() => server.receive(new Uint8Array([...init, 1])), name) instanceof WireError);
    assert.ok(typed(() => server.receive(new Uint8Array(0)), name) instanceof DisconnectError);
    // The real message still works afterwards, and nothing is accepted after the end.
    const done = server.receive(init);
    assert.ok(done.result !== undefined, name);
    assert.ok(typed(() => server.receive(init), name) instanceof DisconnectError);
    assert.ok(client.receive(reply).result !== undefined, name);
    assert.ok(typed(() => client.receive(reply), name) instanceof DisconnectError);
  }
});

test("flows refuse misuse by the caller with LocalProtocolError", () => {
  for (const name of ["curve25519-sha256", "diffie-hellman-group-exchange-sha256"]) {
    const method = getKexMethod(name)!;
    const c = method.createClient(testContext(1));
    assert.throws(() => c.receive(new Uint8Array([31])), LocalProtocolError);
    c.start();
    assert.throws(() => c.start(), LocalProtocolError);
  }
});

function reply(value: Uint8Array): Uint8Array {
  return new SSHWriter().writeByte(31).writeString(hostKey.publicKeyBlob).writeString(value)
    .writeString(new Uint8Array(4)).toBytes();
}

function initMsg(value: Uint8Array): Uint8Array {
  return new SSHWriter().writeByte(30).writeString(value).toBytes();
}

/** Peer values that must be refused, for both directions of a one-round method. */
function assertRejects(name: string, values: readonly Uint8Array[]): void {
  const method = getKexMethod(name)!;
  for (const [i, v] of values.entries()) {
    const c = method.createClient(testContext(i));
    c.start();
    assertKexError(() => c.receive(reply(v)), `${name} client value #${i}`);
    const s = method.createServer(testContext(i), { hostKey });
    assertKexError(() => s.receive(initMsg(v)), `${name} server value #${i}`);
  }
}

test("curve25519 rejects wrong lengths and low-order points (all-zero shared secret)", () => {
  const le = (v: bigint) => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  const p = (1n << 255n) - 19n;
  // The points of order 1, 2, 4, 8 (and their non-canonical encodings) all give 0.
  const lowOrder = [
    0n,
    1n,
    p - 1n,
    p,
    p + 1n,
    325606250916557431795983626356110631294008115727848805560023387167927233504n,
    39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  ].map(le);
  for (const name of ["curve25519-sha256", "curve25519-sha256@libssh.org"]) {
    assertRejects(name, [
      new Uint8Array(31),
      new Uint8Array(33).fill(9),
      new Uint8Array(0),
      ...lowOrder,
    ]);
  }
});

test("ecdh-sha2-nistp* rejects the identity, compressed, off-curve and out-of-range points", () => {
  for (const [curve, size] of [["nistp256", 32], ["nistp384", 48], ["nistp521", 66]] as const) {
    const pair = runPair(getKexMethod(`ecdh-sha2-${curve}`)!);
    const good = new SSHReader(pair.clientSent[0]!, 1).readString();
    const offCurve = good.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    const compressed = new Uint8Array(1 + size);
    compressed.set(good.subarray(1, 1 + size), 1);
    compressed[0] = 2 + (good[good.length - 1]! & 1);
    const hybrid = good.slice();
    hybrid[0] = 6;
    const bigX = good.slice();
    bigX.fill(0xff, 1, 1 + size);
    assertRejects(`ecdh-sha2-${curve}`, [
      new Uint8Array([0]),
      new Uint8Array(0),
      new Uint8Array(1 + 2 * size),
      compressed,
      hybrid,
      offCurve,
      bigX,
      good.subarray(0, good.length - 1),
    ]);
  }
});

test("diffie-hellman groups reject 0, 1, p-1, p, values above p, negatives and non-canonical mpints", () => {
  for (
    const [name, p] of [
      ["diffie-hellman-group14-sha256", MODP_GROUP_14.p],
      ["diffie-hellman-group1-sha1", OAKLEY_GROUP_2.p],
    ] as const
  ) {
    const m = (v: bigint) => bigIntToMpintBytes(v);
    assertRejects(name, [
      new Uint8Array(0),
      m(1n),
      m(2n),
      m(1n << 1000n),
      m(p - 1n),
      m(p),
      m(p + 12345n),
      m(-12345n),
      new Uint8Array([0, 0x7f, 0x7f, 0x7f]),
      new Uint8Array([0]),
    ]);
  }
});

test("group exchange clients reject groups outside the request and bad generators", () => {
  const method = getKexMethod("diffie-hellman-group-exchange-sha256")!;
  const group = (p: bigint, g: bigint) =>
    new SSHWriter().writeByte(31).writeMpint(p).writeMpint(g).toBytes();
  const p2048 = BUILTIN_MODULI[0]!.p;
  for (
    const [p, g] of [
      [OAKLEY_GROUP_2.p, 2n], // 1024 bits: below the 2048 minimum
      [(1n << 8200n) + 1n, 2n], // above the 8192 maximum
      [p2048 - 1n, 2n], // even
      [p2048, 1n],
      [p2048, 0n],
      [p2048, p2048 - 1n],
      [-p2048, 2n],
    ] as const
  ) {
    const c = method.createClient(testContext(1));
    c.start();
    const e = typed(() => c.receive(group(p, g)), `p=${p.toString(16).slice(0, 8)} g=${g}`);
    assert.ok(e instanceof KexError || e instanceof WireError);
  }
});

test("group exchange servers reject bad request sizes", () => {
  const method = getKexMethod("diffie-hellman-group-exchange-sha256")!;
  const request = (min: number, n: number, max: number) =>
    new SSHWriter().writeByte(34).writeUint32(min).writeUint32(n).writeUint32(max).toBytes();
  for (
    const [min, n, max] of [[4096, 2048, 8192], [2048, 8192, 4096], [1024, 1024, 1024], [
      9000,
      9000,
      9000,
    ]]
  ) {
    const s = method.createServer(testContext(1), { hostKey });
    assertKexError(() => s.receive(request(min!, n!, max!)), `${min}/${n}/${max}`);
  }
  // The obsolete REQUEST_OLD (30) is refused as a protocol error, as OpenSSH does.
  const s = method.createServer(testContext(1), { hostKey });
  const e = typed(() => s.receive(new Uint8Array([30, 0, 0, 8, 0])), "old request");
  assert.ok(e instanceof DisconnectError && e.code === "ERR_PROTOCOL");
  // A request the moduli cannot serve.
  const s2 = method.createServer(testContext(1), { hostKey, moduli: [BUILTIN_MODULI[0]!] });
  assertKexError(() => s2.receive(request(3072, 4096, 8192)), "no group");
});

test("hybrids reject wrong lengths and an all-zero X25519 part", () => {
  for (
    const [name, qc, qs] of [["mlkem768x25519-sha256", 1216, 1120], [
      "sntrup761x25519-sha512",
      1190,
      1071,
    ]] as const
  ) {
    const method = getKexMethod(name)!;
    const pair = runPair(method);
    const goodInit = new SSHReader(pair.clientSent[0]!, 1).readString();
    const r = new SSHReader(pair.serverSent[0]!, 1);
    r.readString();
    const goodReply = r.readString();
    assert.equal(goodInit.length, qc);
    assert.equal(goodReply.length, qs);
    const zeroX = (v: Uint8Array) =>
      new Uint8Array([...v.subarray(0, v.length - 32), ...new Uint8Array(32)]);
    for (
      const v of [
        goodInit.subarray(1),
        new Uint8Array([...goodInit, 0]),
        zeroX(goodInit),
        new Uint8Array(0),
      ]
    ) {
      const s = method.createServer(testContext(2), { hostKey });
      assertKexError(() => s.receive(initMsg(v)), `${name} init ${v.length}`);
    }
    for (const v of [goodReply.subarray(1), new Uint8Array([...goodReply, 0]), zeroX(goodReply)]) {
      const c = method.createClient(testContext(2));
      c.start();
      assertKexError(() => c.receive(reply(v)), `${name} reply ${v.length}`);
    }
    // A corrupted KEM ciphertext is not an error (implicit rejection): K just differs.
    const c = method.createClient(testContext(7));
    c.start();
    const bad = goodReply.slice();
    bad[5]! ^= 1;
    const res = c.receive(reply(bad)).result!;
    assert.notDeepEqual(res.sharedSecret, pair.client.sharedSecret);
  }
});

test("ML-KEM public keys that fail the FIPS 203 modulus check become a KexError", () => {
  const method = getKexMethod("mlkem768x25519-sha256")!;
  const pair = runPair(method);
  const init = new SSHReader(pair.clientSent[0]!, 1).readString().slice();
  // Coefficients are 12-bit; 0xfff > q = 3329 fails the check.
  init[0] = 0xff;
  init[1] = 0xff;
  const s = method.createServer(testContext(1), { hostKey });
  assertKexError(() => s.receive(initMsg(init)), "mlkem modulus");
});
