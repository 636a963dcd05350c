/**
 * Checks of the numbers an application passes to the engines (and, under its own option
 * names, to `connect()` and `listen()`): the wire and the timers take any number, so a
 * negative, fractional or NaN value would not fail but quietly do something else — a rekey
 * limit of NaN never rekeys, one of -1 rekeys after every packet, a keepalive interval of
 * NaN turns keepalives off.
 *
 * @module
 */

import { MAX_WINDOW } from "../limits.ts";

/**
 * Throws a RangeError naming `name` unless `v` is an integer from `min` to `max`.
 *
 * @example
 * ```ts
 * import { checkInteger } from "./option_checks.ts";
 * checkInteger(3, "keepaliveCountMax", 0); // fine
 * try {
 *   checkInteger(1.5, "keepaliveCountMax", 0);
 * } catch (e) {
 *   console.log((e as Error).message); // keepaliveCountMax must be an integer of 0 or more, not 1.5
 * }
 * ```
 */
export function checkInteger(
  v: number,
  name: string,
  min: number,
  max: number = Infinity,
): void {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return;
  const range = max === Infinity
    ? `an integer of ${min} or more`
    : `an integer from ${min} to ${max}`;
  throw new RangeError(`${name} must be ${range}, not ${v}`);
}

/**
 * Throws a RangeError naming `name` unless `ms` is a duration: 0 (none) or more, `Infinity`
 * included, not NaN.
 *
 * @example
 * ```ts
 * import { checkDuration } from "./option_checks.ts";
 * checkDuration(0, "keepaliveInterval"); // fine: off
 * try {
 *   checkDuration(-1, "keepaliveInterval");
 * } catch (e) {
 *   console.log((e as Error).message); // keepaliveInterval must be 0 (none) or a positive number of ms, not -1
 * }
 * ```
 */
export function checkDuration(ms: number, name: string): void {
  if (typeof ms === "number" && ms >= 0) return;
  throw new RangeError(`${name} must be 0 (none) or a positive number of ms, not ${ms}`);
}

/** The engines' numeric options, by the engines' names. */
export interface EngineLimits {
  readonly rekeyBytes?: number | undefined;
  readonly rekeyPackets?: number | undefined;
  readonly rekeyIntervalMs?: number | undefined;
  readonly keepaliveIntervalMs?: number | undefined;
  readonly keepaliveCountMax?: number | undefined;
  readonly maxChannels?: number | undefined;
}

/** The smallest rekey limit in bytes: OpenSSH refuses a RekeyLimit under 16 too. */
export const MIN_REKEY_BYTES = 16;

/**
 * Checks the engines' numeric options; `names` renames them in the messages (an
 * application's `connect()` says `rekeyInterval` where the engine says `rekeyIntervalMs`).
 *
 * @example
 * ```ts
 * import { checkEngineLimits } from "./option_checks.ts";
 * checkEngineLimits({ rekeyBytes: 1 << 30, keepaliveIntervalMs: 15_000 }); // fine
 * try {
 *   checkEngineLimits({ rekeyIntervalMs: NaN }, { rekeyIntervalMs: "rekeyInterval" });
 * } catch (e) {
 *   console.log((e as Error).message); // rekeyInterval must be 0 (none) or a positive number of ms, not NaN
 * }
 * ```
 */
export function checkEngineLimits(
  o: EngineLimits,
  names: Partial<Record<keyof EngineLimits, string>> = {},
): void {
  const name = (k: keyof EngineLimits) => names[k] ?? k;
  if (o.rekeyBytes !== undefined) checkInteger(o.rekeyBytes, name("rekeyBytes"), MIN_REKEY_BYTES);
  if (o.rekeyPackets !== undefined) checkInteger(o.rekeyPackets, name("rekeyPackets"), 1);
  if (o.rekeyIntervalMs !== undefined) checkDuration(o.rekeyIntervalMs, name("rekeyIntervalMs"));
  if (o.keepaliveIntervalMs !== undefined) {
    checkDuration(o.keepaliveIntervalMs, name("keepaliveIntervalMs"));
  }
  if (o.keepaliveCountMax !== undefined) {
    checkInteger(o.keepaliveCountMax, name("keepaliveCountMax"), 0);
  }
  if (o.maxChannels !== undefined) checkInteger(o.maxChannels, name("maxChannels"), 1);
}

/**
 * Checks a channel window (1 to 2^32 − 1 bytes: a window of 0 would let the peer send
 * nothing) and a maximum packet size (1 or more; a larger one than the transport carries is
 * lowered where it is advertised), under the names given.
 *
 * @example
 * ```ts
 * import { checkChannelSizes } from "./option_checks.ts";
 * checkChannelSizes({ window: 2 * 1024 * 1024, maxPacket: 32768 }); // fine
 * try {
 *   checkChannelSizes({ window: NaN }, { window: "windowSize" });
 * } catch (e) {
 *   console.log((e as Error).message); // windowSize must be an integer from 1 to 4294967295, not NaN
 * }
 * ```
 */
export function checkChannelSizes(
  o: { readonly window?: number | undefined; readonly maxPacket?: number | undefined },
  names: { readonly window?: string; readonly maxPacket?: string } = {},
): void {
  if (o.window !== undefined) checkInteger(o.window, names.window ?? "window", 1, MAX_WINDOW);
  if (o.maxPacket !== undefined) checkInteger(o.maxPacket, names.maxPacket ?? "maxPacket", 1);
}

/** The numbers `connect()` and `listen()` both take, by the names they take them under. */
export interface ConnectionNumbers {
  readonly windowSize?: number | undefined;
  readonly maxPacketSize?: number | undefined;
  readonly rekeyBytes?: number | undefined;
  readonly rekeyInterval?: number | undefined;
  readonly keepaliveInterval?: number | undefined;
  readonly keepaliveCountMax?: number | undefined;
  readonly maxChannels?: number | undefined;
}

/**
 * Checks the numbers `connect()` and `listen()` share ({@link checkChannelSizes} and
 * {@link checkEngineLimits}), naming them as those functions' options do.
 *
 * @example
 * ```ts
 * import { checkConnectionNumbers } from "./option_checks.ts";
 * try {
 *   checkConnectionNumbers({ keepaliveInterval: -1 });
 * } catch (e) {
 *   console.log((e as Error).message); // keepaliveInterval must be 0 (none) or a positive number of ms, not -1
 * }
 * ```
 */
export function checkConnectionNumbers(o: ConnectionNumbers): void {
  checkChannelSizes(
    { window: o.windowSize, maxPacket: o.maxPacketSize },
    { window: "windowSize", maxPacket: "maxPacketSize" },
  );
  checkEngineLimits(
    {
      rekeyBytes: o.rekeyBytes,
      rekeyIntervalMs: o.rekeyInterval,
      keepaliveIntervalMs: o.keepaliveInterval,
      keepaliveCountMax: o.keepaliveCountMax,
      maxChannels: o.maxChannels,
    },
    { rekeyIntervalMs: "rekeyInterval", keepaliveIntervalMs: "keepaliveInterval" },
  );
}
