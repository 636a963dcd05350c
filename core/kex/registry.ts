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
  mlkem768DecapsulateLater,
  mlkem768Encapsulate,
  mlkem768EncapsulateLater,
  mlkem768Keypair,
  mlkem768KeypairLater,
} from "../pq/mlkem768.ts";
import {
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761Keypair,
} from "../pq/sntrup761.ts";
import { x25519Agreement } from "./curve25519.ts";
import { x448Agreement } from "./curve448.ts";
import { dhAgreement } from "./dh.ts";
import {
  MODP_GROUP_14,
  MODP_GROUP_15,
  MODP_GROUP_16,
  MODP_GROUP_17,
  MODP_GROUP_18,
  OAKLEY_GROUP_2,
} from "./dh_groups.ts";
import { ecdhAgreement } from "./ecdh.ts";
import { secp256k1Agreement } from "./ecdh_secp256k1.ts";
import { groupExchangeMethod } from "./gex.ts";
import { hybridAgreement, type Kem } from "./hybrid.ts";
import { rsaKexMethod } from "./rsa.ts";
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
  keypairLater: mlkem768KeypairLater,
  encapsulateLater: mlkem768EncapsulateLater,
  decapsulateLater: mlkem768DecapsulateLater,
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
  // Off by default (OPTIONAL_KEX, INSECURE_KEX): AsyncSSH's others.
  singleRoundMethod("curve448-sha512", "sha512", x448Agreement),
  singleRoundMethod("ecdh-sha2-1.3.132.0.10", "sha256", secp256k1Agreement),
  groupExchangeMethod("diffie-hellman-group-exchange-sha224@ssh.com", "sha224"),
  groupExchangeMethod("diffie-hellman-group-exchange-sha384@ssh.com", "sha384"),
  groupExchangeMethod("diffie-hellman-group-exchange-sha512@ssh.com", "sha512"),
  singleRoundMethod("diffie-hellman-group15-sha512", "sha512", dhAgreement(MODP_GROUP_15)),
  singleRoundMethod("diffie-hellman-group17-sha512", "sha512", dhAgreement(MODP_GROUP_17)),
  // SSH.com's names: the same RFC 3526 groups with other hashes.
  singleRoundMethod("diffie-hellman-group14-sha256@ssh.com", "sha256", dhAgreement(MODP_GROUP_14)),
  singleRoundMethod("diffie-hellman-group14-sha224@ssh.com", "sha224", dhAgreement(MODP_GROUP_14)),
  singleRoundMethod("diffie-hellman-group15-sha256@ssh.com", "sha256", dhAgreement(MODP_GROUP_15)),
  singleRoundMethod("diffie-hellman-group15-sha384@ssh.com", "sha384", dhAgreement(MODP_GROUP_15)),
  singleRoundMethod("diffie-hellman-group16-sha384@ssh.com", "sha384", dhAgreement(MODP_GROUP_16)),
  singleRoundMethod("diffie-hellman-group16-sha512@ssh.com", "sha512", dhAgreement(MODP_GROUP_16)),
  singleRoundMethod("diffie-hellman-group18-sha512@ssh.com", "sha512", dhAgreement(MODP_GROUP_18)),
  rsaKexMethod("rsa2048-sha256", "sha256", 2048),
  rsaKexMethod("rsa1024-sha1", "sha1", 1024),
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
 * Methods that are sound but off by default because OpenSSH does not offer them
 * (AsyncSSH and SSH.com do): curve448, secp256k1, the 3072- and 6144-bit MODP
 * groups, SSH.com's SHA-2 variants of the MODP groups and group exchange, and
 * RSA key exchange with a 2048-bit transient key (RFC 4432; forward secret
 * only per transient key, see `rsa.ts`). Enable them by name.
 *
 * @example
 * ```ts
 * import { OPTIONAL_KEX } from "./registry.ts";
 * console.log(OPTIONAL_KEX.includes("curve448-sha512")); // true
 * ```
 */
export const OPTIONAL_KEX: readonly string[] = Object.freeze([
  "curve448-sha512",
  "ecdh-sha2-1.3.132.0.10",
  "diffie-hellman-group-exchange-sha224@ssh.com",
  "diffie-hellman-group-exchange-sha384@ssh.com",
  "diffie-hellman-group-exchange-sha512@ssh.com",
  "diffie-hellman-group15-sha512",
  "diffie-hellman-group17-sha512",
  "diffie-hellman-group14-sha256@ssh.com",
  "diffie-hellman-group14-sha224@ssh.com",
  "diffie-hellman-group15-sha256@ssh.com",
  "diffie-hellman-group15-sha384@ssh.com",
  "diffie-hellman-group16-sha384@ssh.com",
  "diffie-hellman-group16-sha512@ssh.com",
  "diffie-hellman-group18-sha512@ssh.com",
  "rsa2048-sha256",
]);

/**
 * Methods that are implemented but weak (SHA-1 exchange hash, 1024-bit group or
 * RSA key): never on by default.
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
  "rsa1024-sha1",
]);

/**
 * Every method name we implement: the defaults first, then the optional ones,
 * then the insecure ones.
 *
 * @example
 * ```ts
 * import { SUPPORTED_KEX } from "./registry.ts";
 * console.log(SUPPORTED_KEX.length); // 31
 * ```
 */
export const SUPPORTED_KEX: readonly string[] = Object.freeze([
  ...DEFAULT_KEX,
  ...OPTIONAL_KEX,
  ...INSECURE_KEX,
]);
