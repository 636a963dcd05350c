/**
 * Test helper for the byte-format fuzz tests (KRLs, agent messages, key files):
 * the mutations every one of them applies to a valid encoding.
 *
 * @module
 */

/**
 * Mutation `kind` of `b`, driven by four random bytes `x`: 0 truncates it, 1 flips
 * bits of one byte, 2 inflates a length (0xff 0x84 at one place: the classic way to
 * ask a parser for a huge allocation). The place is `x[0..1]` modulo the length.
 *
 * @example
 * ```ts
 * import { mutateBytes } from "./_fuzz_test_util.ts";
 * console.log(mutateBytes(Uint8Array.of(1, 2, 3), 0, Uint8Array.of(0, 2, 0, 0))); // [1, 2]
 * ```
 */
export function mutateBytes(b: Uint8Array, kind: 0 | 1 | 2, x: Uint8Array): Uint8Array {
  const at = mutationPlace(b, x);
  if (kind === 0) return b.slice(0, at);
  const c = b.slice();
  if (kind === 1) {
    c[at] = c[at]! ^ (x[2]! | 1);
  } else {
    c[at] = 0xff;
    if (at + 1 < c.length) c[at + 1] = 0x84;
  }
  return c;
}

/** The place {@link mutateBytes} mutates: `x[0..1]` modulo the length of `b`. */
export function mutationPlace(b: Uint8Array, x: Uint8Array): number {
  return ((x[0]! << 8) | x[1]!) % Math.max(1, b.length);
}

/** A fuzz campaign's settings from the environment, read once (absent in a browser). */
const campaign = (() => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  const int = (name: string, fallback: number, min: number) => {
    const v = env?.[name];
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  return { scale: int("SSH_FUZZ_SCALE", 1, 1), seed: int("SSH_FUZZ_SEED", 0, 0) };
})();

/**
 * How many iterations a fuzz loop of `n` runs: `n` in the suite, `n × SSH_FUZZ_SCALE` in a
 * longer campaign (`SSH_FUZZ_SCALE=50 SSH_FUZZ_SEED=3 node scripts/run_tests.mjs … *fuzz*`).
 *
 * @example
 * ```ts
 * import { fuzzRuns } from "./_fuzz_test_util.ts";
 * const runs = fuzzRuns(300); // 300 unless SSH_FUZZ_SCALE is set
 * ```
 */
export function fuzzRuns(n: number): number {
  return n * campaign.scale;
}

/**
 * The seed a fuzz test uses: its own `base` in the suite, moved by `SSH_FUZZ_SEED` in a
 * campaign so that each campaign explores other inputs (and a failure names its seed).
 *
 * @example
 * ```ts
 * import { fuzzSeed } from "./_fuzz_test_util.ts";
 * console.log(fuzzSeed(42)); // 42 unless SSH_FUZZ_SEED is set
 * ```
 */
export function fuzzSeed(base: number): number {
  return (base + campaign.seed * 0x9e3779b1) >>> 0 || 1;
}
