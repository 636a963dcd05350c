/**
 * ML-KEM-768 through `node:crypto` where the runtime has it (Node 24 with OpenSSL 3.5:
 * `generateKeyPairSync("ml-kem-768")`, `crypto.encapsulate`, `crypto.decapsulate`), behind
 * the seam in core/pq/mlkem768.ts. The portable `@noble/post-quantum` takes 0.6 ms for each
 * of key generation, encapsulation and decapsulation here; OpenSSL 0.04–0.1 ms. With the
 * default key exchange (mlkem768x25519-sha256) that is about a millisecond of CPU less per
 * login for a client (generation and decapsulation), half a millisecond for a server.
 *
 * Key pairs are OpenSSL's own (its random source): the secret key handed to the engine is
 * the 64-byte FIPS 203 seed d ‖ z (`export({ format: "raw-seed" })`, 2 µs, where the PKCS #8
 * export that also holds the 2400-byte expanded key took 41), which the portable path can
 * expand too, and decapsulation here uses the key object kept for it. A runtime without the
 * raw-seed export hands out the expanded key from the PKCS #8 export instead.
 *
 * Deno and Bun have ML-KEM-768 in WebCrypto only, behind promises ({@link
 * registerWebCryptoMlKem768}): 0.1–0.3 ms for a client's generation and decapsulation
 * against 2.7 for the portable path. The engine's key exchange waits for it (`kexWait`
 * events, which the driver answers).
 *
 * @module
 */

import * as nodeCrypto from "node:crypto";
import { shake256 } from "@noble/hashes/sha3.js";
import type { KeyObject } from "node:crypto";
import {
  MLKEM768_CIPHERTEXT_BYTES,
  MLKEM768_PUBLIC_KEY_BYTES,
  MLKEM768_SECRET_KEY_BYTES,
  MLKEM768_SEED_BYTES,
  type MlKem768AsyncBackend,
  mlkem768AsyncBackend,
  type MlKem768Backend,
  mlkem768Backend,
  registerMlKem768AsyncBackend,
  registerMlKem768Backend,
} from "../../core/pq/mlkem768.ts";
import { withoutStack } from "../../core/errors.ts";
import { equalBytes, fromHex } from "../../core/wire.ts";

/** The parts of node:crypto this needs, absent from older type definitions and runtimes. */
interface KemApi {
  encapsulate(key: KeyObject): { sharedKey: Uint8Array; ciphertext: Uint8Array };
  decapsulate(key: KeyObject, ciphertext: Uint8Array): Uint8Array;
}

const kem = nodeCrypto as unknown as Partial<KemApi>;

/** The expanded decapsulation key at the end of OpenSSL's PKCS #8: OCTET STRING, 2400 bytes. */
const EXPANDED_KEY_HEADER = [0x04, 0x82, 0x09, 0x60];

function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The expanded key of a PKCS #8 ML-KEM-768 private key in the "both" (seed and expanded
 * key) or expanded-only form, which end with it; undefined for the seed-only form.
 */
function expandedKey(pkcs8: Uint8Array): Uint8Array | undefined {
  const at = pkcs8.length - MLKEM768_SECRET_KEY_BYTES - EXPANDED_KEY_HEADER.length;
  if (at < 0 || !EXPANDED_KEY_HEADER.every((b, i) => pkcs8[at + i] === b)) return undefined;
  return pkcs8.slice(at + EXPANDED_KEY_HEADER.length);
}

/** Private key objects by the secret key (seed or expanded key) handed out for them. */
const privateKeys = new WeakMap<Uint8Array, KeyObject>();

/** Whether this runtime exports an ML-KEM private key as its raw seed (found on first use). */
let rawSeedExport: boolean | undefined;

/**
 * The secret key handed out for `key`: its seed where the runtime exports it (unless `form`
 * says "expanded"), else the expanded key from the PKCS #8 export. What node:crypto returned
 * is zeroed once copied.
 *
 * @example
 * ```ts ignore
 * const pair = generateKeyPairSync("ml-kem-768");
 * console.log(secretKeyOf(pair.privateKey)?.length); // 64 on Node 24
 * ```
 */
export function secretKeyOf(
  key: KeyObject,
  form: "seed" | "expanded" = "seed",
): Uint8Array | undefined {
  if (form === "seed" && rawSeedExport !== false) {
    let seed: Uint8Array | undefined;
    try {
      seed = view(key.export({ format: "raw-seed" } as never) as unknown as Uint8Array);
    } catch {
      // Unsupported here (found once), or this key alone: the PKCS #8 export below.
      if (rawSeedExport === undefined) rawSeedExport = false;
    }
    if (seed !== undefined) {
      rawSeedExport = true;
      try {
        return seed.length === MLKEM768_SEED_BYTES ? seed.slice() : undefined;
      } finally {
        seed.fill(0);
      }
    }
  }
  const der = view(key.export({ format: "der", type: "pkcs8" }) as Uint8Array);
  try {
    return expandedKey(der);
  } finally {
    der.fill(0);
  }
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  // OpenSSL refuses a key that fails the FIPS 203 modulus check here ("Invalid key data").
  return withoutStack(() =>
    nodeCrypto.createPublicKey({
      key: raw as never,
      format: "raw-public",
      asymmetricKeyType: "ml-kem-768",
    } as never)
  );
}

/** The node:crypto backend (not yet checked: see {@link registerNativeMlKem768}). */
export const NODE_MLKEM768: MlKem768Backend = Object.freeze({
  name: "node:crypto",
  generate() {
    const pair = nodeCrypto.generateKeyPairSync("ml-kem-768" as never);
    const publicKey = view(
      pair.publicKey.export({ format: "raw-public" } as never) as unknown as Uint8Array,
    );
    const secretKey = secretKeyOf(pair.privateKey);
    if (publicKey.length !== MLKEM768_PUBLIC_KEY_BYTES || secretKey === undefined) {
      throw new RangeError("node:crypto exported an ML-KEM-768 key in an unexpected form");
    }
    privateKeys.set(secretKey, pair.privateKey);
    return { publicKey: publicKey.slice(), secretKey };
  },
  encapsulate(publicKey: Uint8Array) {
    const r = kem.encapsulate!(publicKeyObject(publicKey));
    return { ciphertext: view(r.ciphertext).slice(), sharedSecret: view(r.sharedKey).slice() };
  },
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array) {
    const k = privateKeys.get(secretKey);
    if (k === undefined || ciphertext.length !== MLKEM768_CIPHERTEXT_BYTES) return undefined;
    return view(kem.decapsulate!(k, ciphertext)).slice();
  },
});

/**
 * What the backend must show before it is used (cheap: no portable ML-KEM runs here; the
 * tests compare it with the portable one byte for byte): a pair it generates round-trips;
 * its secret key is the seed d ‖ z or the expanded key, which embeds its public key (FIPS
 * 203: dk = dk_PKE ‖ ek ‖ H(ek) ‖ z); a corrupted ciphertext gives FIPS 203's implicit
 * rejection secret J(z ‖ c), z being the last 32 bytes of either form (z where the portable
 * path reads it; that d, and so the whole seed, expands to the same key is the tests' to
 * show, as no portable ML-KEM runs here); and a public key with a coefficient ≥ q is refused.
 */
function selfTest(b: MlKem768Backend): boolean {
  const g = b.generate();
  if (g.publicKey.length !== MLKEM768_PUBLIC_KEY_BYTES) return false;
  const sk = g.secretKey;
  if (sk.length === MLKEM768_SECRET_KEY_BYTES) {
    if (!equalBytes(sk.subarray(1152, 1152 + MLKEM768_PUBLIC_KEY_BYTES), g.publicKey)) {
      return false;
    }
  } else if (sk.length !== MLKEM768_SEED_BYTES) return false;
  const e = b.encapsulate(g.publicKey);
  const bad = corrupted(e.ciphertext);
  const round = {
    encapsulated: e,
    back: b.decapsulate(e.ciphertext, sk),
    rejected: b.decapsulate(bad, sk),
    foreign: b.decapsulate(e.ciphertext, sk.slice()),
  };
  if (!roundHolds(round)) return false;
  const z = sk.subarray(sk.length - 32);
  const rejection = shake256(new Uint8Array([...z, ...bad]), { dkLen: 32 });
  if (!equalBytes(round.rejected!, rejection)) return false;
  try {
    b.encapsulate(malformed(g.publicKey));
    return false;
  } catch {
    return true;
  }
}

/** A ciphertext with one bit flipped. */
function corrupted(ciphertext: Uint8Array): Uint8Array {
  const bad = ciphertext.slice();
  bad[0]! ^= 1;
  return bad;
}

/** A public key whose first 12-bit coefficient is 0x.ff, at least q = 3329: FIPS 203 refuses it. */
function malformed(publicKey: Uint8Array): Uint8Array {
  const bad = publicKey.slice();
  bad[0] = 0xff;
  bad[1] = bad[1]! | 0x0f;
  return bad;
}

/**
 * What one round of a backend must give: its own key decapsulates its ciphertext to the
 * secret, a corrupted ciphertext to another (implicit rejection, no throw), and a key it did
 * not make is not its own.
 */
function roundHolds(r: {
  encapsulated: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  back: Uint8Array | undefined;
  rejected: Uint8Array | undefined;
  foreign: unknown;
}): boolean {
  const { ciphertext, sharedSecret } = r.encapsulated;
  return ciphertext.length === MLKEM768_CIPHERTEXT_BYTES && sharedSecret.length === 32 &&
    r.back !== undefined && equalBytes(r.back, sharedSecret) &&
    r.rejected !== undefined && r.rejected.length === 32 &&
    !equalBytes(r.rejected, sharedSecret) && r.foreign === undefined;
}

/**
 * Installs node:crypto's ML-KEM-768 when this runtime has it and it passes its checks;
 * returns its name, or undefined (portable path kept). Node 24 with OpenSSL 3.5 has it;
 * Deno and Bun do not today.
 *
 * @example
 * ```ts
 * import { registerNativeMlKem768 } from "./native_mlkem.ts";
 * console.log(registerNativeMlKem768() ?? "portable"); // "node:crypto" on Node 24
 * ```
 */
export function registerNativeMlKem768(): string | undefined {
  if (typeof kem.encapsulate !== "function" || typeof kem.decapsulate !== "function") {
    return undefined;
  }
  try {
    if (!selfTest(NODE_MLKEM768)) return undefined;
  } catch {
    return undefined;
  }
  registerMlKem768Backend(NODE_MLKEM768);
  return NODE_MLKEM768.name;
}

// ---- WebCrypto (Deno, Bun) ----

const ML_KEM_768 = { name: "ML-KEM-768" } as const;

/** WebCrypto's KEM calls (Modern Algorithms in WebCrypto), absent from older type definitions. */
interface KemSubtle {
  generateKey(alg: unknown, extractable: boolean, usages: string[]): Promise<CryptoKeyPair>;
  exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer>;
  importKey(
    format: string,
    data: Uint8Array,
    alg: unknown,
    extractable: boolean,
    usages: string[],
  ): Promise<CryptoKey>;
  encapsulateBits(
    alg: unknown,
    key: CryptoKey,
  ): Promise<{ sharedKey: ArrayBuffer; ciphertext: ArrayBuffer }>;
  decapsulateBits(alg: unknown, key: CryptoKey, ciphertext: Uint8Array): Promise<ArrayBuffer>;
}

/** PKCS #8 of a seed-only ML-KEM-768 private key, up to the 64-byte seed d ‖ z. */
const SEED_PKCS8_HEADER = fromHex("3054020100300b060960864801650304040204428040");

function seedOf(pkcs8: Uint8Array): Uint8Array | undefined {
  if (
    pkcs8.length !== SEED_PKCS8_HEADER.length + MLKEM768_SEED_BYTES ||
    !SEED_PKCS8_HEADER.every((b, i) => pkcs8[i] === b)
  ) return undefined;
  return pkcs8.slice(SEED_PKCS8_HEADER.length);
}

/** WebCrypto's private keys by the seed handed out for them. */
const cryptoKeys = new WeakMap<Uint8Array, CryptoKey>();

/** The WebCrypto backend over `subtle` (not yet checked: see {@link registerWebCryptoMlKem768}). */
export function webCryptoMlKem768(subtle: KemSubtle): MlKem768AsyncBackend {
  return Object.freeze({
    name: "WebCrypto",
    async generate() {
      const pair = await subtle.generateKey(ML_KEM_768, true, [
        "encapsulateBits",
        "decapsulateBits",
      ]);
      const [raw, pkcs8] = await Promise.all([
        subtle.exportKey("raw-public", pair.publicKey),
        subtle.exportKey("pkcs8", pair.privateKey),
      ]);
      const der = new Uint8Array(pkcs8);
      const secretKey = seedOf(der);
      der.fill(0);
      if (raw.byteLength !== MLKEM768_PUBLIC_KEY_BYTES || secretKey === undefined) {
        throw new RangeError("WebCrypto exported an ML-KEM-768 key in an unexpected form");
      }
      cryptoKeys.set(secretKey, pair.privateKey);
      return { publicKey: new Uint8Array(raw), secretKey };
    },
    async encapsulate(publicKey: Uint8Array) {
      // Deno refuses a key that fails the FIPS 203 modulus check here, Bun at the import.
      const key = await subtle.importKey("raw-public", publicKey, ML_KEM_768, false, [
        "encapsulateBits",
      ]);
      const r = await subtle.encapsulateBits(ML_KEM_768, key);
      return {
        ciphertext: new Uint8Array(r.ciphertext),
        sharedSecret: new Uint8Array(r.sharedKey),
      };
    },
    decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array) {
      const key = cryptoKeys.get(secretKey);
      if (key === undefined || ciphertext.length !== MLKEM768_CIPHERTEXT_BYTES) return undefined;
      try {
        return subtle.decapsulateBits(ML_KEM_768, key, ciphertext).then((b) => new Uint8Array(b));
      } catch (e) {
        return Promise.reject(e); // a runtime that throws rather than rejects
      }
    },
  });
}

/**
 * A known answer: the key of the seed 0, 1, …, 63 (seed-only PKCS #8) decapsulates an all-zero
 * ciphertext to FIPS 203's implicit rejection secret J(z ‖ c) = SHAKE256(z ‖ c, 32), z the
 * seed's second half. It pins the seed's layout and the standard's rejection (OpenSSH must
 * agree with every secret we derive).
 */
async function knownAnswer(subtle: KemSubtle): Promise<boolean> {
  const seed = Uint8Array.from({ length: MLKEM768_SEED_BYTES }, (_, i) => i);
  const pkcs8 = new Uint8Array(SEED_PKCS8_HEADER.length + MLKEM768_SEED_BYTES);
  pkcs8.set(SEED_PKCS8_HEADER);
  pkcs8.set(seed, SEED_PKCS8_HEADER.length);
  const key = await subtle.importKey("pkcs8", pkcs8, ML_KEM_768, false, ["decapsulateBits"]);
  const zeros = new Uint8Array(MLKEM768_CIPHERTEXT_BYTES);
  const secret = new Uint8Array(await subtle.decapsulateBits(ML_KEM_768, key, zeros));
  const expected = shake256(Uint8Array.from([...seed.subarray(32), ...zeros]), { dkLen: 32 });
  return equalBytes(secret, expected);
}

/**
 * What the WebCrypto backend must show before it is used (no portable ML-KEM runs here;
 * the tests compare it with the portable one both ways): the known answer above, a pair it
 * generates round-trips, a corrupted ciphertext gives another secret, a key it did not
 * generate is not its, and a public key with a coefficient ≥ q is refused.
 */
async function asyncSelfTest(b: MlKem768AsyncBackend, subtle: KemSubtle): Promise<boolean> {
  if (!(await knownAnswer(subtle))) return false;
  const g = await b.generate();
  const e = await b.encapsulate(g.publicKey);
  const round = {
    encapsulated: e,
    back: await b.decapsulate(e.ciphertext, g.secretKey),
    rejected: await b.decapsulate(corrupted(e.ciphertext), g.secretKey),
    // A key it did not make is not its own: undefined, not a promise (one would fail the
    // check; its rejection is caught, never left unhandled).
    foreign: b.decapsulate(e.ciphertext, g.secretKey.slice())?.catch(() => undefined),
  };
  if (!roundHolds(round)) return false;
  return b.encapsulate(malformed(g.publicKey)).then(() => false, () => true);
}

let webCryptoRegistration: Promise<string | undefined> | undefined;

/**
 * Installs WebCrypto's ML-KEM-768 as the asynchronous backend where the runtime has it and
 * it passes its checks (Deno 2.9, Bun 1.4; not where node:crypto's synchronous one is in
 * use); resolves to its name, or undefined. Once per process: until it resolves, key
 * exchanges take the portable path.
 *
 * @example
 * ```ts
 * import { registerWebCryptoMlKem768 } from "./native_mlkem.ts";
 * console.log((await registerWebCryptoMlKem768()) ?? "none"); // "WebCrypto" on Deno and Bun
 * ```
 */
export function registerWebCryptoMlKem768(): Promise<string | undefined> {
  return webCryptoRegistration ??= (async () => {
    const subtle = globalThis.crypto?.subtle as unknown as Partial<KemSubtle> | undefined;
    if (
      typeof subtle?.encapsulateBits !== "function" ||
      typeof subtle.decapsulateBits !== "function"
    ) return undefined;
    const backend = webCryptoMlKem768(subtle as KemSubtle);
    try {
      if (!(await asyncSelfTest(backend, subtle as KemSubtle))) return undefined;
    } catch {
      return undefined;
    }
    // Installed only where nothing was meanwhile (a backend of the caller's, or null).
    if (mlkem768Backend() !== null || mlkem768AsyncBackend() !== null) return undefined;
    registerMlKem768AsyncBackend(backend);
    return backend.name;
  })();
}
