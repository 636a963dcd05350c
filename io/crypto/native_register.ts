/**
 * Registers the native provider in core's packet-protection registry for the
 * algorithms where it is available and faster on this runtime.
 *
 * @module
 */

import {
  registerPacketProtection,
  unregisterPacketProtection,
} from "../../core/crypto/registry.ts";
import { currentRuntime } from "../runtime/env.ts";
import { NATIVE_PROVIDER } from "./_native.ts";
import { createNativePacketProtection } from "./native_provider.ts";
import { probeNativeCrypto } from "./native_probe.ts";
import { NATIVE_WINS } from "./native_tuning.ts";

/** Options of {@link registerNativeCrypto}. */
export interface RegisterNativeCryptoOptions {
  /** Priority in the registry (the portable provider has 0). Default 10. */
  readonly priority?: number;
  /**
   * "faster" (default): only algorithms where native wins on this runtime
   * ({@link NATIVE_WINS}); "available": everything that works natively.
   */
  readonly select?: "faster" | "available";
}

/**
 * Registers the native provider for the algorithms where it is available and
 * faster on this runtime; returns the cipher and MAC wire names it took over
 * (a non-AEAD cipher goes native only together with a native MAC). Calling it
 * again replaces the earlier registration.
 *
 * @example
 * ```ts
 * import { registerNativeCrypto } from "./native_register.ts";
 * console.log(registerNativeCrypto()); // e.g. ["chacha20-poly1305@openssh.com", ..., "hmac-sha1"]
 * ```
 */
export function registerNativeCrypto(options: RegisterNativeCryptoOptions = {}): string[] {
  const runtime = currentRuntime();
  const avail = probeNativeCrypto();
  const wins = new Set(
    options.select === "available" ? avail.ciphers : NATIVE_WINS[runtime],
  );
  const ciphers = avail.ciphers.filter((c) => wins.has(c));
  const factory = createNativePacketProtection();
  unregisterPacketProtection(NATIVE_PROVIDER);
  if (ciphers.length === 0) return [];
  registerPacketProtection(factory, {
    priority: options.priority ?? 10,
    supports: (c, m) => wins.has(c) && factory.supports(c, m),
  });
  const needsMac = ciphers.some((c) => !c.includes("@openssh.com"));
  return [...ciphers, ...(needsMac ? avail.macs : [])];
}
