import { test } from "node:test";
import assert from "node:assert/strict";
import { ecb } from "@noble/ciphers/aes.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { shake256 } from "@noble/hashes/sha3.js";
import {
  PqInputError,
  type RandomBytes,
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  SNTRUP761_SECRET_KEY_BYTES,
  SNTRUP761_SHARED_SECRET_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761Keypair,
} from "./sntrup761.ts";

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
const digest = (b: Uint8Array): string => hex(sha256(b));

/**
 * The NIST PQC AES-256 CTR DRBG (rng.c of the submission package, used by
 * PQCgenKAT_kem to make kat_kem.rsp), without a personalization string.
 */
class NistDrbg {
  private key = new Uint8Array(32);
  private v = new Uint8Array(16);

  constructor(entropy: Uint8Array) {
    this.update(entropy);
  }

  private block(): Uint8Array {
    for (let j = 15; j >= 0; j--) {
      this.v[j] = (this.v[j]! + 1) & 255;
      if (this.v[j] !== 0) break;
    }
    return ecb(this.key, { disablePadding: true }).encrypt(this.v);
  }

  private update(provided?: Uint8Array): void {
    const t = new Uint8Array(48);
    for (let i = 0; i < 3; i++) t.set(this.block(), 16 * i);
    if (provided) { for (let i = 0; i < 48; i++) t[i] = t[i]! ^ provided[i]!; }
    this.key = t.slice(0, 32);
    this.v = t.slice(32, 48);
  }

  /** randombytes(x, n): n bytes, then a state update. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 16) out.set(this.block().subarray(0, Math.min(16, n - o)), o);
    this.update();
    return out;
  }
}

/**
 * The reference code behind the NIST KAT draws each 32-bit word of
 * Small_random / Short_random with its own randombytes(c, 4) call (urandom32),
 * and the DRBG's output depends on call sizes; so a request for 761 words
 * becomes 761 four-byte calls. rho (191 bytes) is a single call.
 */
function nistKatRandom(seed: Uint8Array): RandomBytes {
  const drbg = new NistDrbg(seed);
  return (n) => {
    if (n !== 4 * 761) return drbg.bytes(n);
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 4) out.set(drbg.bytes(4), o);
    return out;
  };
}

/** SHAKE256(label) consumed as one byte stream, whatever the call sizes. */
function shakeStream(label: string, length = 1 << 15): RandomBytes {
  const data = shake256(new TextEncoder().encode(label), { dkLen: length });
  let pos = 0;
  return (n) => {
    if (pos + n > data.length) throw new Error("test stream exhausted");
    const out = data.slice(pos, pos + n);
    pos += n;
    return out;
  };
}

/** The shared secret of implicit rejection, computed independently: Hash0(Hash3(rho) || c). */
function rejectionSecret(secretKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const rho = secretKey.subarray(382 + 1158, 382 + 1158 + 191);
  const inner = sha512(Uint8Array.of(3, ...rho)).subarray(0, 32);
  return sha512(Uint8Array.of(0, ...inner, ...ciphertext)).subarray(0, 32);
}

// Known answers of the NIST PQC submission (kat_kem.rsp of sntrup761, counts 0
// and 1; the same vectors are test vectors 0 and 1 of the IETF draft
// draft-josefsson-ntruprime-streamlined). The shared secrets are as published;
// the public key, secret key and ciphertext are recorded as SHA-256 digests of
// the published hex values.
const NIST_KAT = [
  {
    seed: "061550234d158c5ec95595fe04ef7a25767f2e24cc2bc479d09d86dc9abcfde7" +
      "056a8c266f9ef97ed08541dbd2e1ffa1",
    pk: "d1736cf321592955c718fa191ef5b1137dd7593ff3b18d5ed733ac96e7d65ce9",
    sk: "8f8f45cef184cc93e387edc54720102e7f95247ec052ad8440d65c932d4f973d",
    ct: "beec3df6e2d1d64eb7fa4c95605ff32aff38ab0e23ff79ff61bbc9832c31e885",
    ss: "344ca5e25f6da5ea95e4a695b1c5446eca9859334532e4a9537669f012c743a2",
  },
  {
    seed: "d81c4d8d734fcbfbeade3d3f8a039faa2a2c9957e835ad55b22e75bf57bb556a" +
      "c81adde6aeeb4a5a875c3bfcadfa958f",
    pk: "0957045d6d7f8863107eaec76158bb99c9e2db4b623ca4cb8a32dc14a0abddc8",
    sk: "243b86261ba6aca015d41da37f87efd5b94ac391ebba936c579f39cc295f7f0a",
    ct: "033ae13a0c75c54cc47a14cbfcab8f88ab9e2995528e00a71514e5ef6e3d3bd0",
    ss: "16c15126f734e51268ba916ce3b39a72e171ae79b8c2b6a68b34ab0dc5621b7e",
  },
];

// Known answers of OpenSSH's own code: sntrup761.c of OpenSSH portable 10.5p1
// (the SUPERCOP 20240808 "compact" sntrup761 with SHA-512), compiled with
// `cc -O2 driver.c sntrup761.c -lcrypto` against a small driver whose
// randombytes() hands out SHAKE256(label) as one byte stream (OpenSSH draws
// 4 * 761 bytes per call, little-endian words), then runs keypair, enc and
// dec. Digests are SHA-256 of the outputs; `rejected` are the secrets its dec
// returned for the ciphertext with bit 0 of byte 0, and bit 7 of byte 1038,
// flipped. Neither the C code nor the driver is part of this repository.
const OPENSSH_KAT = [
  {
    label: "sshts sntrup761 kat 0",
    pk: "687b9d211cc6c10c3ddc7a6d5d741aba630458ed6144a22052e8ee92896020d7",
    sk: "8a3df52e6f4ecf1ca4f3f0572f7ed85e083f069be93252de5c823f084866878d",
    ct: "e05a125b1c4e85d5b0fe3f8a877cbf52a1cbc9c9cb6052555f576bf721e6a60b",
    ss: "386be120a3cae408381450285924ea012fa635fdd04f93432c2c87f9e97e142c",
    rejected: [
      "5cd658d842df6223fafae6411c0ac05076e9f7c29587e6b544f26948530fcc3c",
      "3f1d5a7e3ede6df878a358297df41a5a63322973e975863f25bf0b26374f18e2",
    ],
  },
  {
    label: "sshts sntrup761 kat 1",
    pk: "15ca4fa50b2eb0309be44a254988fd20833d94844b7cbba70210a17817cef4a1",
    sk: "54ddcbb91fd2b284885b93a96c997eb4bee0629a2178eb265dec35f1e78e323c",
    ct: "5203cb41f9b73863f1a2181d5d0e3ecbc152d0efe0e6cb94404bcfd8f3ca2020",
    ss: "c7056524e3bab0d0fc402bbe066600591bf67d27c2ab8950439c92ebcc6bfbc1",
    rejected: [],
  },
  {
    label: "sshts sntrup761 kat 2",
    pk: "fd4f2c50d5c751da984bd9bac41697b32aaa0536bc2e339c2fa2a380dc06dd5c",
    sk: "cb445be204de4f13ad21d3518cbd2ad4ff23df5d26ae06673a6ef979a106bf62",
    ct: "905c8f53c9d8f7d17665510e550f1318d0480b5f815a7328881525827e2d5603",
    ss: "5fcbc7f627ee31ebc10d8b0558f80f92a57f4c83c5ff30087598114b9145a8b0",
    rejected: [],
  },
];

test("sntrup761 sizes are those of OpenSSH's sntrup761", () => {
  assert.equal(SNTRUP761_PUBLIC_KEY_BYTES, 1158);
  assert.equal(SNTRUP761_SECRET_KEY_BYTES, 1763);
  assert.equal(SNTRUP761_CIPHERTEXT_BYTES, 1039);
  assert.equal(SNTRUP761_SHARED_SECRET_BYTES, 32);
});

test("sntrup761 test DRBG reproduces the NIST KAT seeds", () => {
  const master = new NistDrbg(Uint8Array.from({ length: 48 }, (_, i) => i));
  for (const kat of NIST_KAT) assert.equal(hex(master.bytes(48)), kat.seed);
});

test("sntrup761 keypair, encapsulate and decapsulate reproduce the NIST KAT", () => {
  for (const kat of NIST_KAT) {
    const random = nistKatRandom(fromHex(kat.seed));
    const { publicKey, secretKey } = sntrup761Keypair(random);
    assert.equal(digest(publicKey), kat.pk);
    assert.equal(digest(secretKey), kat.sk);
    const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey, random);
    assert.equal(digest(ciphertext), kat.ct);
    assert.equal(hex(sharedSecret), kat.ss);
    assert.equal(hex(sntrup761Decapsulate(ciphertext, secretKey)), kat.ss);
  }
});

test("sntrup761 matches OpenSSH's sntrup761.c on a byte-stream random source", () => {
  for (const kat of OPENSSH_KAT) {
    const random = shakeStream(kat.label);
    const { publicKey, secretKey } = sntrup761Keypair(random);
    assert.equal(digest(publicKey), kat.pk);
    assert.equal(digest(secretKey), kat.sk);
    const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey, random);
    assert.equal(digest(ciphertext), kat.ct);
    assert.equal(hex(sharedSecret), kat.ss);
    assert.equal(hex(sntrup761Decapsulate(ciphertext, secretKey)), kat.ss);
    const flips: [number, number][] = [[0, 0x01], [1038, 0x80]];
    kat.rejected.forEach((expected, i) => {
      const [byte, bit] = flips[i]!;
      const tampered = ciphertext.slice();
      tampered[byte] = tampered[byte]! ^ bit;
      assert.equal(hex(sntrup761Decapsulate(tampered, secretKey)), expected);
    });
  }
});

test("sntrup761 keypair consumes 4*761 + 4*761 + 191 random bytes", () => {
  const sizes: number[] = [];
  const random = shakeStream("sizes");
  sntrup761Keypair((n) => {
    sizes.push(n);
    return random(n);
  });
  assert.deepEqual(sizes, [3044, 3044, 191]);
  const encSizes: number[] = [];
  const { publicKey } = sntrup761Keypair(shakeStream("sizes 2"));
  sntrup761Encapsulate(publicKey, (n) => {
    encSizes.push(n);
    return random(n);
  });
  assert.deepEqual(encSizes, [3044]);
});

test("sntrup761 keypair draws a new g when the first is not invertible mod 3", () => {
  // Words 0x20000000 give coefficient 0 each: g = 0 has no reciprocal in R/3.
  const zeroG = new Uint8Array(4 * 761);
  for (let i = 3; i < zeroG.length; i += 4) zeroG[i] = 0x20;
  const plain = shakeStream("retry");
  const inner = shakeStream("retry");
  let first = true;
  const prefixed: RandomBytes = (n) => {
    if (first) {
      first = false;
      return zeroG.slice(0, n);
    }
    return inner(n);
  };
  const expected = sntrup761Keypair(plain);
  const actual = sntrup761Keypair(prefixed);
  assert.equal(hex(actual.publicKey), hex(expected.publicKey));
  assert.equal(hex(actual.secretKey), hex(expected.secretKey));
});

test("sntrup761 round-trips over many seeds", () => {
  for (let i = 0; i < 24; i++) {
    const random = shakeStream(`round trip ${i}`);
    const { publicKey, secretKey } = sntrup761Keypair(random);
    assert.equal(publicKey.length, SNTRUP761_PUBLIC_KEY_BYTES);
    assert.equal(secretKey.length, SNTRUP761_SECRET_KEY_BYTES);
    assert.deepEqual(secretKey.subarray(382, 382 + 1158), publicKey);
    for (let j = 0; j < 2; j++) {
      const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey, random);
      assert.equal(ciphertext.length, SNTRUP761_CIPHERTEXT_BYTES);
      assert.equal(sharedSecret.length, SNTRUP761_SHARED_SECRET_BYTES);
      assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedSecret);
    }
  }
});

test("sntrup761 decapsulate gives the rejection secret when any ciphertext bit flips", () => {
  const random = shakeStream("tamper");
  const { publicKey, secretKey } = sntrup761Keypair(random);
  const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey, random);
  const positions: [number, number][] = [];
  // every byte once (bit chosen by position), and every bit of bytes at the
  // edges of the rounded part and of the confirmation hash
  for (let i = 0; i < ciphertext.length; i++) positions.push([i, i % 8]);
  for (const i of [0, 1, 500, 1005, 1006, 1007, 1038]) {
    for (let b = 0; b < 8; b++) positions.push([i, b]);
  }
  for (const [i, b] of positions) {
    const tampered = ciphertext.slice();
    tampered[i] = tampered[i]! ^ (1 << b);
    const secret = sntrup761Decapsulate(tampered, secretKey);
    assert.notDeepEqual(secret, sharedSecret, `byte ${i} bit ${b}`);
    assert.deepEqual(secret, rejectionSecret(secretKey, tampered), `byte ${i} bit ${b}`);
  }
  // the untouched ciphertext still decapsulates (inputs were not modified)
  assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedSecret);
});

test("sntrup761 decapsulate never throws for garbage of the right size", () => {
  const random = shakeStream("garbage");
  const { secretKey } = sntrup761Keypair(random);
  const inputs = [
    new Uint8Array(SNTRUP761_CIPHERTEXT_BYTES),
    new Uint8Array(SNTRUP761_CIPHERTEXT_BYTES).fill(0xff),
    random(SNTRUP761_CIPHERTEXT_BYTES),
  ];
  for (const ciphertext of inputs) {
    const secret = sntrup761Decapsulate(ciphertext, secretKey);
    assert.deepEqual(secret, rejectionSecret(secretKey, ciphertext));
  }
  // a secret key of random bytes is not rejected either: decapsulation still returns 32 bytes
  assert.equal(sntrup761Decapsulate(inputs[2]!, random(SNTRUP761_SECRET_KEY_BYTES)).length, 32);
});

test("sntrup761 decapsulate is deterministic and leaves its inputs unchanged", () => {
  const random = shakeStream("determinism");
  const { publicKey, secretKey } = sntrup761Keypair(random);
  const { ciphertext } = sntrup761Encapsulate(publicKey, random);
  const skCopy = secretKey.slice();
  const ctCopy = ciphertext.slice();
  const a = sntrup761Decapsulate(ciphertext, secretKey);
  const b = sntrup761Decapsulate(ciphertext, secretKey);
  assert.deepEqual(a, b);
  assert.deepEqual(secretKey, skCopy);
  assert.deepEqual(ciphertext, ctCopy);
});

test("sntrup761 wrong lengths throw PqInputError", () => {
  const random = shakeStream("lengths");
  const { publicKey, secretKey } = sntrup761Keypair(random);
  const { ciphertext } = sntrup761Encapsulate(publicKey, random);
  const expectError = (fn: () => unknown, input: string, expected: number, actual: number) => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof PqInputError);
      assert.equal(e.code, "ERR_LOCAL_PROTOCOL");
      assert.equal(e.input, input);
      assert.equal(e.expected, expected);
      assert.equal(e.actual, actual);
      assert.equal(e.problem, "length");
      return true;
    });
  };
  expectError(() => sntrup761Encapsulate(publicKey.subarray(1), random), "publicKey", 1158, 1157);
  expectError(() => sntrup761Encapsulate(new Uint8Array(1159), random), "publicKey", 1158, 1159);
  expectError(
    () => sntrup761Decapsulate(ciphertext.subarray(0, 1038), secretKey),
    "ciphertext",
    1039,
    1038,
  );
  expectError(() => sntrup761Decapsulate(new Uint8Array(0), secretKey), "ciphertext", 1039, 0);
  expectError(
    () => sntrup761Decapsulate(ciphertext, secretKey.subarray(1)),
    "secretKey",
    1763,
    1762,
  );
  expectError(() => sntrup761Keypair((n) => new Uint8Array(n - 1)), "random", 3044, 3043);
  expectError(() => sntrup761Encapsulate(publicKey, () => new Uint8Array(10)), "random", 3044, 10);
  expectError(
    () => sntrup761Decapsulate([...ciphertext] as unknown as Uint8Array, secretKey),
    "ciphertext",
    1039,
    -1,
  );
});
