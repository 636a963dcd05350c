/**
 * chacha20-poly1305@openssh.com packet functions (OpenSSH PROTOCOL.chacha20poly1305)
 * as WebAssembly, calling the ChaCha20 and Poly1305 functions of the same module:
 * one call seals or opens a whole packet that was copied into linear memory, so
 * the packet crosses between JavaScript and WebAssembly once each way.
 *
 * K_2 (`k2`, payload and Poly1305 key) and K_1 (`k1`, the length field) point at
 * 32-byte keys in memory; `n15` is state word 15 (bytes 4..7 of uint64be(seq),
 * read little-endian; word 14, the high half of the sequence number, is 0).
 *
 * Exports: `chachapoly_seal(k2, k1, n15, p, len, tag)` encrypts the packet at p
 * (length field first, `len` bytes) in place and writes the tag at `tag`;
 * `chachapoly_open(k2, k1, n15, p, len, tag)` checks the tag at `tag` over the
 * encrypted packet and, only when it matches, decrypts in place; returns 1, else 0
 * with the packet untouched.
 *
 * @module
 */

import { call, type Code, i32, i64, ifElse, type Operand, seq, set } from "./instructions.ts";
import type { Local, ModuleBuilder } from "./module_builder.ts";
import type { Poly1305Functions } from "./poly1305_module.ts";

/**
 * The exports {@link addChaChaPolyFunctions} adds, as JavaScript sees them.
 *
 * @example
 * ```ts
 * import type { ChaChaPolyExports } from "./chacha20_poly1305_module.ts";
 * function roundTrip(x: ChaChaPolyExports, k2: number, p: number, len: number, tag: number) {
 *   x.chachapoly_seal(k2, k2 + 32, 0, p, len, tag);
 *   return x.chachapoly_open(k2, k2 + 32, 0, p, len, tag) === 1;
 * }
 * ```
 */
export interface ChaChaPolyExports {
  /** Encrypts the packet at `p` in place and writes the 16-byte tag at `tag`. */
  chachapoly_seal(k2: number, k1: number, n15: number, p: number, len: number, tag: number): void;
  /** Verifies the tag at `tag`; when it matches decrypts in place and returns 1, else returns 0. */
  chachapoly_open(k2: number, k1: number, n15: number, p: number, len: number, tag: number): number;
}

/**
 * Function indices and scratch addresses the packet functions use.
 *
 * @example
 * ```ts
 * import type { ChaChaPolyModuleOptions } from "./chacha20_poly1305_module.ts";
 * const o: ChaChaPolyModuleOptions = {
 *   chachaXor: 5,
 *   poly: { init: 0, blocks: 1, last: 2, finish: 3 },
 *   polyState: 256,
 *   polyKey: 512,
 *   tagScratch: 544,
 * };
 * ```
 */
export interface ChaChaPolyModuleOptions {
  /** Function index of `chacha_xor` (from `addChaCha20Functions`). */
  readonly chachaXor: number;
  /** Function indices of the Poly1305 functions. */
  readonly poly: Poly1305Functions;
  /** A Poly1305 state region of its own (`POLY1305_STATE_BYTES`). */
  readonly polyState: number;
  /** 32 bytes for the one-time Poly1305 key. */
  readonly polyKey: number;
  /** 16 bytes for the computed tag when opening. */
  readonly tagScratch: number;
}

/**
 * Adds `chachapoly_seal` and `chachapoly_open` to a module that already has the
 * ChaCha20 and Poly1305 functions.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addChaCha20Functions } from "./chacha20_module.ts";
 * import { addPoly1305Functions } from "./poly1305_module.ts";
 * import { addChaChaPolyFunctions } from "./chacha20_poly1305_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1 }, "memory");
 * const poly = addPoly1305Functions(m);
 * const chachaXor = addChaCha20Functions(m, { scratch: 256 });
 * addChaChaPolyFunctions(m, { chachaXor, poly, polyState: 0, polyKey: 128, tagScratch: 160 });
 * ```
 */
export function addChaChaPolyFunctions(m: ModuleBuilder, o: ChaChaPolyModuleOptions): void {
  const I32 = "i32" as const;
  const st = i32.const(o.polyState);
  const zero32 = i32.const(0);

  /** Poly1305 one-time key: the first 32 bytes of K_2's block 0. */
  const polyKey = (k2: Local, n15: Local): Code =>
    seq(
      ...[0, 8, 16, 24].map((at) => i64.store(i32.const(o.polyKey), i64.const(0), at)),
      call(o.chachaXor, k2, zero32, zero32, zero32, n15, i32.const(o.polyKey), i32.const(32)),
      call(o.poly.init, st, i32.const(o.polyKey)),
    );

  /** Poly1305 over the whole packet (the last partial block padded), tag to `out`. */
  const mac = (p: Local, len: Local, full: Local, out: Operand): Code =>
    seq(
      set(full, i32.and(len, i32.const(~15))),
      call(o.poly.blocks, st, p, full, i32.const(1)),
      call(o.poly.last, st, i32.add(p, full), i32.and(len, i32.const(15))),
      call(o.poly.finish, st, out),
    );

  /** The length field with K_1 from block 0, the rest with K_2 from block 1. */
  const crypt = (k2: Local, k1: Local, n15: Local, p: Local, len: Local): Code =>
    seq(
      call(o.chachaXor, k1, zero32, zero32, zero32, n15, p, i32.const(4)),
      call(
        o.chachaXor,
        k2,
        i32.const(1),
        zero32,
        zero32,
        n15,
        i32.add(p, i32.const(4)),
        i32.sub(len, i32.const(4)),
      ),
    );

  m.func(
    { name: "chachapoly_seal", params: [I32, I32, I32, I32, I32, I32], results: [] },
    (f, [k2, k1, n15, p, len, tag]) => {
      const full = f.local("i32");
      seq(polyKey(k2!, n15!), crypt(k2!, k1!, n15!, p!, len!), mac(p!, len!, full, tag!))(f);
    },
  );

  m.func(
    { name: "chachapoly_open", params: [I32, I32, I32, I32, I32, I32], results: [I32] },
    (f, [k2, k1, n15, p, len, tag]) => {
      const full = f.local("i32"), diff = f.local("i32");
      const t = i32.const(o.tagScratch);
      seq(
        polyKey(k2!, n15!),
        mac(p!, len!, full, t),
        // Constant time: OR together the XOR of every word, then test once.
        set(
          diff,
          i32.or(
            ...([0, 4, 8, 12].map((at) => i32.xor(i32.load(t, at), i32.load(tag!, at))) as [
              Code,
              Code,
              Code,
              Code,
            ]),
          ),
        ),
        ifElse(i32.eqz(diff), [crypt(k2!, k1!, n15!, p!, len!)]),
        i32.eqz(diff),
      )(f);
    },
  );
}
