/**
 * Object identifiers used by the DER key formats. Internal to keys/.
 *
 * @module
 */

/** Key algorithms (SPKI / PKCS#8 AlgorithmIdentifier). */
export const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
export const OID_ED25519 = "1.3.101.112";
export const OID_DSA = "1.2.840.10040.4.1";

/** Named curves. */
export const OID_PRIME256V1 = "1.2.840.10045.3.1.7";
export const OID_SECP384R1 = "1.3.132.0.34";
export const OID_SECP521R1 = "1.3.132.0.35";

/** PKCS#5 password-based encryption. */
export const OID_PBES2 = "1.2.840.113549.1.5.13";
export const OID_PBKDF2 = "1.2.840.113549.1.5.12";
export const OID_PBE_MD5_DES_CBC = "1.2.840.113549.1.5.3";
export const OID_PBE_SHA1_DES_CBC = "1.2.840.113549.1.5.10";
/** PKCS#12 PBE used by OpenSSL's default `-v1` choice. */
export const OID_PBE_SHA1_3DES_CBC = "1.2.840.113549.1.12.1.3";

/** PRFs of PBKDF2. */
export const OID_HMAC_SHA1 = "1.2.840.113549.2.7";
export const OID_HMAC_SHA224 = "1.2.840.113549.2.8";
export const OID_HMAC_SHA256 = "1.2.840.113549.2.9";
export const OID_HMAC_SHA384 = "1.2.840.113549.2.10";
export const OID_HMAC_SHA512 = "1.2.840.113549.2.11";

/** Encryption schemes of PBES2. */
export const OID_AES128_CBC = "2.16.840.1.101.3.4.1.2";
export const OID_AES192_CBC = "2.16.840.1.101.3.4.1.22";
export const OID_AES256_CBC = "2.16.840.1.101.3.4.1.42";
export const OID_DES_EDE3_CBC = "1.2.840.113549.3.7";
export const OID_DES_CBC = "1.3.14.3.2.7";

/** scrypt as a PBES2 key-derivation function (RFC 7914). */
export const OID_SCRYPT = "1.3.6.1.4.1.11591.4.11";
