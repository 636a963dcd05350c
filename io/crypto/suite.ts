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
import { cryptoProviderOverride, currentRuntime, hardwareAes } from "../runtime/env.ts";
import { registerLibcrypto } from "./libcrypto/provider.ts";
import { registerNativeCrypto } from "./native_register.ts";
import { registerNativeCurves } from "./native_curves.ts";
import { registerNativeMlKem768, registerWebCryptoMlKem768 } from "./native_mlkem.ts";
import { installNativeEcdh } from "./native_ecdh.ts";
import { installNativeSignatures } from "./native_signatures.ts";
import { registerNativeKexHash } from "./native_kex_hash.ts";
import { registerWebCryptoGcm } from "./webcrypto_gcm.ts";

let suite: TransportSuite | undefined;
let nativeRegistered: string[] | undefined;
let libcryptoRegistered: string[] = [];

/** Registers native crypto (once) and returns the shared suite. */
export function defaultSuite(): TransportSuite {
  if (!suite) {
    // SSH_CRYPTO_PROVIDER=noble forces the portable path (benches and tests compare both).
    const provider = cryptoProviderOverride();
    if (provider !== "noble") {
      // Deno and Bun: the system's OpenSSL through their FFI, in place, where loaded.
      libcryptoRegistered = registerLibcrypto();
      nativeRegistered = [...new Set([...libcryptoRegistered, ...registerNativeCrypto()])];
      // Deno without libcrypto: AES-GCM through WebCrypto with packets in flight (the
      // driver runs it).
      if (!libcryptoRegistered.some((c) => c.endsWith("-gcm@openssh.com"))) {
        nativeRegistered = [...nativeRegistered, ...registerWebCryptoGcm()];
      }
      registerNativeCurves(); // X25519 and Ed25519 (kex, host key checks, signing)
      // The KEM half of mlkem768x25519-sha256: node:crypto's on Node 24; elsewhere
      // WebCrypto's, asynchronous (ready a few ms from now; the portable path until then).
      if (registerNativeMlKem768() === undefined) void registerWebCryptoMlKem768();
      installNativeSignatures(); // RSA and ECDSA, each family checked on first use
      installNativeEcdh(); // ecdh-sha2-nistp256/384/521, each curve checked on first use
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

/** Algorithms the system's libcrypto took over here (Deno and Bun, where it loads). */
export function libcryptoAlgorithms(): readonly string[] {
  defaultSuite();
  return libcryptoRegistered;
}

let preferences: AlgorithmPreferences | undefined;

/**
 * The default preference lists: OpenSSH's, except that AES-GCM comes before
 * chacha20-poly1305 where it is the cheaper cipher and as safe, as Go's SSH
 * library orders them: on Node and Bun (OpenSSL and BoringSSL) when native
 * AES-GCM is in use and the CPU has AES and carry-less multiply instructions
 * ({@link hardwareAes}). There, a download from `sshd` costs the client about
 * 1.4 CPU-s per GiB with aes128-gcm against 2.6 with chacha20-poly1305 (Node 24;
 * Bun's ChaCha20 is WebAssembly: 1.3 against 3.4); Deno's AES-GCM (WebCrypto)
 * costs more than its ChaCha20, so Deno keeps OpenSSH's order unless libcrypto
 * does its AES-GCM (io/crypto/libcrypto/), as does a CPU without those
 * instructions, where table-based AES could leak timing.
 */
export function defaultAlgorithms(): AlgorithmPreferences {
  return preferences ??= withRuntimeCipherOrder(defaultAlgorithmPreferences());
}

function withRuntimeCipherOrder(base: AlgorithmPreferences): AlgorithmPreferences {
  const gcm = base.cipher.filter((c) => c.endsWith("-gcm@openssh.com"));
  const nativeGcm = gcm.every((c) => nativeAlgorithms().includes(c));
  const denoGcmSlow = currentRuntime() === "deno" &&
    !gcm.every((c) => libcryptoRegistered.includes(c));
  if (denoGcmSlow || !nativeGcm || !hardwareAes()) return base;
  return { ...base, cipher: [...gcm, ...base.cipher.filter((c) => !gcm.includes(c))] };
}

export { defaultServerSigAlgs };
