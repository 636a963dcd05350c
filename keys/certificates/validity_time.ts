/**
 * Certificate validity times as ssh-keygen's `-V` and AsyncSSH take them:
 * "now", "always", "forever", relative offsets such as "+1w2d" or "-1h30m",
 * and absolute UTC dates "YYYYMMDD", "YYYYMMDDHHMM" or "YYYYMMDDHHMMSS".
 *
 * @module
 */

import { KeyImportError } from "../errors.ts";

/** Seconds per unit of a relative time (ssh-keygen's s, m, h, d, w). */
const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Longest time string accepted (a relative time with every unit fits easily). */
const MAX_TIME_STRING = 64;

/** ssh-keygen's "forever": the largest uint64. */
const FOREVER = 0xffffffffffffffffn;

/**
 * Seconds since the epoch for a validity time string, relative to `nowMs`
 * (milliseconds since the epoch). Absolute dates are UTC. Throws
 * KeyImportError (ERR_KEY_IMPORT) for anything else.
 *
 * @example
 * ```ts
 * import { parseValidityTime } from "./validity_time.ts";
 * const now = Date.UTC(2030, 0, 1);
 * console.log(parseValidityTime("+1w2d", now) - BigInt(now / 1000)); // 777600n
 * console.log(parseValidityTime("20300102", now)); // 1893542400n
 * ```
 */
export function parseValidityTime(value: string, nowMs: number): bigint {
  const v = value.trim();
  const bad = (why: string): never => {
    throw new KeyImportError(`Cannot parse validity time '${value.slice(0, 80)}': ${why}`);
  };
  if (v.length === 0 || v.length > MAX_TIME_STRING) bad("empty or too long");
  const now = BigInt(Math.floor(nowMs / 1000));
  if (v === "now") return now;
  if (v === "always") return 0n;
  if (v === "forever") return FOREVER;
  if (v[0] === "+" || v[0] === "-") {
    const body = v.slice(1);
    if (!/^(\d+[smhdw]?)+$/i.test(body)) {
      bad("expected +/- followed by numbers with s, m, h, d or w");
    }
    let total = 0n;
    for (const m of body.matchAll(/(\d+)([smhdw]?)/gi)) {
      total += BigInt(m[1]!) * BigInt(UNITS[(m[2] || "s").toLowerCase()]!);
    }
    const t = v[0] === "+" ? now + total : now - total;
    if (t < 0n || t > FOREVER) bad("outside the range of a certificate time");
    return t;
  }
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?Z?$/.exec(v);
  if (!m) bad("expected now, always, forever, +/-offset or YYYYMMDD[HHMM[SS]]");
  const [y, mo, d, h, mi, s] = m!.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const check = new Date(ms);
  if (
    mo! < 1 || mo! > 12 || check.getUTCDate() !== d || check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi || check.getUTCSeconds() !== s
  ) bad("no such date");
  return BigInt(Math.floor(ms / 1000));
}
