/**
 * Certificate validity times as `ssh-keygen -V` and AsyncSSH write them:
 * relative ("+1w2d", "-1d", "+3600"), absolute ("20250101", "202501011230",
 * "20250101123000", UTC) and the words "always" and "forever".
 *
 * @module
 */

/** The largest valid_before: no end (ssh-keygen's "forever"; certificate.ts's CERT_FOREVER). */
const CERT_TIME_FOREVER = 0xffffffffffffffffn;

/** Seconds per unit of a relative time (ssh-keygen's convtime). */
const UNIT_SECONDS: Readonly<Record<string, number>> = Object.freeze({
  "": 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
});

/** Longest time string accepted (a typo, not a use, would be longer). */
const MAX_TIME_STRING = 64;

/**
 * Converts a validity time string to seconds since the epoch:
 * "+1w2d" / "-1d" / "+90m" / "+3600" relative to `nowMs` (s, m, h, d, w;
 * no unit means seconds; units may be combined), "YYYYMMDD[HHMM[SS]]" (with
 * an optional "Z"; always read as UTC, where ssh-keygen reads local time
 * unless "Z" is given), "always" (0) and "forever" (2^64 - 1). Relative times
 * need `nowMs` (this pure module reads no clock). Throws a RangeError for
 * anything else.
 *
 * @example
 * ```ts
 * import { parseCertificateTime } from "@sshts/ssh";
 * const now = Date.UTC(2025, 0, 1);
 * console.log(parseCertificateTime("+1w2d", now) - BigInt(now / 1000)); // 777600n
 * console.log(parseCertificateTime("20250102")); // 1735776000n
 * ```
 */
export function parseCertificateTime(value: string, nowMs?: number): bigint {
  const v = value.trim();
  if (v.length === 0 || v.length > MAX_TIME_STRING) {
    throw new RangeError(`Cannot parse certificate time '${value}': empty or too long`);
  }
  const word = v.toLowerCase();
  if (word === "always") return 0n;
  if (word === "forever") return CERT_TIME_FOREVER;
  if (v[0] === "+" || v[0] === "-") {
    const body = v.slice(1);
    // Each run of digits ends at a unit or the end: the nested (\d+unit?)+ split a
    // run of digits every possible way before refusing (2^n steps: 62 digits and an
    // "x", inside MAX_TIME_STRING, never finished).
    if (!/^\d+(?:[smhdwSMHDW]\d+)*[smhdwSMHDW]?$/.test(body)) {
      throw new RangeError(
        `Cannot parse certificate time '${value}': expected e.g. +1w2d, -1d or +3600`,
      );
    }
    if (nowMs === undefined) {
      throw new RangeError(
        `Certificate time '${value}' is relative: give the current time (now) as well`,
      );
    }
    let total = 0n;
    for (const m of body.matchAll(/(\d+)([smhdwSMHDW]?)/g)) {
      total += BigInt(m[1]!) * BigInt(UNIT_SECONDS[m[2]!.toLowerCase()]!);
    }
    const base = BigInt(Math.floor(nowMs / 1000));
    const t = v[0] === "+" ? base + total : base - total;
    return t < 0n ? 0n : t > CERT_TIME_FOREVER ? CERT_TIME_FOREVER : t;
  }
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?Z?$/.exec(v);
  if (!m) {
    throw new RangeError(
      `Cannot parse certificate time '${value}': expected +/-interval, YYYYMMDD[HHMM[SS]], ` +
        `"always" or "forever"`,
    );
  }
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const check = new Date(ms);
  if (
    mo! < 1 || mo! > 12 || check.getUTCDate() !== d || check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi || check.getUTCSeconds() !== s
  ) {
    throw new RangeError(`Cannot parse certificate time '${value}': no such date`);
  }
  if (ms < 0) throw new RangeError(`Cannot parse certificate time '${value}': before 1970`);
  return BigInt(Math.floor(ms / 1000));
}
