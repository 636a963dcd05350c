/**
 * RSA key exchange, `rsa1024-sha1` and `rsa2048-sha256` (RFC 4432). The server
 * speaks first:
 *
 * ```
 * S → C   byte 30, string K_S, string K_T          (K_T: transient RSA public key)
 * C → S   byte 31, string RSAES-OAEP(K_T, mpint K)  (K random, 0 <= K < 2^(KLEN-2*HLEN-49))
 * S → C   byte 32, string signature over H
 * H = HASH(V_C || V_S || I_C || I_S || K_S || K_T || encrypted secret || K)
 * ```
 *
 * OAEP uses the method's hash for both the label hash and MGF1, with an empty
 * label (RFC 4432 §4, RFC 8017 §7.1). The transient key must have at least 1024
 * (rsa1024-sha1) or 2048 (rsa2048-sha256) bits.
 *
 * The server's transient key: generating RSA keys in pure JavaScript takes
 * 0.3–2 s for 2048 bits, so one key per method is kept and reused for up to
 * {@link RSA_KEX_KEY_USES} exchanges (RFC 4432 §3 allows reuse across
 * connections), failed ones included: a padding oracle gets at most that many
 * questions about one key, far below the thousands Manger's attack on OAEP needs,
 * and a client sending garbage secrets cannot make the server generate a key per
 * connection (50–165 ms of CPU each, before authentication: it could, when a failure
 * discarded the key). Forward secrecy holds only once a key is replaced: another
 * reason these methods are off by default.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { LocalProtocolError } from "../errors.ts";
import { bitLength, modPow } from "../publickey/bigint.ts";
import { encodePublicKeyBlob, parsePublicKeyBlob } from "../publickey/blob.ts";
import { KeyBlobError, UnsupportedKeyTypeError } from "../publickey/errors.ts";
import { rsaDecryptPrimitive } from "../publickey/rsa.ts";
import { generateRsaKeyMaterial } from "../publickey/rsa_keygen.ts";
import type { RsaKeyMaterial } from "../publickey/types.ts";
import type { RandomSource } from "../random.ts";
import { bigIntToBytes, bytesToBigInt, SSHReader, SSHWriter } from "../wire.ts";
import { KexError, unexpectedKexMessage } from "./errors.ts";
import { exchangeHashWriter, kexDigest } from "./hash.ts";
import { KexMsg, MAX_HOST_KEY_BLOB_LENGTH, MAX_KEX_SIGNATURE_LENGTH } from "./messages.ts";
import type {
  KexClientFlow,
  KexContext,
  KexHashName,
  KexMethod,
  KexServerFlow,
  KexServerOptions,
  KexStep,
} from "./types.ts";

/** Exchanges one transient key serves before the server makes a new one. */
export const RSA_KEX_KEY_USES = 32;

/** Longest transient key blob we read (a 16384-bit key is ~2 KiB). */
const MAX_TRANSIENT_KEY_BLOB_LENGTH = 4 * 1024;

/** The hashes RSA key exchange is defined with. */
export type RsaKexHash = Extract<KexHashName, "sha1" | "sha256">;

const HASHES = { sha1, sha256 } as const;

function hashBytes(hash: RsaKexHash, data: Uint8Array): Uint8Array {
  return HASHES[hash](data);
}

/** MGF1 (RFC 8017 §B.2.1) with `hash`. */
function mgf1(hash: RsaKexHash, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  for (let counter = 0, o = 0; o < length; counter++) {
    new DataView(input.buffer).setUint32(seed.length, counter);
    const block = hashBytes(hash, input);
    out.set(block.subarray(0, Math.min(block.length, length - o)), o);
    o += block.length;
  }
  return out;
}

/**
 * RSAES-OAEP encryption (RFC 8017 §7.1.1) with `hash` for the label hash and
 * MGF1, and an empty label. Throws RangeError when the message is too long.
 *
 * @example
 * ```ts
 * import { oaepEncrypt } from "./rsa.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const p = 0xeeed0ea0c8f4a39aba5c4b31c911c87310370c82d0d923891db39b437cfbb753n;
 * const q = 0xdb1c6d3fde4635f2b635cfac4589e31a8a141199846a644213c4bc431eb604b9n;
 * const c = oaepEncrypt({ type: "rsa", n: p * q, e: 65537n }, "sha1", new Uint8Array(8), seededRandom(1));
 * console.log(c.length); // 64
 * ```
 */
export function oaepEncrypt(
  key: RsaKeyMaterial,
  hash: RsaKexHash,
  message: Uint8Array,
  random: RandomSource,
): Uint8Array {
  const k = Math.ceil(bitLength(key.n) / 8);
  const lHash = hashBytes(hash, new Uint8Array(0));
  const hLen = lHash.length;
  if (message.length > k - 2 * hLen - 2) {
    throw new RangeError(`OAEP message of ${message.length} bytes is too long for a ${k}-byte key`);
  }
  const db = new Uint8Array(k - hLen - 1);
  db.set(lHash);
  db[db.length - message.length - 1] = 1;
  db.set(message, db.length - message.length);
  const seed = random(hLen);
  const dbMask = mgf1(hash, seed, db.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ dbMask[i]!;
  const seedMask = mgf1(hash, db, hLen);
  const em = new Uint8Array(k);
  for (let i = 0; i < hLen; i++) em[1 + i] = seed[i]! ^ seedMask[i]!;
  em.set(db, 1 + hLen);
  return bigIntToBytes(modPow(bytesToBigInt(em), key.e, key.n), k);
}

/**
 * RSAES-OAEP decryption (RFC 8017 §7.1.2); undefined for any invalid ciphertext,
 * with one outcome for every kind of failure (no padding oracle by error type;
 * every check runs over the whole block before the result is decided).
 *
 * @example
 * ```ts
 * import { oaepDecrypt, oaepEncrypt } from "./rsa.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const p = 0xeeed0ea0c8f4a39aba5c4b31c911c87310370c82d0d923891db39b437cfbb753n;
 * const q = 0xdb1c6d3fde4635f2b635cfac4589e31a8a141199846a644213c4bc431eb604b9n;
 * const key = { type: "rsa" as const, n: p * q, e: 65537n, p, q };
 * const c = oaepEncrypt(key, "sha1", new Uint8Array([1, 2, 3]), seededRandom(1));
 * console.log(oaepDecrypt(key, "sha1", c, seededRandom(2))); // Uint8Array [1, 2, 3]
 * ```
 */
export function oaepDecrypt(
  key: RsaKeyMaterial,
  hash: RsaKexHash,
  ciphertext: Uint8Array,
  random: RandomSource,
): Uint8Array | undefined {
  const k = Math.ceil(bitLength(key.n) / 8);
  const lHash = hashBytes(hash, new Uint8Array(0));
  const hLen = lHash.length;
  if (ciphertext.length !== k || k < 2 * hLen + 2) return undefined;
  const c = bytesToBigInt(ciphertext);
  if (c >= key.n) return undefined;
  const em = bigIntToBytes(rsaDecryptPrimitive(key, c, random), k);
  const maskedSeed = em.subarray(1, 1 + hLen), maskedDb = em.subarray(1 + hLen);
  const seedMask = mgf1(hash, maskedDb, hLen);
  const seed = maskedSeed.map((b, i) => b ^ seedMask[i]!);
  const dbMask = mgf1(hash, seed, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ dbMask[i]!);
  let bad = em[0]!;
  for (let i = 0; i < hLen; i++) bad |= db[i]! ^ lHash[i]!;
  // The message starts after the first 0x01 that follows the zero padding.
  let start = 0, inPadding = 1;
  for (let i = hLen; i < db.length; i++) {
    const isOne = db[i] === 1 ? 1 : 0, isZero = db[i] === 0 ? 1 : 0;
    if (inPadding && isOne) start = i + 1;
    if (inPadding && !isOne && !isZero) bad |= 1;
    if (isOne) inPadding = 0;
  }
  if (inPadding) bad |= 1;
  return bad === 0 ? db.slice(start) : undefined;
}

/** What each method needs: its hash, and the smallest transient key it accepts. */
interface RsaKexParams {
  readonly name: string;
  readonly hash: RsaKexHash;
  readonly minBits: number;
}

/** Bits of K: KLEN - 2*HLEN - 49 (RFC 4432 §4). */
function secretBits(params: RsaKexParams, modulusBits: number): number {
  return modulusBits - 2 * 8 * hashBytes(params.hash, new Uint8Array(0)).length - 49;
}

function exchangeHash(
  params: RsaKexParams,
  ctx: KexContext,
  hostKeyBlob: Uint8Array,
  transientKeyBlob: Uint8Array,
  encryptedSecret: Uint8Array,
  sharedSecret: Uint8Array,
): Uint8Array {
  const w = exchangeHashWriter(ctx, hostKeyBlob)
    .writeString(transientKeyBlob)
    .writeString(encryptedSecret)
    .writeBytes(sharedSecret);
  const digest = kexDigest(params.hash, w.view());
  w.release(); // the shared secret does not stay in the writer's buffer
  return digest;
}

function parseTransientKey(params: RsaKexParams, blob: Uint8Array): RsaKeyMaterial {
  let parsed;
  try {
    parsed = parsePublicKeyBlob(blob);
  } catch (e) {
    if (e instanceof KeyBlobError || e instanceof UnsupportedKeyTypeError) {
      throw new KexError(`Invalid ${params.name} transient key: ${e.message}`, { cause: e });
    }
    throw e;
  }
  if (parsed.key.type !== "rsa" || parsed.algorithm !== "ssh-rsa") {
    throw new KexError(
      `Invalid ${params.name} transient key: ${parsed.algorithm}, expected ssh-rsa`,
    );
  }
  const bits = bitLength(parsed.key.n);
  if (bits < params.minBits) {
    throw new KexError(
      `Invalid ${params.name} transient key: ${bits} bits, at least ${params.minBits} needed`,
    );
  }
  return parsed.key;
}

class RsaKexClient implements KexClientFlow {
  readonly #p: RsaKexParams;
  readonly #ctx: KexContext;
  #state: "new" | "pubkey" | "done" | "finished" = "new";
  #hostKeyBlob: Uint8Array = new Uint8Array(0);
  #transientKeyBlob: Uint8Array = new Uint8Array(0);
  #encrypted: Uint8Array = new Uint8Array(0);
  #sharedSecret: Uint8Array = new Uint8Array(0);

  constructor(params: RsaKexParams, ctx: KexContext) {
    this.#p = params;
    this.#ctx = ctx;
  }

  start(): KexStep {
    if (this.#state !== "new") {
      throw new LocalProtocolError(`Cannot start the ${this.#p.name} client twice`);
    }
    this.#state = "pubkey";
    return { send: [] };
  }

  receive(payload: Uint8Array): KexStep {
    if (this.#state === "new") {
      throw new LocalProtocolError(`Cannot receive before start() of the ${this.#p.name} client`);
    }
    const expected = this.#state === "pubkey"
      ? KexMsg.KEXRSA_PUBKEY
      : this.#state === "done"
      ? KexMsg.KEXRSA_DONE
      : undefined;
    if (expected === undefined || payload[0] !== expected) {
      throw unexpectedKexMessage(
        this.#p.name,
        payload[0],
        expected === undefined ? [] : [expected],
      );
    }
    const r = new SSHReader(payload, 1);
    if (this.#state === "pubkey") {
      this.#hostKeyBlob = r.readString("host key", MAX_HOST_KEY_BLOB_LENGTH).slice();
      this.#transientKeyBlob = r.readString("transient key", MAX_TRANSIENT_KEY_BLOB_LENGTH)
        .slice();
      r.assertEnd(`${this.#p.name} pubkey`);
      const key = parseTransientKey(this.#p, this.#transientKeyBlob);
      const kBits = secretBits(this.#p, bitLength(key.n));
      // K: uniform below 2^kBits, drawn again in the 2^-kBits case that it is zero.
      let k = 0n;
      while (k === 0n) {
        const bytes = this.#ctx.random(Math.ceil(kBits / 8));
        k = bytesToBigInt(bytes) >> BigInt(bytes.length * 8 - kBits);
      }
      this.#sharedSecret = new SSHWriter(Math.ceil(kBits / 8) + 16).writeMpint(k).toBytes();
      this.#encrypted = oaepEncrypt(key, this.#p.hash, this.#sharedSecret, this.#ctx.random);
      this.#state = "done";
      const secret = new SSHWriter(this.#encrypted.length + 8)
        .writeByte(KexMsg.KEXRSA_SECRET)
        .writeString(this.#encrypted)
        .toBytes();
      return { send: [secret] };
    }
    const signature = r.readString("signature", MAX_KEX_SIGNATURE_LENGTH).slice();
    r.assertEnd(`${this.#p.name} done`);
    this.#state = "finished";
    const h = exchangeHash(
      this.#p,
      this.#ctx,
      this.#hostKeyBlob,
      this.#transientKeyBlob,
      this.#encrypted,
      this.#sharedSecret,
    );
    return {
      send: [],
      result: {
        sharedSecret: this.#sharedSecret,
        exchangeHash: h,
        hostKeyBlob: this.#hostKeyBlob,
        signature,
      },
    };
  }
}

/** A server's transient key and how often it has served. */
export interface TransientKey {
  /** The key pair. */
  readonly key: RsaKeyMaterial;
  /** Its ssh-rsa public key blob (K_T). */
  readonly blob: Uint8Array;
  /** Exchanges it has served. */
  uses: number;
}

/** Where a method's server side gets its transient key. */
export interface TransientKeySource {
  /** The key for the next exchange (may generate one; counts the use). */
  acquire(random: RandomSource): TransientKey;
}

/**
 * A transient-key source that keeps one key of `bits` bits for up to
 * {@link RSA_KEX_KEY_USES} exchanges. `fixed` pins one key forever (tests).
 *
 * @example
 * ```ts
 * import { transientKeySource } from "./rsa.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const source = transientKeySource(1024);
 * console.log(source.acquire(seededRandom(1)).key.n > 0n); // true
 * ```
 */
export function transientKeySource(bits: number, fixed?: RsaKeyMaterial): TransientKeySource {
  let current: TransientKey | null = null;
  return {
    acquire(random: RandomSource): TransientKey {
      if (fixed !== undefined) {
        current ??= { key: fixed, blob: encodePublicKeyBlob(fixed), uses: 0 };
      } else if (current === null || current.uses >= RSA_KEX_KEY_USES) {
        const key = generateRsaKeyMaterial(bits, 65537n, random);
        current = { key, blob: encodePublicKeyBlob({ type: "rsa", n: key.n, e: key.e }), uses: 0 };
      }
      current.uses++;
      return current;
    },
  };
}

class RsaKexServer implements KexServerFlow {
  readonly #p: RsaKexParams;
  readonly #ctx: KexContext;
  readonly #options: KexServerOptions;
  readonly #source: TransientKeySource;
  #key: TransientKey | null = null;
  #state: "new" | "secret" | "finished" = "new";

  constructor(
    params: RsaKexParams,
    ctx: KexContext,
    options: KexServerOptions,
    source: TransientKeySource,
  ) {
    this.#p = params;
    this.#ctx = ctx;
    this.#options = options;
    this.#source = source;
  }

  start(): KexStep {
    if (this.#state !== "new") {
      throw new LocalProtocolError(`Cannot start the ${this.#p.name} server twice`);
    }
    this.#key = this.#source.acquire(this.#ctx.random);
    this.#state = "secret";
    const hostKeyBlob = this.#options.hostKey.publicKeyBlob;
    const pubkey = new SSHWriter(hostKeyBlob.length + this.#key.blob.length + 16)
      .writeByte(KexMsg.KEXRSA_PUBKEY)
      .writeString(hostKeyBlob)
      .writeString(this.#key.blob)
      .toBytes();
    return { send: [pubkey] };
  }

  receive(payload: Uint8Array): KexStep {
    if (this.#state !== "secret" || payload[0] !== KexMsg.KEXRSA_SECRET) {
      throw unexpectedKexMessage(
        this.#p.name,
        payload[0],
        this.#state === "secret" ? [KexMsg.KEXRSA_SECRET] : [],
      );
    }
    const key = this.#key!;
    const r = new SSHReader(payload, 1);
    const encrypted = r.readString("encrypted secret", MAX_TRANSIENT_KEY_BLOB_LENGTH).slice();
    r.assertEnd(`${this.#p.name} secret`);
    const fail = (): never => {
      // The key stays: this exchange was one of its uses (see the module doc).
      throw new KexError(`The client's ${this.#p.name} secret does not decrypt`);
    };
    const decrypted = oaepDecrypt(key.key, this.#p.hash, encrypted, this.#ctx.random) ?? fail();
    // It must be exactly one positive mpint below 2^(KLEN-2*HLEN-49).
    let k: bigint;
    try {
      const kr = new SSHReader(decrypted);
      k = kr.readMpint("K", decrypted.length);
      kr.assertEnd("K");
    } catch {
      return fail();
    }
    if (k <= 0n || bitLength(k) > secretBits(this.#p, bitLength(key.key.n))) return fail();
    this.#state = "finished";
    const hostKeyBlob = this.#options.hostKey.publicKeyBlob;
    const h = exchangeHash(this.#p, this.#ctx, hostKeyBlob, key.blob, encrypted, decrypted);
    const signature = this.#options.hostKey.sign(h);
    const done = new SSHWriter(signature.length + 8)
      .writeByte(KexMsg.KEXRSA_DONE)
      .writeString(signature)
      .toBytes();
    return {
      send: [done],
      result: { sharedSecret: decrypted, exchangeHash: h, hostKeyBlob, signature },
    };
  }
}

/**
 * Builds an RSA key exchange method (RFC 4432). `source` supplies the server's
 * transient keys (default: {@link transientKeySource} of `minBits` bits).
 *
 * @example
 * ```ts
 * import { rsaKexMethod } from "./rsa.ts";
 * const m = rsaKexMethod("rsa2048-sha256", "sha256", 2048);
 * console.log(m.name, m.hash); // "rsa2048-sha256" "sha256"
 * ```
 */
export function rsaKexMethod(
  name: string,
  hash: RsaKexHash,
  minBits: number,
  source: TransientKeySource = transientKeySource(minBits),
): KexMethod {
  const params: RsaKexParams = Object.freeze({ name, hash, minBits });
  return Object.freeze({
    name,
    hash,
    createClient: (ctx: KexContext) => new RsaKexClient(params, ctx),
    createServer: (ctx: KexContext, options: KexServerOptions) =>
      new RsaKexServer(params, ctx, options, source),
  });
}
