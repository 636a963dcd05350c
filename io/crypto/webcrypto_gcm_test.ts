/**
 * The WebCrypto AES-GCM sealer and opener against the portable one: the same bytes
 * synchronously (no driver), deferred (sealing left pending, opening prepared ahead),
 * and mixed, across packet sizes on both sides of the threshold; a flipped byte fails
 * only its own packet.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GcmOpener, GcmSealer } from "../../core/crypto/noble_aes_gcm.ts";
import type { DirectionKeys } from "../../core/crypto/types.ts";
import { WebCryptoGcmOpener, WebCryptoGcmSealer } from "./webcrypto_gcm.ts";
import { isDeferredOpener, isDeferredSealer } from "./deferred.ts";

function keys(keyLength: number): DirectionKeys {
  const iv = new Uint8Array(12).map((_, i) => 0xa0 + i);
  iv[11] = 0xfe; // the invocation counter carries into the next byte after two packets
  return {
    encKey: new Uint8Array(keyLength).map((_, i) => i * 7 + 1),
    iv,
    macKey: new Uint8Array(0),
  };
}

/** A packet as the transport lays it out: length, padding length, payload, padding; tag after. */
function packet(size: number, fill: number): { packet: Uint8Array; tag: Uint8Array } {
  const buf = new Uint8Array(4 + size + 16);
  new DataView(buf.buffer).setUint32(0, size);
  buf[4] = 4;
  for (let i = 5; i < 4 + size; i++) buf[i] = (i * 31 + fill) & 0xff;
  return { packet: buf.subarray(0, 4 + size), tag: buf.subarray(4 + size) };
}

const SIZES = [16, 48, 1008, 1024, 4096, 32768, 64, 2048, 16, 35008];

function nobleSealed(k: DirectionKeys): Uint8Array[] {
  const s = new GcmSealer(k);
  return SIZES.map((n, i) => {
    const p = packet(n, i);
    s.seal(i, p.packet, p.tag);
    return new Uint8Array(p.packet.buffer);
  });
}

for (const keyLength of [16, 32]) {
  const alg = keyLength === 16 ? "aes-128-gcm" : "aes-256-gcm";

  test(`WebCryptoGcmSealer seals as the portable sealer, without and with a driver (${alg})`, async () => {
    const k = keys(keyLength);
    const want = nobleSealed(k);
    const sync = new WebCryptoGcmSealer(alg, k, 1024);
    assert.ok(isDeferredSealer(sync));
    SIZES.forEach((n, i) => {
      const p = packet(n, i);
      sync.seal(i, p.packet, p.tag);
      assert.deepEqual(new Uint8Array(p.packet.buffer), want[i], `sync packet ${i}`);
    });
    const deferred = new WebCryptoGcmSealer(alg, k, 1024);
    const pending: { packet: Uint8Array; done: Promise<void> }[] = [];
    // The first two packets go before the driver attaches: synchronously.
    const got = SIZES.map((n, i) => {
      if (i === 2) deferred.attachDeferred((packet, done) => pending.push({ packet, done }));
      const p = packet(n, i);
      deferred.seal(i, p.packet, p.tag);
      return p;
    });
    // Only large packets after attaching were left pending.
    assert.equal(pending.length, SIZES.slice(2).filter((n) => n >= 1024).length);
    await Promise.all(pending.map((p) => p.done));
    got.forEach((p, i) =>
      assert.deepEqual(new Uint8Array(p.packet.buffer), want[i], `deferred packet ${i}`)
    );
  });

  test(`WebCryptoGcmOpener opens prepared and unprepared packets in order (${alg})`, async () => {
    const k = keys(keyLength);
    const sealed = nobleSealed(k);
    const plain = SIZES.map((n, i) => new Uint8Array(packet(n, i).packet.buffer));
    const o = new WebCryptoGcmOpener(alg, k, 1024);
    assert.ok(isDeferredOpener(o));
    // Packets 0–1 unprepared (the engine read them before the driver took over), then
    // 2–8 prepared ahead, 9 unprepared again.
    for (let i = 0; i < 2; i++) {
      const raw = sealed[i]!.slice();
      const n = SIZES[i]!;
      const out = o.openDetached(i, raw.subarray(0, 4 + n), raw.subarray(4 + n));
      assert.deepEqual(out, plain[i]!.subarray(4, 4 + n), `unprepared ${i}`);
    }
    const raws = sealed.map((s) => s.slice());
    raws[5]![100]! ^= 1; // corrupt one prepared packet
    const ready = [];
    for (let i = 2; i < 9; i++) ready.push(o.prepare(raws[i]!));
    assert.equal(
      ready.filter((r) => r === undefined).length,
      3,
      "small packets open synchronously",
    );
    await Promise.all(ready);
    for (let i = 2; i < 10; i++) {
      const n = SIZES[i]!;
      const raw = raws[i]!;
      const out = o.openDetached(i, raw.subarray(0, 4 + n), raw.subarray(4 + n));
      if (i === 5) assert.equal(out, null, "the corrupted packet fails");
      else assert.deepEqual(out, plain[i]!.subarray(4, 4 + n), `packet ${i}`);
    }
  });

  test(`WebCryptoGcmOpener.open decrypts in place like the portable opener (${alg})`, () => {
    const k = keys(keyLength);
    const sealed = nobleSealed(k);
    const ours = new WebCryptoGcmOpener(alg, k, 1024);
    const noble = new GcmOpener(k);
    SIZES.forEach((n, i) => {
      const a = sealed[i]!.slice(), b = sealed[i]!.slice();
      assert.equal(ours.open(i, a.subarray(0, 4 + n), a.subarray(4 + n)), true);
      assert.equal(noble.open(i, b.subarray(0, 4 + n), b.subarray(4 + n)), true);
      assert.deepEqual(a.subarray(0, 4 + n), b.subarray(0, 4 + n));
    });
  });
}
