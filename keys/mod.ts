/**
 * Keys for SSH: one {@link SSHKey} type for public and private keys, import
 * from every common format (detected automatically), export, generation,
 * fingerprints as `ssh-keygen -l` prints them, OpenSSH certificates (and the
 * trust checks ssh and sshd make on them), X.509 certificates (RFC 6187), PuTTY
 * keys, and the known_hosts and authorized_keys files.
 *
 * Pure code: nothing here reads files or touches the network; pass the file
 * contents in (the `io/` layer has file helpers).
 *
 * @example Generate, save and load a key
 * ```ts
 * import { generatePrivateKey, importPrivateKey } from "@sshts/ssh/keys";
 * const key = generatePrivateKey("ed25519", { comment: "deploy@ci" });
 * const text = key.exportPrivateKey("openssh", { passphrase: "s3cret" });
 * const again = importPrivateKey(text, "s3cret");
 * console.log(again.getFingerprint() === key.getFingerprint()); // true
 * console.log(key.exportPublicKey()); // "ssh-ed25519 AAAA... deploy@ci\n"
 * ```
 *
 * @example Check a host key against known_hosts
 * ```ts
 * import { addKnownHost, generatePrivateKey, matchKnownHosts, parseKnownHosts } from "@sshts/ssh/keys";
 * const hostKey = generatePrivateKey("ecdsa").publicKey();
 * const text = addKnownHost("", "server.example", 22, hostKey, { hashed: true });
 * const { trustedHostKeys } = matchKnownHosts(parseKnownHosts(text), "server.example", "192.0.2.1", 22);
 * console.log(trustedHostKeys.some((k) => k.equals(hostKey))); // true
 * ```
 *
 * @module
 */

export { KeyExportError, KeyGenerationError, KeyImportError } from "./errors.ts";
// From the core, as the API here names them: the errors' base class, the random source
// signing and generation take, verify()'s options and a key's material.
export { SSHError, type SSHErrorCode } from "../core/errors.ts";
export type { RandomSource } from "../core/random.ts";
export type {
  DsaKeyMaterial,
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  KeyMaterial,
  RsaKeyMaterial,
  SkKeyMaterial,
} from "../core/publickey/types.ts";
export type { VerifyOptions } from "../core/publickey/verify.ts";
export { SSHKey, type TextPrivateFormat, type TextPublicFormat } from "./ssh_key.ts";
export {
  importPrivateKey,
  importPrivateKeyList,
  type ImportPrivateKeyOptions,
  importPublicKey,
  importPublicKeyList,
} from "./formats/import.ts";
export type {
  ExportPrivateKeyOptions,
  PrivateKeyFormat,
  PublicKeyFormat,
} from "./formats/export.ts";
export type { FingerprintHash } from "./fingerprint.ts";
export {
  DEFAULT_RSA_BITS,
  type GenerateAlgorithm,
  type GenerateOptions,
  generatePrivateKey,
} from "./generate.ts";
export {
  addKnownHost,
  formatKnownHostsLine,
  type FormatKnownHostsOptions,
  hashKnownHostsName,
  type KnownHosts,
  type KnownHostsEntry,
  type KnownHostsError,
  type KnownHostsMarker,
  type KnownHostsMatch,
  knownHostsName,
  matchKnownHosts,
  parseKnownHosts,
  removeKnownHost,
  type RemoveKnownHostOptions,
} from "./trust/known_hosts.ts";
export { parseCertificateTime } from "./certificates/validity.ts";
export {
  type AuthorizedKeyEntry,
  type AuthorizedKeyLookup,
  type AuthorizedKeyOptions,
  authorizedKeyRefusal,
  type AuthorizedKeys,
  type AuthorizedKeysError,
  type AuthorizedKeysParseOptions,
  type ClientContext,
  findAuthorizedKey,
  isExpired,
  lookupAuthorizedKey,
  matchFrom,
  parseAuthorizedKeyOptions,
  parseAuthorizedKeys,
  parseExpiryTime,
  permitsListen,
  permitsOpen,
  permitsStreamlocalOpen,
  type PermittedAddress,
  type TimeZone,
} from "./trust/authorized_keys.ts";
export {
  type AuthorizedPrincipalEntry,
  type AuthorizedPrincipals,
  parseAuthorizedPrincipals,
} from "./trust/authorized_principals.ts";
export { matchHostAndAddress, matchPatternList } from "./trust/host_patterns.ts";
export { isKRL, KeyRevocationList, MAX_KRL_BYTES, parseKRL } from "./trust/krl.ts";
export {
  CERT_FOREVER,
  type CertificateCheckOptions,
  type CertificateCheckResult,
  type CertificateType,
  certKeyType,
  createCertificate,
  type CreateCertificateOptions,
  DEFAULT_USER_EXTENSIONS,
  generateHostCertificate,
  type GenerateHostCertificateOptions,
  generateUserCertificate,
  type GenerateUserCertificateOptions,
  importCertificate,
  plainKeyType,
  SSHCertificate,
} from "./certificates/certificate.ts";
export {
  applyCertificateLimits,
  type AuthorizedKeyCheckOptions,
  type AuthorizedKeyVerdict,
  type CertificateLimitsOptions,
  checkAuthorizedKey,
  checkHostCertificate,
  checkUserCertificate,
  type HostCertificateCheckOptions,
  parseKeyOrCertificate,
  type SecurityKeyRequirements,
  type SessionPermissions,
  type UserCertificateAccepted,
  type UserCertificateCheckOptions,
  type UserCertificateCheckResult,
  type UserCertificateLimits,
  userCertificateLimits,
} from "./trust/certificate_policy.ts";
export { SSHKeyPair } from "./key_pair.ts";
export { isPuttyPrivateKey } from "./formats/putty.ts";
export {
  generateX509CACertificate,
  generateX509HostCertificate,
  generateX509UserCertificate,
  type X509CertificateOptions,
  type X509Validity,
} from "./x509/generate.ts";
export {
  importX509Certificate,
  importX509Certificates,
  X509Certificate,
} from "./x509/certificate.ts";
export { X509_PURPOSES, type X509Extensions, type X509KeyUsage } from "./x509/extensions.ts";
export {
  validateX509Chain,
  type X509ValidateOptions,
  type X509ValidateResult,
} from "./x509/chain.ts";
export {
  checkX509SSHKey,
  decodeX509SSHKey,
  encodeX509SSHKey,
  x509Algorithms,
  X509KeyPair,
  type X509SSHKeyCheckOptions,
} from "./x509/ssh.ts";
