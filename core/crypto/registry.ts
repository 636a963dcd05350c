/**
 * The cipher and MAC registry: static facts per wire name, the preference lists
 * used for negotiation, and the packet-protection providers.
 *
 * Providers: the portable noble provider ("noble") is always registered, at
 * priority 0. `io/` may register faster native ones (see `io/native_crypto.ts`)
 * for the algorithms where they are faster on the running runtime.
 * {@link getPacketProtection} returns a factory that picks, per negotiated
 * cipher+MAC, the highest-priority provider that supports it; the sealer's and
 * opener's `provider` field says which one was used.
 *
 * @module
 */

import { LocalProtocolError, SSHError } from "../errors.ts";
import { noblePacketProtection } from "./noble_provider.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
  PacketSealer,
} from "./types.ts";

/**
 * Cipher wire names as constants.
 *
 * @example
 * ```ts
 * import { CIPHER } from "./registry.ts";
 * console.log(CIPHER.AES128_GCM); // "aes128-gcm@openssh.com"
 * ```
 */
export const CIPHER = {
  CHACHA20_POLY1305: "chacha20-poly1305@openssh.com",
  AES128_GCM: "aes128-gcm@openssh.com",
  AES256_GCM: "aes256-gcm@openssh.com",
  AES128_CTR: "aes128-ctr",
  AES192_CTR: "aes192-ctr",
  AES256_CTR: "aes256-ctr",
  AES128_CBC: "aes128-cbc",
  AES192_CBC: "aes192-cbc",
  AES256_CBC: "aes256-cbc",
  TRIPLE_DES_CBC: "3des-cbc",
  BLOWFISH_CBC: "blowfish-cbc",
  CAST128_CBC: "cast128-cbc",
  SEED_CBC: "seed-cbc@ssh.com",
  ARCFOUR256: "arcfour256",
  ARCFOUR128: "arcfour128",
  ARCFOUR: "arcfour",
} as const;

/** A cipher wire name this library implements. */
export type CipherName = (typeof CIPHER)[keyof typeof CIPHER];

/**
 * MAC wire names as constants.
 *
 * @example
 * ```ts
 * import { MAC } from "./registry.ts";
 * console.log(MAC.HMAC_SHA2_256_ETM); // "hmac-sha2-256-etm@openssh.com"
 * ```
 */
export const MAC = {
  UMAC_64_ETM: "umac-64-etm@openssh.com",
  UMAC_128_ETM: "umac-128-etm@openssh.com",
  HMAC_SHA2_256_ETM: "hmac-sha2-256-etm@openssh.com",
  HMAC_SHA2_512_ETM: "hmac-sha2-512-etm@openssh.com",
  HMAC_SHA1_ETM: "hmac-sha1-etm@openssh.com",
  UMAC_64: "umac-64@openssh.com",
  UMAC_128: "umac-128@openssh.com",
  HMAC_SHA2_256: "hmac-sha2-256",
  HMAC_SHA2_512: "hmac-sha2-512",
  HMAC_SHA1: "hmac-sha1",
  HMAC_SHA224_SSH: "hmac-sha224@ssh.com",
  HMAC_SHA256_SSH: "hmac-sha256@ssh.com",
  HMAC_SHA256_2_SSH: "hmac-sha256-2@ssh.com",
  HMAC_SHA384_SSH: "hmac-sha384@ssh.com",
  HMAC_SHA512_SSH: "hmac-sha512@ssh.com",
  HMAC_MD5_ETM: "hmac-md5-etm@openssh.com",
  HMAC_SHA2_256_96_ETM: "hmac-sha2-256-96-etm@openssh.com",
  HMAC_SHA2_512_96_ETM: "hmac-sha2-512-96-etm@openssh.com",
  HMAC_SHA1_96_ETM: "hmac-sha1-96-etm@openssh.com",
  HMAC_MD5_96_ETM: "hmac-md5-96-etm@openssh.com",
  HMAC_MD5: "hmac-md5",
  HMAC_SHA2_256_96: "hmac-sha2-256-96",
  HMAC_SHA2_512_96: "hmac-sha2-512-96",
  HMAC_SHA1_96: "hmac-sha1-96",
  HMAC_MD5_96: "hmac-md5-96",
} as const;

/** A MAC wire name this library implements. */
export type MacName = (typeof MAC)[keyof typeof MAC];

function cipher(
  name: CipherName,
  keyLength: number,
  ivLength: number,
  blockSize: number,
  tagLength: number,
): CipherInfo {
  return Object.freeze({ name, keyLength, ivLength, blockSize, aead: tagLength > 0, tagLength });
}

function mac(name: MacName, keyLength: number, etm: boolean, macLength = keyLength): MacInfo {
  // HMAC keys are as long as the digest (RFC 4253 §6.4, RFC 6668), except
  // hmac-sha256@ssh.com's 16 bytes; "-96" MACs send the first 12 bytes. UMAC
  // keys are AES-128 keys (RFC 4418), its tags 8 or 16 bytes (OpenSSH mac.c).
  return Object.freeze({ name, keyLength, macLength, etm });
}

const CIPHER_TABLE: ReadonlyMap<string, CipherInfo> = new Map(
  [
    // chacha20-poly1305: two 256-bit keys (K_2 | K_1), no IV, 8-byte "blocks" (PROTOCOL.chacha20poly1305).
    cipher(CIPHER.CHACHA20_POLY1305, 64, 0, 8, 16),
    // AES-GCM: 12-byte IV = 4-byte fixed field + 8-byte invocation counter (RFC 5647 §7.1).
    cipher(CIPHER.AES128_GCM, 16, 12, 16, 16),
    cipher(CIPHER.AES256_GCM, 32, 12, 16, 16),
    cipher(CIPHER.AES128_CTR, 16, 16, 16, 0),
    cipher(CIPHER.AES192_CTR, 24, 16, 16, 0),
    cipher(CIPHER.AES256_CTR, 32, 16, 16, 0),
    cipher(CIPHER.AES128_CBC, 16, 16, 16, 0),
    cipher(CIPHER.AES192_CBC, 24, 16, 16, 0),
    cipher(CIPHER.AES256_CBC, 32, 16, 16, 0),
    // RFC 4253 §6.3: three-key 3DES EDE, Blowfish and CAST-128 with 128-bit keys.
    cipher(CIPHER.TRIPLE_DES_CBC, 24, 8, 8, 0),
    cipher(CIPHER.BLOWFISH_CBC, 16, 8, 8, 0),
    cipher(CIPHER.CAST128_CBC, 16, 8, 8, 0),
    // SEED (RFC 4269): 128-bit key and block, as AsyncSSH and SSH.com derive it.
    cipher(CIPHER.SEED_CBC, 16, 16, 16, 0),
    // RC4 needs no IV; packets still align to 8 (RFC 4253 §6, RFC 4345).
    cipher(CIPHER.ARCFOUR256, 32, 0, 8, 0),
    cipher(CIPHER.ARCFOUR128, 16, 0, 8, 0),
    cipher(CIPHER.ARCFOUR, 16, 0, 8, 0),
  ].map((c) => [c.name, c]),
);

const MAC_TABLE: ReadonlyMap<string, MacInfo> = new Map(
  [
    mac(MAC.UMAC_64_ETM, 16, true, 8),
    mac(MAC.UMAC_128_ETM, 16, true, 16),
    mac(MAC.HMAC_SHA2_256_ETM, 32, true),
    mac(MAC.HMAC_SHA2_512_ETM, 64, true),
    mac(MAC.HMAC_SHA1_ETM, 20, true),
    mac(MAC.UMAC_64, 16, false, 8),
    mac(MAC.UMAC_128, 16, false, 16),
    mac(MAC.HMAC_SHA2_256, 32, false),
    mac(MAC.HMAC_SHA2_512, 64, false),
    mac(MAC.HMAC_SHA1, 20, false),
    mac(MAC.HMAC_SHA224_SSH, 28, false),
    mac(MAC.HMAC_SHA256_SSH, 16, false, 32),
    mac(MAC.HMAC_SHA256_2_SSH, 32, false),
    mac(MAC.HMAC_SHA384_SSH, 48, false),
    mac(MAC.HMAC_SHA512_SSH, 64, false),
    mac(MAC.HMAC_MD5_ETM, 16, true),
    mac(MAC.HMAC_SHA2_256_96_ETM, 32, true, 12),
    mac(MAC.HMAC_SHA2_512_96_ETM, 64, true, 12),
    mac(MAC.HMAC_SHA1_96_ETM, 20, true, 12),
    mac(MAC.HMAC_MD5_96_ETM, 16, true, 12),
    mac(MAC.HMAC_MD5, 16, false),
    mac(MAC.HMAC_SHA2_256_96, 32, false, 12),
    mac(MAC.HMAC_SHA2_512_96, 64, false, 12),
    mac(MAC.HMAC_SHA1_96, 20, false, 12),
    mac(MAC.HMAC_MD5_96, 16, false, 12),
  ].map((m) => [m.name, m]),
);

/**
 * Ciphers offered by default, in OpenSSH 9.x's preference order.
 *
 * @example
 * ```ts
 * import { DEFAULT_CIPHERS } from "./registry.ts";
 * console.log(DEFAULT_CIPHERS[0]); // "chacha20-poly1305@openssh.com"
 * ```
 */
export const DEFAULT_CIPHERS: readonly string[] = Object.freeze([
  CIPHER.CHACHA20_POLY1305,
  CIPHER.AES128_CTR,
  CIPHER.AES192_CTR,
  CIPHER.AES256_CTR,
  CIPHER.AES128_GCM,
  CIPHER.AES256_GCM,
]);

/**
 * Ciphers that are sound but off by default because OpenSSH does not offer
 * them. Empty: every cipher beyond the defaults is weak (see {@link INSECURE_CIPHERS}).
 *
 * @example
 * ```ts
 * import { OPTIONAL_CIPHERS } from "./registry.ts";
 * console.log(OPTIONAL_CIPHERS.length); // 0
 * ```
 */
export const OPTIONAL_CIPHERS: readonly string[] = Object.freeze([]);

/**
 * Ciphers that work but are off by default: CBC (padding-oracle and plaintext
 * recovery attacks on the SSH binary packet protocol), 64-bit blocks (3DES,
 * Blowfish, CAST-128: Sweet32) and RC4 (biased keystream). Enable them by name
 * only to reach old peers.
 *
 * @example
 * ```ts
 * import { INSECURE_CIPHERS } from "./registry.ts";
 * console.log(INSECURE_CIPHERS.includes("3des-cbc")); // true
 * ```
 */
export const INSECURE_CIPHERS: readonly string[] = Object.freeze([
  CIPHER.AES128_CBC,
  CIPHER.AES192_CBC,
  CIPHER.AES256_CBC,
  CIPHER.TRIPLE_DES_CBC,
  CIPHER.BLOWFISH_CBC,
  CIPHER.CAST128_CBC,
  CIPHER.SEED_CBC,
  CIPHER.ARCFOUR256,
  CIPHER.ARCFOUR128,
  CIPHER.ARCFOUR,
]);

/**
 * Every cipher this library implements: the defaults, the optional ones, then
 * the insecure ones.
 *
 * @example
 * ```ts
 * import { SUPPORTED_CIPHERS } from "./registry.ts";
 * console.log(SUPPORTED_CIPHERS.length); // 16
 * ```
 */
export const SUPPORTED_CIPHERS: readonly string[] = Object.freeze([
  ...DEFAULT_CIPHERS,
  ...OPTIONAL_CIPHERS,
  ...INSECURE_CIPHERS,
]);

/**
 * MACs offered by default, in OpenSSH 9.x/10.x's preference order, UMAC first
 * (our UMAC in JavaScript is 5× our JavaScript HMAC-SHA-256 on bulk packets and
 * about level with node:crypto's; see bench/cipher_bench.ts).
 *
 * @example
 * ```ts
 * import { DEFAULT_MACS } from "./registry.ts";
 * console.log(DEFAULT_MACS[0]); // "umac-64-etm@openssh.com"
 * ```
 */
export const DEFAULT_MACS: readonly string[] = Object.freeze([
  MAC.UMAC_64_ETM,
  MAC.UMAC_128_ETM,
  MAC.HMAC_SHA2_256_ETM,
  MAC.HMAC_SHA2_512_ETM,
  MAC.HMAC_SHA1_ETM,
  MAC.UMAC_64,
  MAC.UMAC_128,
  MAC.HMAC_SHA2_256,
  MAC.HMAC_SHA2_512,
  MAC.HMAC_SHA1,
]);

/**
 * MACs that are sound but off by default because OpenSSH does not offer them:
 * SSH.com's SHA-2 HMAC names (AsyncSSH offers them). Enable them by name.
 *
 * @example
 * ```ts
 * import { OPTIONAL_MACS } from "./registry.ts";
 * console.log(OPTIONAL_MACS.includes("hmac-sha512@ssh.com")); // true
 * ```
 */
export const OPTIONAL_MACS: readonly string[] = Object.freeze([
  MAC.HMAC_SHA256_2_SSH,
  MAC.HMAC_SHA224_SSH,
  MAC.HMAC_SHA256_SSH,
  MAC.HMAC_SHA384_SSH,
  MAC.HMAC_SHA512_SSH,
]);

/**
 * MACs that work but are off by default: HMAC-MD5 and the 96-bit truncations
 * (OpenSSH dropped them from its defaults long ago). HMAC-SHA1 stays a default,
 * as in OpenSSH (HMAC is not broken by SHA-1 collisions).
 *
 * @example
 * ```ts
 * import { INSECURE_MACS } from "./registry.ts";
 * console.log(INSECURE_MACS.includes("hmac-md5")); // true
 * ```
 */
export const INSECURE_MACS: readonly string[] = Object.freeze([
  MAC.HMAC_MD5_ETM,
  MAC.HMAC_SHA2_256_96_ETM,
  MAC.HMAC_SHA2_512_96_ETM,
  MAC.HMAC_SHA1_96_ETM,
  MAC.HMAC_MD5_96_ETM,
  MAC.HMAC_MD5,
  MAC.HMAC_SHA2_256_96,
  MAC.HMAC_SHA2_512_96,
  MAC.HMAC_SHA1_96,
  MAC.HMAC_MD5_96,
]);

/**
 * Every MAC this library implements: the defaults, the optional ones, then the
 * insecure ones.
 *
 * @example
 * ```ts
 * import { SUPPORTED_MACS } from "./registry.ts";
 * console.log(SUPPORTED_MACS.includes("hmac-sha1")); // true
 * ```
 */
export const SUPPORTED_MACS: readonly string[] = Object.freeze([
  ...DEFAULT_MACS,
  ...OPTIONAL_MACS,
  ...INSECURE_MACS,
]);

/**
 * Static facts about a cipher, or undefined when the name is not implemented.
 *
 * @example
 * ```ts
 * import { getCipherInfo } from "./registry.ts";
 * console.log(getCipherInfo("aes256-ctr")?.keyLength); // 32
 * ```
 */
export function getCipherInfo(name: string): CipherInfo | undefined {
  return CIPHER_TABLE.get(name);
}

/**
 * Static facts about a MAC, or undefined when the name is not implemented.
 *
 * @example
 * ```ts
 * import { getMacInfo } from "./registry.ts";
 * console.log(getMacInfo("hmac-sha2-512")?.macLength); // 64
 * ```
 */
export function getMacInfo(name: string): MacInfo | undefined {
  return MAC_TABLE.get(name);
}

/**
 * A cipher or MAC is not implemented, or not by the provider asked for.
 *
 * @example
 * ```ts
 * import { UnsupportedAlgorithmError } from "@sshts/ssh";
 * const e = new UnsupportedAlgorithmError("Cannot seal with 3des-cbc: not implemented");
 * console.log(e.code); // "ERR_UNSUPPORTED_ALGORITHM"
 * ```
 */
export class UnsupportedAlgorithmError extends SSHError {
  /** Creates the error. */
  constructor(message: string) {
    super("ERR_UNSUPPORTED_ALGORITHM", message);
    this.name = "UnsupportedAlgorithmError";
  }
}

/** Says whether a provider implements a cipher (+ MAC, null for AEAD ciphers). */
export type SupportsFn = (cipher: string, mac: string | null) => boolean;

/** A registered provider, as the registry keeps it. */
export interface ProviderEntry {
  /** The factory's provider name ("noble", "node:crypto", ...). */
  readonly name: string;
  /** The factory itself. */
  readonly factory: PacketProtectionFactory;
  /** Higher wins when several providers support an algorithm. */
  readonly priority: number;
  /** Which algorithms it implements. */
  supports(cipher: string, mac: string | null): boolean;
}

/** Options of {@link registerPacketProtection}. */
export interface RegisterPacketProtectionOptions {
  /** Higher wins; the noble fallback has priority 0. */
  readonly priority: number;
  /**
   * Which algorithms the factory implements; when absent, the factory's own
   * `supports` method if it has one, else every supported cipher and MAC.
   */
  readonly supports?: SupportsFn;
}

/** Options of {@link getPacketProtection}. */
export interface GetPacketProtectionOptions {
  /** Use only this provider (for tests and benches); unsupported algorithms then throw. */
  readonly provider?: string;
}

/** The name of the portable provider that is always registered. */
export const NOBLE_PROVIDER = "noble";

function supportsEverything(cipherName: string, macName: string | null): boolean {
  const c = CIPHER_TABLE.get(cipherName);
  if (c === undefined) return false;
  return c.aead || (macName !== null && MAC_TABLE.has(macName));
}

function makeEntry(
  factory: PacketProtectionFactory,
  priority: number,
  supports: SupportsFn,
): ProviderEntry {
  return Object.freeze({
    name: factory.provider,
    factory,
    priority,
    supports(cipherName: string, macName: string | null): boolean {
      const c = CIPHER_TABLE.get(cipherName);
      if (c === undefined) return false;
      // The MAC of an AEAD cipher is ignored, so it never narrows the choice.
      return supports(cipherName, c.aead ? null : macName);
    },
  });
}

const entries: ProviderEntry[] = [
  makeEntry(noblePacketProtection, 0, supportsEverything),
];

/**
 * Registers (or replaces, by provider name) a packet-protection provider.
 * The noble provider cannot be replaced.
 *
 * @example Register a provider for AES-GCM only
 * ```ts
 * import { getPacketProtection, registerPacketProtection } from "./registry.ts";
 * const noble = getPacketProtection({ provider: "noble" });
 * registerPacketProtection({ ...noble, provider: "example" }, {
 *   priority: 10,
 *   supports: (cipher) => cipher === "aes128-gcm@openssh.com",
 * });
 * ```
 */
export function registerPacketProtection(
  factory: PacketProtectionFactory & { supports?: SupportsFn },
  options: RegisterPacketProtectionOptions,
): void {
  if (factory.provider === NOBLE_PROVIDER) {
    throw new LocalProtocolError(`Cannot register provider "noble": the name is reserved`);
  }
  if (!Number.isFinite(options.priority)) {
    throw new LocalProtocolError(`Cannot register provider "${factory.provider}": bad priority`);
  }
  const own = factory.supports;
  const supports: SupportsFn = options.supports ??
    (own ? (c, m) => own.call(factory, c, m) : supportsEverything);
  unregisterPacketProtection(factory.provider);
  entries.push(makeEntry(factory, options.priority, supports));
  // Highest priority first; equal priorities keep registration order.
  entries.sort((a, b) => b.priority - a.priority);
}

/**
 * Removes a provider by name; returns whether it was registered. The noble
 * provider stays.
 *
 * @example
 * ```ts
 * import { unregisterPacketProtection } from "./registry.ts";
 * console.log(unregisterPacketProtection("not-there")); // false
 * ```
 */
export function unregisterPacketProtection(name: string): boolean {
  if (name === NOBLE_PROVIDER) return false;
  const i = entries.findIndex((e) => e.name === name);
  if (i < 0) return false;
  entries.splice(i, 1);
  return true;
}

/**
 * The registered providers, highest priority first.
 *
 * @example
 * ```ts
 * import { listPacketProtectionProviders } from "./registry.ts";
 * console.log(listPacketProtectionProviders().map((e) => e.name)); // [..., "noble"]
 * ```
 */
export function listPacketProtectionProviders(): readonly ProviderEntry[] {
  return entries.slice();
}

/**
 * The provider {@link getPacketProtection} would use for a cipher (+ MAC), or
 * undefined when none implements it.
 *
 * @example
 * ```ts
 * import { selectPacketProtectionProvider } from "./registry.ts";
 * console.log(selectPacketProtectionProvider("aes128-ctr", "hmac-sha2-256")?.name);
 * ```
 */
export function selectPacketProtectionProvider(
  cipherName: string,
  macName: string | null,
): ProviderEntry | undefined {
  return entries.find((e) => e.supports(cipherName, macName));
}

function checkPair(
  what: string,
  provider: string,
  cipherInfo: CipherInfo,
  macInfo: MacInfo | null,
): void {
  if (!CIPHER_TABLE.has(cipherInfo.name)) {
    throw new UnsupportedAlgorithmError(
      `Cannot create ${what}: cipher "${cipherInfo.name}" is not implemented`,
    );
  }
  if (!cipherInfo.aead && macInfo === null) {
    throw new LocalProtocolError(
      `Cannot create ${what} for ${cipherInfo.name}: a MAC is required for a non-AEAD cipher`,
    );
  }
  if (!cipherInfo.aead && macInfo !== null && !MAC_TABLE.has(macInfo.name)) {
    throw new UnsupportedAlgorithmError(
      `Cannot create ${what} (${provider}): MAC "${macInfo.name}" is not implemented`,
    );
  }
}

function pick(
  what: string,
  only: ProviderEntry | null,
  cipherInfo: CipherInfo,
  macInfo: MacInfo | null,
): PacketProtectionFactory {
  const provider = only?.name ?? "auto";
  checkPair(what, provider, cipherInfo, macInfo);
  const macName = cipherInfo.aead ? null : macInfo?.name ?? null;
  if (only !== null) {
    if (!only.supports(cipherInfo.name, macName)) {
      throw new UnsupportedAlgorithmError(
        `Cannot create ${what}: provider "${only.name}" does not implement ` +
          `${cipherInfo.name}${macName ? ` with ${macName}` : ""}`,
      );
    }
    return only.factory;
  }
  const e = selectPacketProtectionProvider(cipherInfo.name, macName);
  if (e === undefined) {
    throw new UnsupportedAlgorithmError(
      `Cannot create ${what}: no provider implements ${cipherInfo.name}` +
        (macName ? ` with ${macName}` : ""),
    );
  }
  return e.factory;
}

function dispatcher(only: ProviderEntry | null): PacketProtectionFactory {
  return Object.freeze({
    provider: only?.name ?? "auto",
    createSealer(c: CipherInfo, m: MacInfo | null, keys: DirectionKeys): PacketSealer {
      return pick("sealer", only, c, m).createSealer(c, c.aead ? null : m, keys);
    },
    createOpener(c: CipherInfo, m: MacInfo | null, keys: DirectionKeys): PacketOpener {
      return pick("opener", only, c, m).createOpener(c, c.aead ? null : m, keys);
    },
  });
}

/**
 * The packet-protection factory the transport uses. Without options it picks,
 * per cipher+MAC, the highest-priority registered provider that implements it;
 * `{ provider }` forces one provider (tests, benchmarks).
 *
 * @example Seal with whichever provider is best here
 * ```ts
 * import { getCipherInfo, getMacInfo, getPacketProtection } from "./registry.ts";
 * const cipher = getCipherInfo("aes128-ctr")!;
 * const mac = getMacInfo("hmac-sha2-256-etm@openssh.com")!;
 * const sealer = getPacketProtection().createSealer(cipher, mac, {
 *   encKey: new Uint8Array(16), iv: new Uint8Array(16), macKey: new Uint8Array(32),
 * });
 * console.log(sealer.provider);
 * ```
 */
export function getPacketProtection(
  options: GetPacketProtectionOptions = {},
): PacketProtectionFactory {
  if (options.provider === undefined) return dispatcher(null);
  const e = entries.find((x) => x.name === options.provider);
  if (e === undefined) {
    throw new LocalProtocolError(
      `Cannot use packet-protection provider "${options.provider}": it is not registered ` +
        `(registered: ${entries.map((x) => x.name).join(", ")})`,
    );
  }
  return dispatcher(e);
}
