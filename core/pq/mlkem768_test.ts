import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { shake256 } from "@noble/hashes/sha3.js";
import {
  MLKEM768_CIPHERTEXT_BYTES,
  MLKEM768_PUBLIC_KEY_BYTES,
  MLKEM768_SECRET_KEY_BYTES,
  MLKEM768_SHARED_SECRET_BYTES,
  type MlKem768Backend,
  mlkem768Backend,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Keypair,
  PqInputError,
  type RandomBytes,
  registerMlKem768Backend,
} from "./mlkem768.ts";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { seededRandom, systemRandom } from "../random.ts";

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
const digest = (b: Uint8Array): string => hex(sha256(b));

/** Returns the given chunks in order, one per call; fails on a size mismatch. */
function scripted(...chunks: Uint8Array[]): RandomBytes {
  return (n) => {
    const next = chunks.shift();
    if (next === undefined || next.length !== n) throw new Error(`unexpected request of ${n}`);
    return next.slice();
  };
}

/** SHAKE256(label) consumed as one byte stream. */
function shakeStream(label: string, length = 1 << 14): RandomBytes {
  const data = shake256(new TextEncoder().encode(label), { dkLen: length });
  let pos = 0;
  return (n) => {
    const out = data.slice(pos, pos + n);
    pos += n;
    return out;
  };
}

// NIST ACVP (CAVP) ML-KEM-768 vectors for FIPS 203, as carried in libgcrypt's
// tests/t-mlkem.inp ("3 test data sets for genkey from CAVP", "3 test data
// sets for encap from CAVP"; the [Kyber-768] entries). Keys and ciphertexts
// are recorded as SHA-256 digests of the published hex values, except the
// encapsulation key of the encap vector, which is an input.
const ACVP_KEYGEN = {
  d: "e34a701c4c87582f42264ee422d3c684d97611f2523efe0c998af05056d693dc",
  z: "a85768f3486bd32a01bf9a8f21ea938e648eae4e5448c34c3eb88820b159eedd",
  ek: "7799c9d8eef172aa78c073514f2f039c240de8c5cb61bca82ba0bc46041ce279",
  dk: "104b3444c3de2b81143788d27e17648f45c80f617f906156db2258da96dead40",
};
const ACVP_ENCAP = {
  ek: [
    "89d2cb65f94dcbfc890efc7d0e5a7a38344d1641a3d0b024d50797a5f23c3a18",
    "b3101a1269069f43a842bacc098a8821271c673db1beb33034e4d7774d16635c",
    "7c2c3c2763453538bc1632e1851591a51642974e5928abb8e55fe55612f9b141",
    "aff015545394b2092e590970ec29a7b7e7aa1fb4493bf7cb731906c2a5cb49e6",
    "614859064e19b8fa26af51c44b5e7535bfdac072b646d3ea490d277f0d97ced4",
    "7395fed91e8f2bce0e3ca122c2025f74067ab928a822b35653a74f06757629af",
    "b1a1caf237100ea935e793c8f58a71b3d6ae2c8658b10150d4a38f572a0d49d2",
    "8ae89451d338326fdb3b4350036c1081117740edb86b12081c5c1223dbb5660d",
    "5b3cb3787d481849304c68be875466f14ee5495c2bd795ae412d09002d65b871",
    "9b90cba3603ac4958ea03cc138c86f7851593125334701b677f82f4952a4c93b",
    "5b4c134bb42a857fd15c650864a6aa94eb691c0b691be4684c1f5b7490467fc0",
    "1b1d1fda4dda35c4ecc231bc73a6fef42c99d34eb82a4d014987b3e386910c62",
    "679a118f3c5bd9f467e4162042424357db92ef484a4a1798c1257e870a30cb20",
    "aaa0335d83314fe0aa7e63a862648041a72a6321523220b1ace9bb701b21ac12",
    "53cb812c15575a9085eabeade73a4ae76e6a7b158a20586d78a5ac620a5c9abc",
    "c9c043350a73656b0abe822da5e0ba76045fad75401d7a3b703791b7e9926171",
    "0f86b72421d240a347638377205a152c794130a4e047742b888303bddc309116",
    "764de7424cebea6db65348ac537e01a9cc56ea667d5aa87ac9aaa4317d262c10",
    "143050b8d07a728ca633c13e468abcead372c77b8ecf3b986b98c1e55860b2b4",
    "216766ad874c35ed7205068739230220b5a2317d102c598356f168acbe80608d",
    "e4c9a710b8dd07078cd7c671058af1b0b8304a314f7b29be78a933c7b9294424",
    "954a1bf8bc745de86198659e0e1225a910726074969c39a97c19240601a46e01",
    "3dcdcb677a8cbd2c95a40629c256f24a328951df57502ab30772cc7e5b850027",
    "c8551781ce4985bdacf6b865c104e8a4bc65c41694d456b7169e45ab3d7acabe",
    "afe23ad6a7b94d1979a2f4c1cae7cd77d681d290b5d8e451bfdcccf5310b9d12",
    "a88ec29b10255d5e17a192670aa9731c5ca67ec784c502781be8527d6fc003c6",
    "701b3632284b40307a527c7620377feb0b73f722c9e3cd4dec64876b93ab5b7c",
    "fc4a657f852b659282864384f442b22e8a21109387b8b47585fc680d0ba45c7a",
    "8b1d7274bda57845d100d0f42a3b74628773351fd7ac305b2497639be90b3f4f",
    "71a6aa3561eecc6a691bb5cb3914d8634ca1e1af543c049a8c6e868c51f0423b",
    "d2d5ae09b79e57c27f3fe3ae2b26a441babfc6718ce8c05b4fe793b910b8fbcb",
    "be7f1013242b40e0514d0bdc5c88bac594c794ce5122fbf34896819147b92838",
    "1587963b0b90034aa07a10be176e01c80ad6a4b71b10af4241400a2a4cbbc059",
    "61a15ec1474ed51a3cc6d35800679a462809caa3ab4f7094cd6610b4a700cba9",
    "39e7eac93e38c99755908727619ed76a34e53c4fa25bfc97008206697dd145e5",
    "b9188e5b014e941681e15fe3e132b8a3903474148ba28b987111c9bcb3989bbb",
    "c671c581b44a492845f288e62196e471fed3c39c1bbddb0837d0d4706b0922c4",
  ].join(""),
  m: "2ce74ad291133518fe60c7df5d251b9d82add48462ff505c6e547e949e6b6bf7",
  c: "ac57163b80ead205b8323e1402b8ca66bece40d8df9994b12d43bbb4f6e19bf4",
  k: "2696d28e9c61c2a01ce9b1608dcb9d292785a0cd58efb7fe13b1de95f0db55b3",
};

test("mlkem768 sizes are those of FIPS 203 ML-KEM-768", () => {
  assert.equal(MLKEM768_PUBLIC_KEY_BYTES, 1184);
  assert.equal(MLKEM768_SECRET_KEY_BYTES, 2400);
  assert.equal(MLKEM768_CIPHERTEXT_BYTES, 1088);
  assert.equal(MLKEM768_SHARED_SECRET_BYTES, 32);
});

test("mlkem768 keypair reproduces the ACVP key generation vector from d || z", () => {
  const seed = fromHex(ACVP_KEYGEN.d + ACVP_KEYGEN.z);
  const { publicKey, secretKey } = mlkem768Keypair(scripted(seed));
  assert.equal(digest(publicKey), ACVP_KEYGEN.ek);
  assert.equal(digest(secretKey), ACVP_KEYGEN.dk);
  // the secret key ends with z, the implicit-rejection seed
  assert.equal(hex(secretKey.subarray(2400 - 32)), ACVP_KEYGEN.z);
});

test("mlkem768 encapsulate reproduces the ACVP encapsulation vector", () => {
  const { ciphertext, sharedSecret } = mlkem768Encapsulate(
    fromHex(ACVP_ENCAP.ek),
    scripted(fromHex(ACVP_ENCAP.m)),
  );
  assert.equal(digest(ciphertext), ACVP_ENCAP.c);
  assert.equal(hex(sharedSecret), ACVP_ENCAP.k);
  assert.equal(sharedSecret.buffer.byteLength, 32);
});

/** FIPS 203 implicit rejection, computed independently: J(z || c) = SHAKE256(z || c, 32). */
function rejectionSecret(secretKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const z = secretKey.subarray(MLKEM768_SECRET_KEY_BYTES - 32);
  const input = new Uint8Array(32 + ciphertext.length);
  input.set(z);
  input.set(ciphertext, 32);
  return shake256(input, { dkLen: 32 });
}

test("mlkem768 decapsulate recovers the secret for the ACVP key pair", () => {
  const seed = fromHex(ACVP_KEYGEN.d + ACVP_KEYGEN.z);
  const { publicKey, secretKey } = mlkem768Keypair(scripted(seed));
  const { ciphertext, sharedSecret } = mlkem768Encapsulate(
    publicKey,
    scripted(fromHex(ACVP_ENCAP.m)),
  );
  assert.deepEqual(mlkem768Decapsulate(ciphertext, secretKey), sharedSecret);
});

test("mlkem768 keypair draws 64 random bytes and encapsulate 32", () => {
  const sizes: number[] = [];
  const random = shakeStream("sizes");
  const counting: RandomBytes = (n) => {
    sizes.push(n);
    return random(n);
  };
  const { publicKey } = mlkem768Keypair(counting);
  mlkem768Encapsulate(publicKey, counting);
  assert.deepEqual(sizes, [64, 32]);
});

test("mlkem768 round-trips over many seeds", () => {
  for (let i = 0; i < 24; i++) {
    const random = shakeStream(`round trip ${i}`);
    const { publicKey, secretKey } = mlkem768Keypair(random);
    assert.equal(publicKey.length, MLKEM768_PUBLIC_KEY_BYTES);
    assert.equal(secretKey.length, MLKEM768_SECRET_KEY_BYTES);
    for (let j = 0; j < 2; j++) {
      const { ciphertext, sharedSecret } = mlkem768Encapsulate(publicKey, random);
      assert.equal(ciphertext.length, MLKEM768_CIPHERTEXT_BYTES);
      assert.equal(sharedSecret.length, MLKEM768_SHARED_SECRET_BYTES);
      assert.deepEqual(mlkem768Decapsulate(ciphertext, secretKey), sharedSecret);
    }
  }
});

test("mlkem768 decapsulate gives the rejection secret when any ciphertext bit flips", () => {
  const random = shakeStream("tamper");
  const { publicKey, secretKey } = mlkem768Keypair(random);
  const { ciphertext, sharedSecret } = mlkem768Encapsulate(publicKey, random);
  const positions: [number, number][] = [];
  for (let i = 0; i < ciphertext.length; i++) positions.push([i, i % 8]);
  for (const i of [0, 1, 543, 959, 960, 1087]) {
    for (let b = 0; b < 8; b++) positions.push([i, b]);
  }
  for (const [i, b] of positions) {
    const tampered = ciphertext.slice();
    tampered[i] = tampered[i]! ^ (1 << b);
    const secret = mlkem768Decapsulate(tampered, secretKey);
    assert.notDeepEqual(secret, sharedSecret, `byte ${i} bit ${b}`);
    assert.deepEqual(secret, rejectionSecret(secretKey, tampered), `byte ${i} bit ${b}`);
  }
  assert.deepEqual(mlkem768Decapsulate(ciphertext, secretKey), sharedSecret);
});

test("mlkem768 decapsulate never throws for garbage of the right size", () => {
  const random = shakeStream("garbage");
  const { secretKey } = mlkem768Keypair(random);
  for (
    const ciphertext of [
      new Uint8Array(MLKEM768_CIPHERTEXT_BYTES),
      new Uint8Array(MLKEM768_CIPHERTEXT_BYTES).fill(0xff),
      random(MLKEM768_CIPHERTEXT_BYTES),
    ]
  ) {
    assert.deepEqual(
      mlkem768Decapsulate(ciphertext, secretKey),
      rejectionSecret(secretKey, ciphertext),
    );
  }
});

test("mlkem768 wrong lengths throw PqInputError", () => {
  const random = shakeStream("lengths");
  const { publicKey, secretKey } = mlkem768Keypair(random);
  const { ciphertext } = mlkem768Encapsulate(publicKey, random);
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
  expectError(() => mlkem768Encapsulate(publicKey.subarray(1), random), "publicKey", 1184, 1183);
  expectError(() => mlkem768Encapsulate(new Uint8Array(1158), random), "publicKey", 1184, 1158);
  expectError(
    () => mlkem768Decapsulate(ciphertext.subarray(0, 1087), secretKey),
    "ciphertext",
    1088,
    1087,
  );
  expectError(
    () => mlkem768Decapsulate(ciphertext, secretKey.subarray(32)),
    "secretKey",
    2400,
    2368,
  );
  expectError(() => mlkem768Keypair((n) => new Uint8Array(n + 1)), "random", 64, 65);
  expectError(() => mlkem768Encapsulate(publicKey, () => new Uint8Array(0)), "random", 32, 0);
});

test("mlkem768 malformed keys throw PqInputError with problem 'malformed'", () => {
  const random = shakeStream("malformed");
  const { publicKey, secretKey } = mlkem768Keypair(random);
  const { ciphertext } = mlkem768Encapsulate(publicKey, random);
  // a 12-bit coefficient of 4095 is not reduced mod q = 3329: the modulus check fails
  const badKey = publicKey.slice();
  badKey.fill(0xff, 0, 3);
  assert.throws(() => mlkem768Encapsulate(badKey, random), (e: unknown) => {
    assert.ok(e instanceof PqInputError);
    assert.equal(e.input, "publicKey");
    assert.equal(e.problem, "malformed");
    return true;
  });
  // the secret key embeds H(ek); corrupting ek breaks the FIPS 203 hash check
  const badSecret = secretKey.slice();
  badSecret[1152 + 5] = badSecret[1152 + 5]! ^ 1;
  assert.throws(() => mlkem768Decapsulate(ciphertext, badSecret), (e: unknown) => {
    assert.ok(e instanceof PqInputError);
    assert.equal(e.input, "secretKey");
    assert.equal(e.problem, "malformed");
    return true;
  });
});

test("mlkem768 decapsulate is deterministic and leaves its inputs unchanged", () => {
  const random = shakeStream("determinism");
  const { publicKey, secretKey } = mlkem768Keypair(random);
  const { ciphertext } = mlkem768Encapsulate(publicKey, random);
  const skCopy = secretKey.slice();
  const ctCopy = ciphertext.slice();
  assert.deepEqual(
    mlkem768Decapsulate(ciphertext, secretKey),
    mlkem768Decapsulate(ciphertext, secretKey),
  );
  assert.deepEqual(secretKey, skCopy);
  assert.deepEqual(ciphertext, ctCopy);
});

test("mlkem768 decapsulate asks the backend that made a 64-byte seed, and expands a foreign one", () => {
  // A backend handing out seeds, answering for its own keys with a value the portable path
  // would never give.
  const own = new WeakSet<Uint8Array>();
  const sentinel = new Uint8Array(32).fill(0x42);
  const random = seededRandom(21);
  const fake: MlKem768Backend = {
    name: "fake",
    generate() {
      const seed = random(64);
      own.add(seed);
      return { publicKey: ml_kem768.keygen(seed).publicKey, secretKey: seed };
    },
    encapsulate(publicKey) {
      const r = ml_kem768.encapsulate(publicKey, random(32));
      return { ciphertext: r.cipherText, sharedSecret: r.sharedSecret.slice() };
    },
    decapsulate: (_c, secretKey) => (own.has(secretKey) ? sentinel.slice() : undefined),
  };
  const before = mlkem768Backend();
  try {
    registerMlKem768Backend(fake);
    const mine = mlkem768Keypair(systemRandom);
    assert.equal(mine.secretKey.length, 64);
    const e = mlkem768Encapsulate(mine.publicKey, systemRandom);
    assert.deepEqual(mlkem768Decapsulate(e.ciphertext, mine.secretKey), sentinel);
    // The same seed in another array is not the backend's: the portable path expands it.
    assert.deepEqual(mlkem768Decapsulate(e.ciphertext, mine.secretKey.slice()), e.sharedSecret);
  } finally {
    registerMlKem768Backend(before);
  }
});
