/**
 * The libcrypto provider claims an algorithm only once libcrypto gave its known answer:
 * a library that loads but cannot do an algorithm (its contexts fail to initialise, as
 * with an OpenSSL configuration that fetches no AES) or gives wrong bytes is left to the
 * other providers instead of failing (or corrupting) every connection that negotiates it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getCipherInfo, getMacInfo, getPacketProtection } from "../../../core/crypto/registry.ts";
import { toHex } from "../../../core/wire.ts";
import { NobleHmac } from "../../../core/crypto/noble_hmac.ts";
import { AesCbc, AesCtr } from "../../../core/crypto/noble_aes.ts";
import { currentRuntime } from "../../runtime/env.ts";
import { libcrypto, type LibCryptoSymbols } from "./binding.ts";
import { createLibcryptoPacketProtection, LIBCRYPTO_WINS } from "./provider.ts";
import { KNOWN_ANSWERS, libcryptoPasses } from "./known_answers.ts";

const CIPHERS = [
  "chacha20-poly1305@openssh.com",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
  "aes128-cbc",
  "aes192-cbc",
  "aes256-cbc",
];
const MACS = [
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha1",
  "hmac-sha2-512",
  "umac-64-etm@openssh.com",
];

function bytes(n: number, f: (i: number) => number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);
}

/**
 * A library with every symbol, reporting OpenSSL 3, whose calls all "succeed" (or, with
 * `failInit`, whose EVP_CipherInit_ex fails): ciphers leave data as it is and MACs are zero.
 */
function fakeLib(failInit: boolean): LibCryptoSymbols {
  const ok = () => 1;
  const ptr = () => ({});
  const none = () => {};
  const setLen = (outl: Uint8Array, n: number) => {
    new DataView(outl.buffer, outl.byteOffset, 4).setInt32(0, n, true);
  };
  return {
    OpenSSL_version_num: () => 0x30000020,
    EVP_CIPHER_CTX_new: ptr,
    EVP_CIPHER_CTX_free: none,
    EVP_CIPHER_CTX_set_padding: ok,
    EVP_CipherInit_ex: () => (failInit ? 0 : 1),
    EVP_CipherUpdate: (_ctx, out, outl, input, inl) => {
      if (out !== null && out !== input) out.set(input.subarray(0, inl));
      setLen(outl, inl);
      return 1;
    },
    EVP_CipherFinal_ex: (_ctx, _out, outl) => (setLen(outl, 0), 1),
    EVP_CIPHER_CTX_ctrl: ok,
    EVP_aes_128_gcm: ptr,
    EVP_aes_256_gcm: ptr,
    EVP_aes_128_ctr: ptr,
    EVP_aes_192_ctr: ptr,
    EVP_aes_256_ctr: ptr,
    EVP_aes_128_cbc: ptr,
    EVP_aes_192_cbc: ptr,
    EVP_aes_256_cbc: ptr,
    EVP_chacha20: ptr,
    EVP_MAC_fetch: ptr,
    EVP_MAC_free: none,
    EVP_MAC_CTX_new: ptr,
    EVP_MAC_CTX_free: none,
    EVP_MAC_init: ok,
    EVP_MAC_update: ok,
    EVP_MAC_final: ok,
    HMAC_CTX_new: ptr,
    HMAC_CTX_free: none,
    HMAC_Init_ex: ok,
    HMAC_Update: ok,
    HMAC_Final: ok,
    EVP_sha1: ptr,
    EVP_sha256: ptr,
    EVP_sha512: ptr,
  };
}

test("the known answers are the portable provider's bytes", () => {
  const portable = getPacketProtection({ provider: "noble" });
  for (const name of CIPHERS) {
    const info = getCipherInfo(name)!;
    const key = bytes(info.keyLength, (i) => i + 1);
    const iv = bytes(info.ivLength, (i) => 0xa0 + i);
    const d = bytes(info.aead ? 36 : 32, (i) => i * 7 + 3);
    let got: Uint8Array;
    if (info.aead) {
      d.set([0, 0, 0, 32]);
      const tag = new Uint8Array(16);
      portable.createSealer(info, null, { encKey: key, iv, macKey: new Uint8Array(0) })
        .seal(7, d, tag);
      got = new Uint8Array([...d, ...tag]);
    } else {
      if (name.endsWith("-ctr")) new AesCtr(key, iv, "128").xor(d, 0, 32);
      else new AesCbc(key, iv, "encrypt").process(d, 0, 32);
      got = d;
    }
    assert.equal(KNOWN_ANSWERS[name], toHex(got), name);
  }
  for (const [hash, length] of [["sha1", 20], ["sha256", 32], ["sha512", 64]] as const) {
    const mac = new NobleHmac(hash, bytes(length, (i) => i + 1));
    const out = new Uint8Array(mac.length);
    mac.compute(7, bytes(36, (i) => i * 7 + 3), 0, 36, out);
    assert.equal(KNOWN_ANSWERS[`hmac-${hash}`], toHex(out), hash);
  }
});

test("a libcrypto whose cipher contexts cannot be keyed takes no algorithm (no throw)", () => {
  const f = createLibcryptoPacketProtection(fakeLib(true));
  for (const c of CIPHERS) {
    if (getCipherInfo(c)!.aead) assert.equal(f.supports(c, null), false, c);
    else for (const m of MACS) assert.equal(f.supports(c, m), false, `${c} ${m}`);
  }
});

test("a libcrypto that gives wrong bytes takes no algorithm", () => {
  const lib = fakeLib(false);
  const f = createLibcryptoPacketProtection(lib);
  for (const c of CIPHERS) {
    if (getCipherInfo(c)!.aead) assert.equal(f.supports(c, null), false, c);
    else for (const m of MACS) assert.equal(f.supports(c, m), false, `${c} ${m}`);
  }
  for (const h of ["hmac-sha1", "hmac-sha256", "hmac-sha512"]) {
    assert.equal(libcryptoPasses(lib, h), false, h);
  }
  assert.equal(libcryptoPasses(lib, "no-such-cipher"), false);
});

const loaded = libcrypto();
const skip = loaded.available ? undefined : "libcrypto not loaded here";

test("the system's libcrypto passes for every algorithm it takes here", { skip }, () => {
  if (!loaded.available) return;
  const f = createLibcryptoPacketProtection(loaded.lib);
  for (const c of LIBCRYPTO_WINS[currentRuntime()]) {
    assert.equal(libcryptoPasses(loaded.lib, c), true, c);
    const mac = getCipherInfo(c)!.aead ? null : "hmac-sha2-256";
    assert.equal(f.supports(c, mac), true, c);
    if (mac !== null) assert.ok(getMacInfo(mac));
  }
  for (const h of ["hmac-sha1", "hmac-sha256", "hmac-sha512"]) {
    assert.equal(libcryptoPasses(loaded.lib, h), true, h);
  }
});

test(
  "an OpenSSL configured to fetch no algorithm registers none (the other providers serve)",
  { skip },
  () => {
    const runtime = currentRuntime();
    const dir = mkdtempSync(join(tmpdir(), "sshts-libcrypto-conf-"));
    try {
      const conf = join(dir, "openssl.cnf");
      // default_properties fips=yes with no FIPS provider loaded: every fetch fails.
      writeFileSync(
        conf,
        "openssl_conf = init\n[init]\nalg_section = algs\n[algs]\ndefault_properties = fips=yes\n",
      );
      const script = fileURLToPath(new URL("./_known_answers_probe_test_util.ts", import.meta.url));
      const exec = (globalThis as { process?: { execPath?: string } }).process!.execPath!;
      const args = runtime === "deno" ? ["run", "--quiet", "-A", script] : [script];
      const r = spawnSync(exec, args, {
        encoding: "utf8",
        timeout: 60_000,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          OPENSSL_CONF: conf,
          SSH_LIBCRYPTO: loaded.available ? loaded.path : "",
        },
      });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim());
      assert.equal(out.available, true);
      assert.deepEqual(out.registered, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
