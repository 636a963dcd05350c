/**
 * AES-GCM (RFC 5647) through WebCrypto (`crypto.subtle`), several packets in flight:
 * the deferred sealer and opener of {@link ./deferred.ts}. On Deno, whose `node:crypto`
 * AES-GCM is slow (≈ 45 MB/s here), WebCrypto with 8–16 operations in flight reaches
 * 500–700 MB/s (32 KiB packets, this machine; one at a time: ≈ 250).
 *
 * Until a driver attaches (and for packets below the threshold) they work synchronously
 * through the native or portable AES-GCM with the same invocation counter, so the bytes
 * are the same either way and an engine run without the driver stays correct.
 *
 * @module
 */

import {
  checkGcmSealable,
  GcmOpener,
  gcmPacketLength,
  GcmSealer,
} from "../../core/crypto/noble_aes_gcm.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
  PacketSealer,
} from "../../core/crypto/types.ts";
import { checkKeyLengths } from "../../core/crypto/check_keys.ts";
import { freeOwned } from "../../core/transient_buffers.ts";
import type { DeferredOpener, DeferredSealer, PendingSealSink } from "./deferred.ts";
import { GcmNonce, NativeGcmOpener, NativeGcmSealer } from "./native_gcm.ts";
import { probeNativeCrypto } from "./native_probe.ts";
import { WEBCRYPTO_GCM_WINS } from "./native_tuning.ts";
import {
  registerPacketProtection,
  unregisterPacketProtection,
} from "../../core/crypto/registry.ts";
import { currentRuntime } from "../runtime/env.ts";

/** The provider name WebCrypto sealers and openers report. */
export const WEBCRYPTO_PROVIDER = "webcrypto";

/** The AES-GCM wire names this provider implements, with their key lengths. */
const GCM_CIPHERS: Readonly<Record<string, "aes-128-gcm" | "aes-256-gcm">> = {
  "aes128-gcm@openssh.com": "aes-128-gcm",
  "aes256-gcm@openssh.com": "aes-256-gcm",
};

const TAG = 16;

interface SyncGcmSealer extends PacketSealer {
  skip(): void;
}
interface SyncGcmOpener extends PacketOpener {
  skip(): void;
}

/** Our packets live in plain ArrayBuffers; DOM's lib types want that said. */
function view(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

function subtle(): SubtleCrypto | undefined {
  return (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
}

function importKey(raw: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  const key = new Uint8Array(raw);
  const p = subtle()!.importKey("raw", key, "AES-GCM", false, [usage]);
  void p.then(() => key.fill(0), () => key.fill(0));
  return p;
}

/** Seals AES-GCM packets with WebCrypto once a driver attached; synchronously before. */
export class WebCryptoGcmSealer implements DeferredSealer {
  readonly blockSize = 16;
  readonly tagLength = TAG;
  readonly lengthInClear = true;
  readonly provider = WEBCRYPTO_PROVIDER;
  readonly #sync: SyncGcmSealer;
  readonly #key: Promise<CryptoKey>;
  readonly #nonce: GcmNonce;
  readonly #threshold: number;
  #sink: PendingSealSink | null = null;

  /** `threshold`: packets with fewer bytes after the length field are sealed synchronously. */
  constructor(alg: "aes-128-gcm" | "aes-256-gcm", keys: DirectionKeys, threshold: number) {
    this.#sync = probeNativeCrypto().ciphers.includes(nameOf(alg))
      ? new NativeGcmSealer(alg, keys, threshold)
      : new GcmSealer(keys);
    this.#key = importKey(keys.encKey, "encrypt");
    // Unobserved until the first deferred packet; never let an import failure go unhandled.
    this.#key.catch(() => {});
    this.#nonce = new GcmNonce(keys.iv);
    this.#threshold = threshold;
  }

  attachDeferred(sink: PendingSealSink): void {
    this.#sink = sink;
  }

  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    const len = packet.length - 4;
    const sink = this.#sink;
    if (sink === null || len < this.#threshold) {
      this.#sync.seal(seq, packet, tagOut);
      this.#nonce.next();
      return;
    }
    checkGcmSealable(packet, tagOut);
    const iv = this.#nonce.bytes.slice();
    this.#nonce.next();
    this.#sync.skip();
    const done = this.#key
      .then((key) =>
        subtle()!.encrypt(
          { name: "AES-GCM", iv, additionalData: view(packet.subarray(0, 4)), tagLength: 128 },
          key,
          view(packet.subarray(4)),
        )
      )
      .then((buf) => {
        const out = new Uint8Array(buf);
        if (out.length !== len + TAG) {
          throw new RangeError(`WebCrypto returned ${out.length} bytes for ${len + TAG}`);
        }
        packet.set(out.subarray(0, len), 4);
        tagOut.set(out.subarray(len));
        freeOwned(buf); // copied: its memory goes back at once, not at the next GC
      });
    sink(packet, done);
  }
}

/** One packet the driver started opening: its plaintext once known (null: it failed). */
interface Prepared {
  readonly sync: boolean;
  plain: Uint8Array | null;
}

/** Opens AES-GCM packets with WebCrypto ahead of the engine; synchronously otherwise. */
export class WebCryptoGcmOpener implements DeferredOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = TAG;
  readonly blockSize = 16;
  readonly lengthInClear = true;
  readonly provider = WEBCRYPTO_PROVIDER;
  readonly #sync: SyncGcmOpener;
  readonly #key: Promise<CryptoKey>;
  readonly #nonce: GcmNonce;
  readonly #threshold: number;
  /** Prepared packets, oldest first; the engine consumes them in order. */
  #fifo: Prepared[] = [];

  /** `threshold`: packets with fewer bytes after the length field are opened synchronously. */
  constructor(alg: "aes-128-gcm" | "aes-256-gcm", keys: DirectionKeys, threshold: number) {
    this.#sync = probeNativeCrypto().ciphers.includes(nameOf(alg))
      ? new NativeGcmOpener(alg, keys, threshold)
      : new GcmOpener(keys);
    this.#key = importKey(keys.encKey, "decrypt");
    this.#key.catch(() => {});
    this.#nonce = new GcmNonce(keys.iv);
    this.#threshold = threshold;
  }

  decryptLength(_seq: number, first: Uint8Array): number {
    return gcmPacketLength(first);
  }

  prepare(packet: Uint8Array): Promise<void> | undefined {
    const len = packet.length - 4 - TAG;
    const entry: Prepared = { sync: len < this.#threshold, plain: null };
    this.#fifo.push(entry);
    if (entry.sync) {
      this.#nonce.next();
      return undefined;
    }
    const iv = this.#nonce.bytes.slice();
    this.#nonce.next();
    return this.#key
      .then((key) =>
        subtle()!.decrypt(
          { name: "AES-GCM", iv, additionalData: view(packet.subarray(0, 4)), tagLength: 128 },
          key,
          view(packet.subarray(4)),
        )
      )
      .then((buf) => {
        entry.plain = new Uint8Array(buf);
      }, () => {
        entry.plain = null;
      });
  }

  /**
   * The prepared packet's plaintext (padding_length onwards), or, when nothing was
   * prepared, the synchronous path's result. Null when the tag does not verify.
   */
  openDetached(seq: number, packet: Uint8Array, tag: Uint8Array): Uint8Array | null {
    const e = this.#fifo.shift();
    if (e === undefined) {
      this.#nonce.next();
      return this.#openSync(seq, packet, tag);
    }
    if (e.sync) return this.#openSync(seq, packet, tag);
    this.#sync.skip();
    const plain = e.plain;
    e.plain = null;
    if (plain === null || plain.length !== packet.length - 4 || tag.length < TAG) return null;
    return plain;
  }

  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    const plain = this.openDetached(seq, packet, tag);
    if (plain === null) return false;
    if (plain.buffer !== packet.buffer || plain.byteOffset !== packet.byteOffset + 4) {
      packet.set(plain, 4);
    }
    return true;
  }

  #openSync(seq: number, packet: Uint8Array, tag: Uint8Array): Uint8Array | null {
    const s = this.#sync;
    if (s.openDetached) return s.openDetached(seq, packet, tag);
    return s.open(seq, packet, tag) ? packet.subarray(4) : null;
  }
}

function nameOf(alg: string): string {
  return alg === "aes-128-gcm" ? "aes128-gcm@openssh.com" : "aes256-gcm@openssh.com";
}

/** Options of {@link createWebCryptoGcmProtection}. */
export interface WebCryptoGcmOptions {
  /** Bytes after the length field below which packets go the synchronous way. Default 1024. */
  readonly threshold?: number;
}

/** A WebCrypto factory, with the `supports()` method the registry looks for. */
export interface WebCryptoGcmProtection extends PacketProtectionFactory {
  /** True for the AES-GCM ciphers when WebCrypto is there. */
  supports(cipher: string, mac: string | null): boolean;
}

/**
 * Creates the WebCrypto AES-GCM factory. Its sealers and openers are deferred ones
 * ({@link DeferredSealer}, {@link DeferredOpener}): fast only under a driver that
 * attaches to them (io/engine's `EngineDriver` does), correct without one.
 *
 * @example
 * ```ts
 * import { createWebCryptoGcmProtection } from "./webcrypto_gcm.ts";
 * const f = createWebCryptoGcmProtection();
 * console.log(f.supports("aes128-gcm@openssh.com", null)); // true where crypto.subtle exists
 * ```
 */
export function createWebCryptoGcmProtection(
  options: WebCryptoGcmOptions = {},
): WebCryptoGcmProtection {
  const threshold = options.threshold ?? 1024;
  const supports = (cipher: string, _mac: string | null): boolean =>
    subtle() !== undefined && GCM_CIPHERS[cipher] !== undefined;
  const check = (what: string, cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys) => {
    checkKeyLengths(what, cipher, mac, keys);
    if (!supports(cipher.name, null)) {
      throw new RangeError(`Cannot create ${what}: WebCrypto does not implement ${cipher.name}`);
    }
  };
  return Object.freeze({
    provider: WEBCRYPTO_PROVIDER,
    supports,
    createSealer(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketSealer {
      check("sealer", cipher, mac, keys);
      return new WebCryptoGcmSealer(GCM_CIPHERS[cipher.name]!, keys, threshold);
    },
    createOpener(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketOpener {
      check("opener", cipher, mac, keys);
      return new WebCryptoGcmOpener(GCM_CIPHERS[cipher.name]!, keys, threshold);
    },
  });
}

/**
 * Registers the WebCrypto AES-GCM provider above the native one on runtimes where
 * it wins ({@link WEBCRYPTO_GCM_WINS}); returns the cipher names it took over.
 *
 * @example
 * ```ts
 * import { registerWebCryptoGcm } from "./webcrypto_gcm.ts";
 * console.log(registerWebCryptoGcm()); // ["aes128-gcm@openssh.com", ...] on Deno, else []
 * ```
 */
export function registerWebCryptoGcm(
  options: { readonly force?: boolean; readonly priority?: number } = {},
): string[] {
  unregisterPacketProtection(WEBCRYPTO_PROVIDER);
  if (subtle() === undefined || !(options.force || WEBCRYPTO_GCM_WINS[currentRuntime()])) {
    return [];
  }
  const factory = createWebCryptoGcmProtection();
  registerPacketProtection(factory, { priority: options.priority ?? 20 });
  return Object.keys(GCM_CIPHERS);
}
