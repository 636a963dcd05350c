/**
 * The key exchange methods by wire name, and the default, supported and insecure
 * lists (preference order follows OpenSSH 9.9/10).
 *
 * @module
 */

import {
  MLKEM768_CIPHERTEXT_BYTES,
  MLKEM768_PUBLIC_KEY_BYTES,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Keypair,
} from "../pq/mlkem768.ts";
import {
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761Keypair,
} from "../pq/sntrup761.ts";
import { x25519Agreement } from "./curve25519.ts";
import { dhAgreement } from "./dh.ts";
import { MODP_GROUP_14, MODP_GROUP_16, MODP_GROUP_18, OAKLEY_GROUP_2 } from "./dh_groups.ts";
import { ecdhAgreement } from "./ecdh.ts";
import { groupExchangeMethod } from "./gex.ts";
import { hybridAgreement, type Kem } from "./hybrid.ts";
import { singleRoundMethod } from "./single_round.ts";
import type { KexMethod } from "./types.ts";

/**
 * sntrup761 (Streamlined NTRU Prime) from `core/pq/`, as the hybrid needs it.
 *
 * @example
 * ```ts
 * import { SNTRUP761 } from "./registry.ts";
 * console.log(SNTRUP761.publicKeyBytes, SNTRUP761.ciphertextBytes); // 1158 1039
 * ```
 */
export const SNTRUP761: Kem = Object.freeze({
  name: "sntrup761",
  publicKeyBytes: SNTRUP761_PUBLIC_KEY_BYTES,
  ciphertextBytes: SNTRUP761_CIPHERTEXT_BYTES,
  keypair: sntrup761Keypair,
  encapsulate: sntrup761Encapsulate,
  decapsulate: sntrup761Decapsulate,
});

/**
 * ML-KEM-768 (FIPS 203) from `core/pq/`, as the hybrid needs it.
 *
 * @example
 * ```ts
 * import { MLKEM768 } from "./registry.ts";
 * console.log(MLKEM768.publicKeyBytes, MLKEM768.ciphertextBytes); // 1184 1088
 * ```
 */
export const MLKEM768: Kem = Object.freeze({
  name: "mlkem768",
  publicKeyBytes: MLKEM768_PUBLIC_KEY_BYTES,
  ciphertextBytes: MLKEM768_CIPHERTEXT_BYTES,
  keypair: mlkem768Keypair,
  encapsulate: mlkem768Encapsulate,
  decapsulate: mlkem768Decapsulate,
});

const sntrup = hybridAgreement(SNTRUP761, "sha512");

const METHODS: readonly KexMethod[] = [
  singleRoundMethod("mlkem768x25519-sha256", "sha256", hybridAgreement(MLKEM768, "sha256")),
  singleRoundMethod("sntrup761x25519-sha512", "sha512", sntrup),
  singleRoundMethod("sntrup761x25519-sha512@openssh.com", "sha512", sntrup),
  singleRoundMethod("curve25519-sha256", "sha256", x25519Agreement),
  singleRoundMethod("curve25519-sha256@libssh.org", "sha256", x25519Agreement),
  singleRoundMethod("ecdh-sha2-nistp256", "sha256", ecdhAgreement("nistp256")),
  singleRoundMethod("ecdh-sha2-nistp384", "sha384", ecdhAgreement("nistp384")),
  singleRoundMethod("ecdh-sha2-nistp521", "sha512", ecdhAgreement("nistp521")),
  groupExchangeMethod("diffie-hellman-group-exchange-sha256", "sha256"),
  singleRoundMethod("diffie-hellman-group16-sha512", "sha512", dhAgreement(MODP_GROUP_16)),
  singleRoundMethod("diffie-hellman-group18-sha512", "sha512", dhAgreement(MODP_GROUP_18)),
  singleRoundMethod("diffie-hellman-group14-sha256", "sha256", dhAgreement(MODP_GROUP_14)),
  singleRoundMethod("diffie-hellman-group14-sha1", "sha1", dhAgreement(MODP_GROUP_14)),
  groupExchangeMethod("diffie-hellman-group-exchange-sha1", "sha1"),
  singleRoundMethod("diffie-hellman-group1-sha1", "sha1", dhAgreement(OAKLEY_GROUP_2)),
];

/**
 * Every key exchange method we implement, by wire name.
 *
 * @example
 * ```ts
 * import { KEX_METHODS } from "./registry.ts";
 * console.log(KEX_METHODS["curve25519-sha256"]?.hash); // "sha256"
 * ```
 */
export const KEX_METHODS: Readonly<Record<string, KexMethod>> = Object.freeze(
  Object.fromEntries(METHODS.map((m) => [m.name, m])),
);

/**
 * The method registered under `name`, or undefined.
 *
 * @example
 * ```ts
 * import { getKexMethod } from "./registry.ts";
 * console.log(getKexMethod("mlkem768x25519-sha256")?.name, getKexMethod("nope")); // "mlkem768x25519-sha256" undefined
 * ```
 */
export function getKexMethod(name: string): KexMethod | undefined {
  return Object.hasOwn(KEX_METHODS, name) ? KEX_METHODS[name] : undefined;
}

/**
 * The client's default kex list, in OpenSSH 9.9/10 order (`ext-info-c` and the
 * strict-kex marker are added by the transport).
 *
 * @example
 * ```ts
 * import { DEFAULT_KEX } from "./registry.ts";
 * console.log(DEFAULT_KEX[0]); // "mlkem768x25519-sha256"
 * ```
 */
export const DEFAULT_KEX: readonly string[] = Object.freeze([
  "mlkem768x25519-sha256",
  "sntrup761x25519-sha512",
  "sntrup761x25519-sha512@openssh.com",
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "ecdh-sha2-nistp256",
  "ecdh-sha2-nistp384",
  "ecdh-sha2-nistp521",
  "diffie-hellman-group-exchange-sha256",
  "diffie-hellman-group16-sha512",
  "diffie-hellman-group18-sha512",
  "diffie-hellman-group14-sha256",
]);

/**
 * The server's default kex list: OpenSSH 10's sshd no longer offers the finite-field
 * Diffie-Hellman methods by default (they cost the server far more than ECDH).
 *
 * @example
 * ```ts
 * import { DEFAULT_SERVER_KEX } from "./registry.ts";
 * console.log(DEFAULT_SERVER_KEX.length); // 8
 * ```
 */
export const DEFAULT_SERVER_KEX: readonly string[] = Object.freeze(DEFAULT_KEX.slice(0, 8));

/**
 * Methods that are implemented but weak (SHA-1 exchange hash, 1024-bit group):
 * never on by default.
 *
 * @example
 * ```ts
 * import { INSECURE_KEX } from "./registry.ts";
 * console.log(INSECURE_KEX.includes("diffie-hellman-group1-sha1")); // true
 * ```
 */
export const INSECURE_KEX: readonly string[] = Object.freeze([
  "diffie-hellman-group14-sha1",
  "diffie-hellman-group-exchange-sha1",
  "diffie-hellman-group1-sha1",
]);

/**
 * Every method name we implement: the defaults first, then the insecure ones.
 *
 * @example
 * ```ts
 * import { SUPPORTED_KEX } from "./registry.ts";
 * console.log(SUPPORTED_KEX.length); // 15
 * ```
 */
export const SUPPORTED_KEX: readonly string[] = Object.freeze([...DEFAULT_KEX, ...INSECURE_KEX]);
