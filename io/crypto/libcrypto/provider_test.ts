/**
 * The libcrypto provider (the system's OpenSSL 3 through Deno's and Bun's FFI):
 * the same bytes as the portable provider for every algorithm it takes, both
 * ways, tampering refused, settings honoured, and a connection to our own server
 * that moves data through it with each cipher. On Node it must report itself
 * unavailable. CI (SSH_CONFORMANCE=required) has libcrypto.so.3: there a Deno or
 * Bun run that cannot load it fails instead of skipping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { getCipherInfo, getMacInfo, getPacketProtection } from "../../../core/crypto/registry.ts";
import type { PacketOpener, PacketSealer } from "../../../core/crypto/types.ts";
import { seededRandom } from "../../../core/random.ts";
import { generatePrivateKey } from "../../../keys/generate.ts";
import { connect } from "../../client/connect.ts";
import { currentRuntime, envVar } from "../../runtime/env.ts";
import { listen } from "../../server/listen.ts";
import { libcryptoAlgorithms } from "../suite.ts";
import { libcrypto, loadLibcrypto } from "./binding.ts";
import { createLibcryptoPacketProtection, LIBCRYPTO_PROVIDER, LIBCRYPTO_WINS } from "./provider.ts";

const runtime = currentRuntime();
const loaded = libcrypto();
const required = envVar("SSH_CONFORMANCE") === "required";
const linux = (globalThis as { process?: { platform?: string } }).process?.platform === "linux";
const ffiRuntime = runtime === "deno" || runtime === "bun";
/** Why the libcrypto tests cannot run here, or undefined when they can. */
const skip = loaded.available ? undefined : ffiRuntime && linux && required
  ? undefined // fail below: CI has libcrypto
  : `libcrypto not loaded here: ${loaded.available ? "" : loaded.reason}`;

const CASES: readonly (readonly [string, string | null])[] = [
  ["aes128-gcm@openssh.com", null],
  ["aes256-gcm@openssh.com", null],
  ["chacha20-poly1305@openssh.com", null],
  ["aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes192-ctr", "hmac-sha1-etm@openssh.com"],
  ["aes256-ctr", "hmac-sha2-512"],
  ["aes128-cbc", "hmac-sha2-256"],
  ["aes256-cbc", "hmac-sha2-512-etm@openssh.com"],
  ["aes128-ctr", "umac-64-etm@openssh.com"],
  ["aes256-ctr", "umac-128@openssh.com"],
];

function lib() {
  if (!loaded.available) throw new Error(`libcrypto must load here: ${loaded.reason}`);
  return loaded.lib;
}

function pair(cipherName: string, macName: string | null) {
  const cipher = getCipherInfo(cipherName)!;
  const mac = macName === null ? null : getMacInfo(macName)!;
  const keys = {
    encKey: crypto.getRandomValues(new Uint8Array(cipher.keyLength)),
    iv: crypto.getRandomValues(new Uint8Array(cipher.ivLength)),
    macKey: crypto.getRandomValues(new Uint8Array(mac?.keyLength ?? 0)),
  };
  const ours = createLibcryptoPacketProtection(lib());
  const portable = getPacketProtection({ provider: "noble" });
  return {
    ours: {
      sealer: ours.createSealer(cipher, mac, keys),
      opener: ours.createOpener(cipher, mac, keys),
    },
    portable: {
      sealer: portable.createSealer(cipher, mac, keys),
      opener: portable.createOpener(cipher, mac, keys),
    },
  };
}

/** A random packet of about `size` bytes whose length suits `sealer`, length field set. */
function packet(sealer: PacketSealer, size: number): Uint8Array {
  const block = Math.max(8, sealer.blockSize);
  let len = Math.max(block, size - (size % block));
  if (!sealer.lengthInClear) len += block - 4; // 4 + len must be a whole number of blocks
  const p = crypto.getRandomValues(new Uint8Array(4 + len));
  new DataView(p.buffer).setUint32(0, len);
  return p;
}

function openOne(o: PacketOpener, seq: number, p: Uint8Array, tag: Uint8Array): boolean {
  const len = o.decryptLength(seq, p.slice(0, o.firstBlockLength));
  assert.equal(len, p.length - 4, "decryptLength");
  return o.open(seq, p, tag);
}

test("libcrypto loads on Deno and Bun on Linux, and is reported unavailable on Node", () => {
  if (runtime === "node") {
    assert.equal(loaded.available, false);
    assert.match(loaded.available ? "" : loaded.reason, /no foreign function interface/);
    assert.deepEqual(libcryptoAlgorithms(), []);
    return;
  }
  if (!linux || (!required && !loaded.available)) {
    assert.ok(true, `not checked here (${loaded.available ? "" : loaded.reason})`);
    return;
  }
  assert.equal(loaded.available, true, loaded.available ? "" : loaded.reason);
  assert.ok(LIBCRYPTO_WINS[runtime].includes("chacha20-poly1305@openssh.com"));
  for (const c of LIBCRYPTO_WINS[runtime]) {
    assert.ok(libcryptoAlgorithms().includes(c), `${c} goes to libcrypto`);
  }
});

test("SSH_LIBCRYPTO=0 turns libcrypto off; a named file that cannot load says which", () => {
  assert.deepEqual(loadLibcrypto("0"), {
    available: false,
    reason: "SSH_LIBCRYPTO turns it off",
  });
  const missing = loadLibcrypto("/nonexistent/libcrypto-missing.so.3");
  assert.equal(missing.available, false);
  if (ffiRuntime) {
    assert.match(missing.available ? "" : missing.reason, /nonexistent\/libcrypto-missing/);
  }
});

test("every algorithm seals the portable provider's bytes and opens them, both ways", {
  skip,
}, () => {
  for (const [cipherName, macName] of CASES) {
    const { ours, portable } = pair(cipherName, macName);
    const what = `${cipherName} ${macName ?? ""}`;
    // Sequence numbers run through the 32-bit wrap (chacha20-poly1305's nonce).
    const first = cipherName.startsWith("chacha") ? 0xffff_fff0 : 0;
    for (let i = 0; i < 40; i++) {
      const seq = (first + i) >>> 0;
      const size = [16, 32, 64, 100, 1024, 4096, 32768, 35000][i % 8]! + i;
      // Ours seal, portable opens.
      const p = packet(ours.sealer, size);
      const plain = p.slice();
      const a = p.slice(), b = p.slice();
      const ta = new Uint8Array(ours.sealer.tagLength), tb = new Uint8Array(ta.length);
      ours.sealer.seal(seq, a, ta);
      portable.sealer.seal(seq, b, tb);
      assert.deepEqual(a, b, `${what} seq ${seq}: the same ciphertext`);
      assert.deepEqual(ta, tb, `${what} seq ${seq}: the same tag`);
      assert.ok(openOne(portable.opener, seq, b, tb), `${what}: portable opens ours`);
      assert.ok(openOne(ours.opener, seq, a, ta), `${what}: ours opens portable's`);
      assert.deepEqual(a.subarray(4), plain.subarray(4), `${what}: the plaintext back`);
      assert.deepEqual(a.subarray(4), b.subarray(4));
    }
  }
});

test("a changed byte anywhere in the packet or tag is refused", { skip }, () => {
  for (const [cipherName, macName] of CASES) {
    const what = `${cipherName} ${macName ?? ""}`;
    for (const where of ["length", "body", "tag"] as const) {
      const { ours } = pair(cipherName, macName);
      const p = packet(ours.sealer, 256);
      const tag = new Uint8Array(ours.sealer.tagLength);
      ours.sealer.seal(7, p, tag);
      if (where === "length") p[3]! ^= 0x10;
      else if (where === "body") p[p.length - 9]! ^= 1;
      else tag[tag.length - 1]! ^= 0x80;
      const sent = p.slice();
      // A changed length (encrypted or not) makes another packet: open it at its true size.
      ours.opener.decryptLength(7, p.slice(0, ours.opener.firstBlockLength));
      assert.equal(ours.opener.open(7, p, tag), false, `${what}: ${where} changed`);
      if (cipherName.includes("-gcm@")) {
        // libcrypto decrypts before it checks: nothing unauthenticated may stay.
        const zeroed = p.subarray(4).every((x) => x === 0);
        assert.ok(zeroed, `${what}: no unauthenticated plaintext left`);
      } else if (cipherName.startsWith("chacha") || macName!.includes("-etm@")) {
        assert.deepEqual(p, sent, `${what}: the tag is checked before anything is decrypted`);
      }
    }
  }
});

test("random packets, tags and lengths never make an opener throw", { skip }, () => {
  // Peer input reaches the openers as it came off the wire: ragged sizes included.
  const rnd = seededRandom(0x11bc);
  for (const [cipherName, macName] of CASES) {
    const { ours } = pair(cipherName, macName);
    const o = ours.opener;
    for (let i = 0; i < 60; i++) {
      const len = 4 + (rnd(2)[0]! % 300) * o.blockSize + (i % 3 === 0 ? rnd(1)[0]! % 5 : 0);
      const tagLen = i % 7 === 0 ? rnd(1)[0]! % o.tagLength : o.tagLength;
      o.decryptLength(i, rnd(o.firstBlockLength));
      assert.equal(o.open(i, rnd(len), rnd(tagLen)), false, `${cipherName} ${macName ?? ""}`);
    }
  }
});

test("bad keys and packets are refused with RangeErrors, not crashes", { skip }, () => {
  const f = createLibcryptoPacketProtection(lib());
  const gcm = getCipherInfo("aes128-gcm@openssh.com")!;
  const short = { encKey: new Uint8Array(8), iv: new Uint8Array(12), macKey: new Uint8Array(0) };
  assert.throws(() => f.createSealer(gcm, null, short));
  const keys = { encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0) };
  const s = f.createSealer(gcm, null, keys);
  assert.throws(() => s.seal(0, new Uint8Array(4 + 15), new Uint8Array(16)), RangeError);
  assert.throws(() => s.seal(0, new Uint8Array(4 + 16), new Uint8Array(8)), RangeError);
  // A cipher description whose lengths do not match its name: libcrypto would read past them.
  const wrong = { ...getCipherInfo("aes256-ctr")!, keyLength: 4, ivLength: 4 };
  const mac = getMacInfo("hmac-sha2-256")!;
  const tiny = { encKey: new Uint8Array(4), iv: new Uint8Array(4), macKey: new Uint8Array(32) };
  assert.throws(() => f.createSealer(wrong, mac, tiny), /aes256-ctr takes a 32-byte key/);
  assert.throws(() => f.createOpener(gcm, null, { ...keys, iv: new Uint8Array(8) }), /IV/);
  const o = f.createOpener(gcm, null, keys);
  assert.equal(o.open(0, new Uint8Array(4 + 15), new Uint8Array(16)), false);
  assert.equal(o.open(0, new Uint8Array(4 + 16), new Uint8Array(4)), false);
  assert.equal(f.supports("aes128-ctr", null), false, "a non-AEAD cipher needs a MAC");
  assert.equal(f.supports("3des-cbc", "hmac-sha1"), false);
});

test(
  "connections to our server move data through libcrypto with each cipher",
  { skip },
  async () => {
    await using server = await listen({
      port: 0,
      hostKeys: [generatePrivateKey("ed25519")],
      authFailureDelay: 0,
      validatePassword: () => true,
      encryptionAlgs: [...new Set(CASES.map(([c]) => c))],
      macAlgs: [...new Set(CASES.flatMap(([, m]) => m === null ? [] : [m]))],
      processFactory: async (p) => {
        for await (const chunk of p.stdin) await p.write(chunk);
      },
    });
    const data = new Uint8Array(300_000);
    for (let at = 0; at < data.length; at += 65_536) {
      crypto.getRandomValues(data.subarray(at, at + 65_536));
    }
    for (const [cipher, mac] of CASES) {
      await using conn = await connect("127.0.0.1", {
        port: server.address.port,
        username: "u",
        password: "p",
        knownHosts: null,
        agent: false,
        config: false,
        encryptionAlgs: [cipher],
        ...(mac === null ? {} : { macAlgs: [mac] }),
      });
      // Each cipher over a real connection; where this runtime gives it to libcrypto, there.
      if (LIBCRYPTO_WINS[runtime].includes(cipher)) {
        assert.deepEqual(conn.getExtraInfo().cryptoProviders, {
          send: LIBCRYPTO_PROVIDER,
          receive: LIBCRYPTO_PROVIDER,
        });
      }
      const p = await conn.createProcess("echo");
      const chunks: Uint8Array[] = [];
      const reading = (async () => {
        for await (const c of p.stdout) chunks.push(c);
      })();
      for (let at = 0; at < data.length; at += 65_536) {
        await p.write(
          data.subarray(at, at + 65_536),
        );
      }
      p.writeEof();
      await reading;
      const got = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) got.set(c, (at += c.length) - c.length);
      assert.deepEqual(got, data, `${cipher}: the bytes came back`);
    }
  },
);

test("Deno without the ffi permission does not load libcrypto, and does not prompt", {
  skip: runtime === "deno" ? undefined : "Deno only",
}, () => {
  const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno;
  const script = fileURLToPath(new URL("./_no_ffi_probe_test_util.ts", import.meta.url));
  // No env permission either: reading SSH_LIBCRYPTO must neither throw nor prompt.
  const r = spawnSync(deno.execPath(), ["run", "--quiet", "--allow-read", script], {
    encoding: "utf8",
    timeout: 60_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  assert.equal(r.status, 0, r.stderr);
  const status = JSON.parse(r.stdout.trim());
  assert.equal(status.available, false);
  assert.match(status.reason, /ffi permission/);
});
