/**
 * Early release of the per-packet buffers of bulk transfers.
 *
 * Each data packet costs a buffer of its own: on input, the decrypted packet a native
 * opener produced or a copy of the payload (every `channelData` event carries one, see
 * `ConnectionLayer`); on output, the ciphertext a native sealer produced
 * (`PacketSealer.sealDetached`). On Node and Deno such buffers are freed only when the
 * garbage collector next runs, and V8 lets about 64 MiB of them pile up first: a 1 GiB
 * download grows the process by that much although it holds a few hundred KiB at any
 * moment, and the allocator keeps handing out cold memory.
 *
 * Whoever creates such a buffer marks it ({@link markTransient}); whoever consumes it
 * last, having copied the bytes or written them out and kept no view, hands it back
 * ({@link releaseTransient}): its memory is freed at once (the buffer is detached with
 * `ArrayBuffer.prototype.transfer`). Only marked buffers are ever detached, each once.
 *
 * @module
 */

/** Buffers marked by {@link markTransient} and not yet released. */
const owned = new WeakSet<ArrayBuffer>();

type Transferable = ArrayBuffer & { transfer(length?: number): ArrayBuffer };

/** Whether this runtime can detach an ArrayBuffer (ES2024 `transfer`). */
const CAN_DETACH = typeof (ArrayBuffer.prototype as Partial<Transferable>).transfer === "function";

/**
 * A buffer holding more than this many bytes besides the data is not treated as the
 * packet's own: a decrypted packet carries at most its header and 255 bytes of padding,
 * while a slab shared by many small buffers (Node's Buffer pool) is kilobytes larger.
 */
const MAX_PACKET_SLACK = 512;

/**
 * Marks `data` as a packet's buffer that belongs to one consumer (a channel data event,
 * a sealed packet on its way to the socket), so that {@link releaseTransient} may free it.
 */
export function markTransient(data: Uint8Array): void {
  const b = data.buffer;
  if (
    CAN_DETACH && b instanceof ArrayBuffer && b.byteLength - data.byteLength <= MAX_PACKET_SLACK
  ) {
    owned.add(b);
  }
}

/** Whether `data`'s buffer is marked and not yet released (see {@link releaseTransient}). */
export function isTransient(data: Uint8Array): boolean {
  return owned.has(data.buffer as ArrayBuffer);
}

/**
 * Frees the memory of a marked buffer that was completely consumed: its bytes were copied
 * elsewhere or written out, and neither the caller nor anything it handed the buffer to
 * keeps a view of it or has an I/O operation on it in progress. Returns whether it was
 * freed: buffers that were not marked (or were already released) are left alone.
 *
 * @example
 * ```ts
 * import { markTransient, releaseTransient } from "./transient_buffers.ts";
 * const chunk = new Uint8Array(32768);
 * markTransient(chunk); // done by the connection layer for every channelData event
 * const copy = chunk.slice();
 * console.log(releaseTransient(chunk), chunk.length, copy.length); // true 0 32768
 * ```
 */
export function releaseTransient(data: Uint8Array): boolean {
  const b = data.buffer as ArrayBuffer;
  if (!owned.delete(b)) return false;
  (b as Transferable).transfer(0);
  return true;
}

/**
 * Frees a buffer the caller alone holds (it made it, e.g. with `slice()`, and no view of
 * it remains anywhere): the same early release as {@link releaseTransient}, for buffers
 * that never left the caller. Views into a larger buffer are left alone.
 */
export function freeOwned(data: Uint8Array | ArrayBuffer): void {
  const b = data instanceof ArrayBuffer ? data : data.buffer;
  if (!CAN_DETACH || !(b instanceof ArrayBuffer)) return;
  if (
    !(data instanceof ArrayBuffer) && (data.byteOffset !== 0 || data.byteLength !== b.byteLength)
  ) {
    return;
  }
  owned.delete(b);
  (b as Transferable).transfer(0);
}
