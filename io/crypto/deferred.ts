/**
 * Asynchronous packet protection behind core's synchronous sealer/opener seam.
 *
 * The engine stays sans-IO and synchronous: it calls `seal()` and `open()`/`openDetached()`
 * as always. A *deferred* sealer or opener (WebCrypto AES-GCM on Deno, where `node:crypto`'s
 * AES-GCM is slow) works synchronously until the I/O driver attaches to it; from then on:
 *
 * - a sealer may leave a large packet *pending*: `seal()` starts the encryption, reports
 *   the packet and a promise to the driver's sink, and returns. The driver writes that
 *   packet (and everything after it, in order) only once the promise resolved; the packet
 *   holds plaintext until then and must never be written earlier.
 * - an opener's packets are framed by the driver ahead of the engine (the length is in
 *   clear): `prepare()` starts authenticating and decrypting one packet, and the driver
 *   feeds the packet's bytes to the engine only after the returned promise resolved; the
 *   engine's `openDetached()` then takes the prepared result (in order).
 *
 * Several packets are in flight at once, which is where the speed comes from.
 *
 * @module
 */

import type { PacketOpener, PacketSealer } from "../../core/crypto/types.ts";

/** Where a deferred sealer reports packets it left pending. */
export type PendingSealSink = (packet: Uint8Array, done: Promise<void>) => void;

/** A sealer that may finish large packets asynchronously once a driver attached. */
export interface DeferredSealer extends PacketSealer {
  /**
   * Called by the driver: from now on `seal()` may leave a packet pending and report
   * it to `sink` (whose owner must not write the packet before `done` resolves, and must
   * drop the connection if `done` rejects).
   */
  attachDeferred(sink: PendingSealSink): void;
}

/** An opener whose packets the driver may start opening before the engine reads them. */
export interface DeferredOpener extends PacketOpener {
  /**
   * Starts opening the next packet in sequence: `packet` is the whole packet as
   * received (length field, ciphertext, tag). Returns a promise the driver awaits
   * before it feeds those bytes to the engine, or undefined when the packet will be
   * opened synchronously when the engine gets it. Never rejects: a packet that fails
   * authentication makes the engine's `open` fail later.
   */
  prepare(packet: Uint8Array): Promise<void> | undefined;
}

/**
 * Whether a sealer can be attached to (a {@link DeferredSealer}).
 *
 * @example
 * ```ts
 * import { isDeferredSealer } from "./deferred.ts";
 * console.log(isDeferredSealer(null)); // false
 * ```
 */
export function isDeferredSealer(s: PacketSealer | null | undefined): s is DeferredSealer {
  return !!s && typeof (s as Partial<DeferredSealer>).attachDeferred === "function";
}

/**
 * Whether an opener takes packets ahead of the engine (a {@link DeferredOpener}).
 *
 * @example
 * ```ts
 * import { isDeferredOpener } from "./deferred.ts";
 * console.log(isDeferredOpener(null)); // false
 * ```
 */
export function isDeferredOpener(o: PacketOpener | null | undefined): o is DeferredOpener {
  return !!o && typeof (o as Partial<DeferredOpener>).prepare === "function";
}
