/**
 * Candidate groups for `diffie-hellman-group-exchange-*` servers: a built-in set
 * (the RFC 3526 safe primes of 2048..8192 bits) and a parser for OpenSSH's
 * `/etc/ssh/moduli` format.
 *
 * @module
 */

import { bitLength } from "../publickey/bigint.ts";
import {
  MODP_GROUP_14,
  MODP_GROUP_15,
  MODP_GROUP_16,
  MODP_GROUP_17,
  MODP_GROUP_18,
} from "./dh_groups.ts";

/** One candidate group: `bits` is the size of p in bits. */
export interface Modulus {
  /** Size of `p` in bits (the moduli file's size field plus one). */
  readonly bits: number;
  /** The safe prime modulus. */
  readonly p: bigint;
  /** The generator (usually 2 or 5). */
  readonly g: bigint;
}

/**
 * The built-in group-exchange moduli: RFC 3526 groups 14..18 (2048, 3072, 4096, 6144
 * and 8192 bits, generator 2). They are fixed and public, like OpenSSH's fallback
 * groups; a server that wants fresh primes passes a parsed moduli file instead.
 *
 * @example
 * ```ts
 * import { BUILTIN_MODULI } from "./moduli.ts";
 * console.log(BUILTIN_MODULI.map((m) => m.bits)); // [2048, 3072, 4096, 6144, 8192]
 * ```
 */
export const BUILTIN_MODULI: readonly Modulus[] = Object.freeze(
  [MODP_GROUP_14, MODP_GROUP_15, MODP_GROUP_16, MODP_GROUP_17, MODP_GROUP_18].map((g) =>
    Object.freeze({ bits: g.bits, p: g.p, g: g.g })
  ),
);

/** moduli(5) "type" of a safe prime. */
const MODULI_TYPE_SAFE = 2;
/** moduli(5) "tests" bit meaning "composite". */
const MODULI_TESTS_COMPOSITE = 0x01;

/**
 * Parses an OpenSSH moduli file: one group per line,
 * `timestamp type tests tries size generator modulus` (size is bits - 1, generator
 * and modulus in hex); blank lines and `#` comments are skipped. Like sshd, it keeps
 * only tested safe primes whose stated size matches and skips bad lines, reporting
 * each through `onSkip` when given.
 *
 * @example
 * ```ts
 * import { parseModuli } from "./moduli.ts";
 * const text = "# comment\n20240101000000 2 6 100 7 2 CB\n";
 * console.log(parseModuli(text)); // [{ bits: 8, p: 203n, g: 2n }]
 * ```
 */
export function parseModuli(
  text: string,
  onSkip?: (line: number, reason: string) => void,
): Modulus[] {
  const out: Modulus[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const reason = parseLine(line, out);
    if (reason !== null) onSkip?.(i + 1, reason);
  }
  return out;
}

const DECIMAL = /^[0-9]+$/;
const HEX = /^[0-9a-fA-F]+$/;

/** Parses one line into `out`; returns why it was skipped, or null. */
function parseLine(line: string, out: Modulus[]): string | null {
  const f = line.split(/\s+/);
  if (f.length !== 7) return `expected 7 fields, found ${f.length}`;
  const [, type, tests, tries, size, gen, mod] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!DECIMAL.test(type) || Number(type) !== MODULI_TYPE_SAFE) {
    return "not a safe prime (type != 2)";
  }
  if (!DECIMAL.test(tests)) return "invalid tests field";
  const t = Number(tests);
  if ((t & MODULI_TESTS_COMPOSITE) !== 0 || (t & ~MODULI_TESTS_COMPOSITE) === 0) {
    return "prime marked composite or untested";
  }
  if (!DECIMAL.test(tries) || Number(tries) === 0) return "invalid trial count";
  if (!DECIMAL.test(size) || Number(size) === 0 || Number(size) > 65536) return "invalid size";
  if (!HEX.test(gen) || !HEX.test(mod)) return "generator or modulus is not hex";
  const p = BigInt("0x" + mod);
  const g = BigInt("0x" + gen);
  // The file states bits - 1 (OpenSSH adds one when reading).
  const bits = Number(size) + 1;
  if (bitLength(p) !== bits) return `modulus has ${bitLength(p)} bits, the line says ${bits}`;
  if (g <= 1n || g >= p - 1n) return "invalid generator";
  out.push({ bits, p, g });
  return null;
}
