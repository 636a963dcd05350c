/**
 * The suite `io/` runs engines with: the default suite, with native crypto
 * registered once for the running runtime where it is faster.
 *
 * @module
 */

import {
  createDefaultSuite,
  defaultAlgorithmPreferences,
  defaultServerSigAlgs,
} from "../../core/suite/default_suite.ts";
import type { TransportSuite } from "../../core/transport/suite.ts";
import type { AlgorithmPreferences } from "../../core/transport/transport.ts";
import { cryptoProviderOverride } from "../runtime/env.ts";
import { registerNativeCrypto } from "./native_register.ts";
import { registerNativeCurves } from "./native_curves.ts";
import { registerNativeKexHash } from "./native_kex_hash.ts";
import { registerWebCryptoGcm } from "./webcrypto_gcm.ts";

let suite: TransportSuite | undefined;
let nativeRegistered: string[] | undefined;

/** Registers native crypto (once) and returns the shared suite. */
export function defaultSuite(): TransportSuite {
  if (!suite) {
    // SSH_CRYPTO_PROVIDER=noble forces the portable path (benches and tests compare both).
    const provider = cryptoProviderOverride();
    if (provider !== "noble") {
      nativeRegistered = registerNativeCrypto();
      // Deno: AES-GCM through WebCrypto with packets in flight (the driver runs it).
      nativeRegistered = [...nativeRegistered, ...registerWebCryptoGcm()];
      registerNativeCurves(); // X25519 and Ed25519 (kex, host key checks, signing)
      registerNativeKexHash(); // the exchange hash and key derivation
    }
    suite = createDefaultSuite(provider ? { provider } : {});
  }
  return suite;
}

/** Algorithms that native crypto took over here (for reporting). */
export function nativeAlgorithms(): readonly string[] {
  defaultSuite();
  return nativeRegistered ?? [];
}

/** The default preference lists. */
export function defaultAlgorithms(): AlgorithmPreferences {
  return defaultAlgorithmPreferences();
}

export { defaultServerSigAlgs };
