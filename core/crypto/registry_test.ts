import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import {
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  getCipherInfo,
  getMacInfo,
  getPacketProtection,
  INSECURE_CIPHERS,
  INSECURE_MACS,
  listPacketProtectionProviders,
  OPTIONAL_CIPHERS,
  OPTIONAL_MACS,
  registerPacketProtection,
  selectPacketProtectionProvider,
  SUPPORTED_CIPHERS,
  SUPPORTED_MACS,
  unregisterPacketProtection,
  UnsupportedAlgorithmError,
} from "./registry.ts";
import type { PacketProtectionFactory } from "./types.ts";
import { keysFor } from "./_test_util.ts";

test("DEFAULT_CIPHERS and DEFAULT_MACS follow OpenSSH 9.x/10.x's order", () => {
  assert.deepEqual(DEFAULT_CIPHERS, [
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
  ]);
  assert.deepEqual(DEFAULT_MACS, [
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
  ]);
});

test("SUPPORTED lists are the defaults plus the optional and insecure ones, which are off by default", () => {
  assert.deepEqual(INSECURE_CIPHERS, [
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "3des-cbc",
    "blowfish-cbc",
    "cast128-cbc",
    "seed-cbc@ssh.com",
    "arcfour256",
    "arcfour128",
    "arcfour",
  ]);
  assert.deepEqual(SUPPORTED_CIPHERS, [
    ...DEFAULT_CIPHERS,
    ...OPTIONAL_CIPHERS,
    ...INSECURE_CIPHERS,
  ]);
  assert.deepEqual(SUPPORTED_MACS, [...DEFAULT_MACS, ...OPTIONAL_MACS, ...INSECURE_MACS]);
  for (const n of [...OPTIONAL_CIPHERS, ...INSECURE_CIPHERS]) {
    assert.equal(DEFAULT_CIPHERS.includes(n), false);
  }
  for (const n of [...OPTIONAL_MACS, ...INSECURE_MACS]) {
    assert.equal(DEFAULT_MACS.includes(n), false);
  }
  assert.equal(new Set(SUPPORTED_CIPHERS).size, SUPPORTED_CIPHERS.length);
  assert.equal(new Set(SUPPORTED_MACS).size, SUPPORTED_MACS.length);
  for (const n of SUPPORTED_CIPHERS) assert.equal(getCipherInfo(n)?.name, n);
  for (const n of SUPPORTED_MACS) assert.equal(getMacInfo(n)?.name, n);
});

test("getCipherInfo() and getMacInfo() give key, IV, block and tag sizes", () => {
  assert.deepEqual(getCipherInfo("chacha20-poly1305@openssh.com"), {
    name: "chacha20-poly1305@openssh.com",
    keyLength: 64,
    ivLength: 0,
    blockSize: 8,
    aead: true,
    tagLength: 16,
  });
  assert.deepEqual(
    [
      getCipherInfo("aes256-gcm@openssh.com")!.keyLength,
      getCipherInfo("aes256-gcm@openssh.com")!.ivLength,
    ],
    [32, 12],
  );
  assert.equal(getCipherInfo("aes192-ctr")!.keyLength, 24);
  assert.equal(getCipherInfo("aes128-ctr")!.aead, false);
  assert.deepEqual(getMacInfo("hmac-sha1-etm@openssh.com"), {
    name: "hmac-sha1-etm@openssh.com",
    keyLength: 20,
    macLength: 20,
    etm: true,
  });
  assert.equal(getMacInfo("hmac-sha2-512")!.etm, false);
  assert.deepEqual(getCipherInfo("3des-cbc"), {
    name: "3des-cbc",
    keyLength: 24,
    ivLength: 8,
    blockSize: 8,
    aead: false,
    tagLength: 0,
  });
  assert.equal(getCipherInfo("seed-cbc@ssh.com")!.blockSize, 16);
  assert.deepEqual([getCipherInfo("arcfour256")!.keyLength, getCipherInfo("arcfour")!.ivLength], [
    32,
    0,
  ]);
  assert.deepEqual(getMacInfo("hmac-sha2-512-96-etm@openssh.com"), {
    name: "hmac-sha2-512-96-etm@openssh.com",
    keyLength: 64,
    macLength: 12,
    etm: true,
  });
  // SSH.com's hmac-sha256 keys HMAC-SHA-256 with 16 bytes (AsyncSSH's table agrees).
  assert.deepEqual(
    [getMacInfo("hmac-sha256@ssh.com")!.keyLength, getMacInfo("hmac-sha256@ssh.com")!.macLength],
    [16, 32],
  );
  assert.equal(getCipherInfo("des-cbc"), undefined);
  assert.deepEqual(getMacInfo("umac-64@openssh.com"), {
    name: "umac-64@openssh.com",
    keyLength: 16,
    macLength: 8,
    etm: false,
  });
  assert.deepEqual(
    [
      getMacInfo("umac-128-etm@openssh.com")!.keyLength,
      getMacInfo("umac-128-etm@openssh.com")!.macLength,
    ],
    [16, 16],
  );
  assert.equal(getMacInfo("umac-32@openssh.com"), undefined);
});

/** A fake provider that delegates to noble but reports its own name. */
function fakeProvider(name: string): PacketProtectionFactory {
  const noble = getPacketProtection({ provider: "noble" });
  return {
    provider: name,
    createSealer: (c, m, k) => ({ ...noble.createSealer(c, m, k), provider: name }),
    createOpener: (c, m, k) => ({ ...noble.createOpener(c, m, k), provider: name }),
  };
}

/**
 * Runs `fn` with only the noble provider registered, restoring the others after:
 * Bun runs every test file in one process, so providers other files registered
 * (the native one) are visible here.
 */
function withOnlyNoble(fn: () => void): void {
  const saved = listPacketProtectionProviders().filter((e) => e.name !== "noble");
  for (const e of saved) unregisterPacketProtection(e.name);
  try {
    fn();
  } finally {
    for (const e of saved) {
      registerPacketProtection(e.factory, {
        priority: e.priority,
        supports: (c, m) => e.supports(c, m),
      });
    }
  }
}

test("getPacketProtection() picks the highest-priority provider that supports the pair", () => {
  withOnlyNoble(() => {
    const rnd = seededRandom(1);
    const gcm = getCipherInfo("aes128-gcm@openssh.com")!;
    const ctr = getCipherInfo("aes128-ctr")!;
    const sha = getMacInfo("hmac-sha2-256")!;
    try {
      registerPacketProtection(fakeProvider("fast-gcm"), {
        priority: 10,
        supports: (c) => c.endsWith("-gcm@openssh.com"),
      });
      registerPacketProtection(fakeProvider("everything"), { priority: 5 });
      assert.deepEqual(listPacketProtectionProviders().map((e) => e.name), [
        "fast-gcm",
        "everything",
        "noble",
      ]);
      const auto = getPacketProtection();
      assert.equal(auto.createSealer(gcm, null, keysFor(rnd, gcm, null)).provider, "fast-gcm");
      assert.equal(auto.createOpener(ctr, sha, keysFor(rnd, ctr, sha)).provider, "everything");
      assert.equal(
        selectPacketProtectionProvider("aes128-ctr", "hmac-sha2-256")?.name,
        "everything",
      );
      // A MAC passed with an AEAD cipher is ignored.
      assert.equal(
        selectPacketProtectionProvider("aes128-gcm@openssh.com", "hmac-sha1")?.name,
        "fast-gcm",
      );
      unregisterPacketProtection("everything");
      assert.equal(auto.createSealer(ctr, sha, keysFor(rnd, ctr, sha)).provider, "noble");
    } finally {
      unregisterPacketProtection("fast-gcm");
      unregisterPacketProtection("everything");
    }
    assert.deepEqual(listPacketProtectionProviders().map((e) => e.name), ["noble"]);
  });
});

test("getPacketProtection({ provider }) forces one provider and refuses what it lacks", () => {
  const rnd = seededRandom(2);
  const gcm = getCipherInfo("aes256-gcm@openssh.com")!;
  const ctr = getCipherInfo("aes256-ctr")!;
  const sha = getMacInfo("hmac-sha2-512-etm@openssh.com")!;
  try {
    registerPacketProtection(fakeProvider("gcm-only"), {
      priority: 1,
      supports: (c) => c === "aes256-gcm@openssh.com",
    });
    const only = getPacketProtection({ provider: "gcm-only" });
    assert.equal(only.provider, "gcm-only");
    assert.equal(only.createSealer(gcm, null, keysFor(rnd, gcm, null)).provider, "gcm-only");
    assert.throws(
      () => only.createSealer(ctr, sha, keysFor(rnd, ctr, sha)),
      UnsupportedAlgorithmError,
    );
    const noble = getPacketProtection({ provider: "noble" });
    assert.equal(noble.createSealer(gcm, null, keysFor(rnd, gcm, null)).provider, "noble");
  } finally {
    unregisterPacketProtection("gcm-only");
  }
  assert.throws(() => getPacketProtection({ provider: "nope" }), LocalProtocolError);
});

test("registerPacketProtection() uses the factory's own supports() and protects the noble name", () => {
  withOnlyNoble(() => {
    try {
      const f = Object.assign(fakeProvider("self-describing"), {
        supports: (c: string, _m: string | null) => c === "aes192-ctr",
      });
      registerPacketProtection(f, { priority: 3 });
      assert.equal(
        selectPacketProtectionProvider("aes192-ctr", "hmac-sha1")?.name,
        "self-describing",
      );
      assert.equal(selectPacketProtectionProvider("aes128-ctr", "hmac-sha1")?.name, "noble");
    } finally {
      unregisterPacketProtection("self-describing");
    }
    assert.throws(
      () => registerPacketProtection(fakeProvider("noble"), { priority: 99 }),
      LocalProtocolError,
    );
    assert.equal(unregisterPacketProtection("noble"), false);
  });
});

test("getPacketProtection() throws for a cipher nobody implements", () => {
  const fake = { ...getCipherInfo("aes128-ctr")!, name: "des-cbc" };
  const keys = { encKey: new Uint8Array(16), iv: new Uint8Array(16), macKey: new Uint8Array(20) };
  assert.throws(
    () => getPacketProtection().createSealer(fake, getMacInfo("hmac-sha1")!, keys),
    UnsupportedAlgorithmError,
  );
});
