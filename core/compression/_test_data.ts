/**
 * Deterministic sample payloads for the compression tests and benchmark: text that
 * compresses about as well as shell output or source code, and incompressible bytes.
 *
 * @module
 */

import { type RandomSource, seededRandom } from "../random.ts";

/**
 * Pseudo-English lines from a 2,000-word vocabulary with a skewed word frequency, plus
 * numbers and paths: zlib level 6 shrinks it to roughly a third, like real text.
 *
 * @example
 * ```ts
 * import { textLike } from "./_test_data.ts";
 * console.log(new TextDecoder().decode(textLike(1, 40)));
 * ```
 */
export function textLike(seed: number, length: number): Uint8Array {
  const rand = seededRandom(seed);
  const vocabulary = makeVocabulary(seededRandom(0x7e57), 2000);
  const bytes = rand(length * 2 + 64);
  const out = new Uint8Array(length);
  const encoder = new TextEncoder();
  let o = 0;
  let r = 0;
  const next = (): number => {
    if (r + 2 > bytes.length) r = 0;
    const v = ((bytes[r] ?? 0) << 8) | (bytes[r + 1] ?? 0);
    r += 2;
    return v / 65536;
  };
  while (o < length) {
    const u = next();
    let word: string;
    if (u < 0.04) word = String(Math.floor(next() * 100000));
    else if (u < 0.06) word = `/usr/lib/${vocabulary[Math.floor(next() * 50)]}.so`;
    else word = vocabulary[Math.floor(vocabulary.length * next() ** 3)] ?? "x";
    const sep = next() < 0.1 ? "\n" : next() < 0.1 ? ", " : " ";
    const piece = encoder.encode(word + sep);
    const take = Math.min(piece.length, length - o);
    out.set(piece.subarray(0, take), o);
    o += take;
  }
  return out;
}

function makeVocabulary(rand: RandomSource, count: number): string[] {
  const letters = "etaoinshrdlcumwfgypbvkjxqz";
  const bytes = rand(count * 12);
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = 2 + ((bytes[i * 12] ?? 0) % 9);
    let w = "";
    // Squaring skews towards frequent letters, as in English.
    for (let k = 1; k <= len; k++) {
      const v = (bytes[i * 12 + k] ?? 0) / 256;
      w += letters[Math.floor(letters.length * v * v)];
    }
    words.push(w);
  }
  return words;
}
