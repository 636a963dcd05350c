/**
 * libcrypto's cipher and MAC contexts, each owned by one sealer or opener: made
 * once per direction and key (the key schedule stays inside), then reused for
 * every packet. Every call works on the caller's buffers in place; lengths are
 * checked here, before anything crosses into C.
 *
 * A context holds key material in native memory, out of the garbage collector's
 * sight: it is freed (and cleansed by libcrypto) when its owner is collected.
 *
 * @module
 */

import { isNull, type LibCryptoSymbols, type Pointer } from "./binding.ts";

/** EVP_CIPHER_CTX_ctrl codes (openssl/evp.h). */
const EVP_CTRL_GCM_GET_TAG = 0x10;
const EVP_CTRL_GCM_SET_TAG = 0x11;

/**
 * Scratch for the out-parameters every call writes (`int *outl`, what a final call may
 * write, a digest and its length). Shared by all contexts: the calls are synchronous
 * and nothing is kept in them between two, and an idle connection then holds no
 * buffers of its own here (fan-out keeps thousands).
 */
const OUTL = new Uint8Array(8);
const OUTL_INT = new Int32Array(OUTL.buffer, 0, 1);
const FINAL = new Uint8Array(32);
const DIGEST = new Uint8Array(64);

/** Frees native contexts whose owner the garbage collector took. */
const released = new FinalizationRegistry<() => void>((free) => free());

function check(ok: number, what: string): void {
  if (ok !== 1) throw new Error(`libcrypto: ${what} failed`);
}

/** An EVP_CIPHER_CTX with its key set, in one direction. */
export class EvpCipher {
  readonly #lib: LibCryptoSymbols;
  readonly #ctx: Pointer;
  readonly #enc: number;

  /** A context for `cipher` (an EVP_CIPHER pointer) keyed with `key`; `iv` may come later. */
  constructor(
    lib: LibCryptoSymbols,
    cipher: Pointer,
    key: Uint8Array,
    iv: Uint8Array | null,
    encrypt: boolean,
  ) {
    this.#lib = lib;
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (isNull(ctx)) throw new Error("libcrypto: EVP_CIPHER_CTX_new failed");
    this.#ctx = ctx;
    released.register(this, () => lib.EVP_CIPHER_CTX_free(ctx));
    this.#enc = encrypt ? 1 : 0;
    check(lib.EVP_CipherInit_ex(ctx, cipher, null, key, iv, this.#enc), "EVP_CipherInit_ex");
    check(lib.EVP_CIPHER_CTX_set_padding(ctx, 0), "EVP_CIPHER_CTX_set_padding");
  }

  /** Starts a message with a new IV (of the length the cipher expects), keeping the key. */
  setIv(iv: Uint8Array): void {
    check(this.#lib.EVP_CipherInit_ex(this.#ctx, null, null, null, iv, this.#enc), "set IV");
  }

  /** Feeds additional authenticated data (AES-GCM). */
  aad(data: Uint8Array): void {
    check(
      this.#lib.EVP_CipherUpdate(this.#ctx, null, OUTL, data, data.length),
      "EVP_CipherUpdate (AAD)",
    );
  }

  /** En- or decrypts `data` in place (a stream mode, or whole blocks with padding off). */
  update(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    check(this.#lib.EVP_CipherUpdate(this.#ctx, data, OUTL, data, n), "EVP_CipherUpdate");
    if (OUTL_INT[0] !== n) {
      throw new Error(`libcrypto: EVP_CipherUpdate wrote ${OUTL_INT[0]} bytes for ${n}`);
    }
  }

  /** Writes `src` en- or decrypted into `dst` (at least as long). */
  updateInto(dst: Uint8Array, src: Uint8Array): void {
    const n = src.length;
    if (dst.length < n) throw new RangeError("libcrypto: output shorter than input");
    if (n === 0) return;
    check(this.#lib.EVP_CipherUpdate(this.#ctx, dst, OUTL, src, n), "EVP_CipherUpdate");
  }

  /** Ends an AES-GCM message; when opening, whether the tag set before verified. */
  finish(): boolean {
    return this.#lib.EVP_CipherFinal_ex(this.#ctx, FINAL, OUTL) === 1;
  }

  /** The 16-byte AES-GCM tag of the message just sealed, into `out[0..16]`. */
  getTag(out: Uint8Array): void {
    if (out.length < 16) throw new RangeError("libcrypto: tag buffer shorter than 16 bytes");
    check(
      this.#lib.EVP_CIPHER_CTX_ctrl(this.#ctx, EVP_CTRL_GCM_GET_TAG, 16, out),
      "EVP_CTRL_GCM_GET_TAG",
    );
  }

  /** The 16-byte AES-GCM tag the next message to open must carry. */
  setTag(tag: Uint8Array): void {
    if (tag.length !== 16) throw new RangeError("libcrypto: an AES-GCM tag is 16 bytes");
    check(
      this.#lib.EVP_CIPHER_CTX_ctrl(this.#ctx, EVP_CTRL_GCM_SET_TAG, 16, tag),
      "EVP_CTRL_GCM_SET_TAG",
    );
  }
}

/** An HMAC_CTX keyed once; each MAC starts again from the key. */
export class EvpHmac {
  readonly #lib: LibCryptoSymbols;
  readonly #ctx: Pointer;
  /** Digest bytes. */
  readonly length: number;

  /** HMAC with the digest `md` (an EVP_MD pointer) of `length` bytes, keyed with `key`. */
  constructor(lib: LibCryptoSymbols, md: Pointer, length: number, key: Uint8Array) {
    this.#lib = lib;
    this.length = length;
    const ctx = lib.HMAC_CTX_new();
    if (isNull(ctx)) throw new Error("libcrypto: HMAC_CTX_new failed");
    this.#ctx = ctx;
    released.register(this, () => lib.HMAC_CTX_free(ctx));
    // A zero-length key still needs a valid pointer: libcrypto reads none of it.
    const k = key.length > 0 ? key : new Uint8Array(1);
    check(lib.HMAC_Init_ex(ctx, k, key.length, md, null), "HMAC_Init_ex");
  }

  /** Starts a new MAC with the same key. */
  begin(): void {
    check(this.#lib.HMAC_Init_ex(this.#ctx, null, 0, null, null), "HMAC_Init_ex (reset)");
  }

  /** Feeds `data`. */
  update(data: Uint8Array): void {
    if (data.length === 0) return;
    check(this.#lib.HMAC_Update(this.#ctx, data, data.length), "HMAC_Update");
  }

  /** Writes the MAC to `out[0..length]`. */
  finish(out: Uint8Array): void {
    // HMAC_Final writes the whole digest: into the scratch, then the MAC's length out.
    check(this.#lib.HMAC_Final(this.#ctx, DIGEST, OUTL), "HMAC_Final");
    out.set(DIGEST.subarray(0, this.length));
  }
}

const POLY1305_NAME = new TextEncoder().encode("POLY1305\0");

/** The fetched EVP_MAC for Poly1305 of each loaded library, or null where it has none. */
const poly1305Macs = new WeakMap<LibCryptoSymbols, Pointer | null>();

function poly1305Mac(lib: LibCryptoSymbols): Pointer | null {
  let mac = poly1305Macs.get(lib);
  if (mac === undefined) {
    const fetched = lib.EVP_MAC_fetch(null, POLY1305_NAME, null);
    mac = isNull(fetched) ? null : fetched;
    poly1305Macs.set(lib, mac);
  }
  return mac;
}

/** Whether this libcrypto implements Poly1305 as an EVP_MAC. */
export function hasPoly1305(lib: LibCryptoSymbols): boolean {
  return poly1305Mac(lib) !== null;
}

/** An EVP_MAC_CTX for Poly1305, keyed anew for every packet. */
export class EvpPoly1305 {
  readonly #lib: LibCryptoSymbols;
  readonly #ctx: Pointer;

  /** A Poly1305 context (check {@link hasPoly1305} first). */
  constructor(lib: LibCryptoSymbols) {
    const mac = poly1305Mac(lib);
    if (mac === null) throw new Error("libcrypto: no Poly1305");
    this.#lib = lib;
    const ctx = lib.EVP_MAC_CTX_new(mac);
    if (isNull(ctx)) throw new Error("libcrypto: EVP_MAC_CTX_new failed");
    this.#ctx = ctx;
    released.register(this, () => lib.EVP_MAC_CTX_free(ctx));
  }

  /** Poly1305 of `data` under the one-time `key` (32 bytes), into `out[0..16]`. */
  mac(key: Uint8Array, data: Uint8Array, out: Uint8Array): void {
    if (key.length !== 32 || out.length < 16) {
      throw new RangeError("libcrypto: Poly1305 takes a 32-byte key and a 16-byte output");
    }
    const lib = this.#lib;
    check(lib.EVP_MAC_init(this.#ctx, key, 32, null), "EVP_MAC_init");
    if (data.length > 0) check(lib.EVP_MAC_update(this.#ctx, data, data.length), "EVP_MAC_update");
    check(lib.EVP_MAC_final(this.#ctx, out, OUTL, 16), "EVP_MAC_final"); // size_t *outl
  }
}
