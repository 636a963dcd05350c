/**
 * OpenSSH key revocation lists (KRL): the binary format `ssh-keygen -k` writes
 * and sshd's RevokedKeys and ssh's RevokedHostKeys read (PROTOCOL.krl). A KRL
 * revokes certificates of a CA (or of any CA) by serial number, serial range,
 * serial bitmap or key ID, and plain keys by their blob or their SHA-1 or
 * SHA-256 hash. Signature sections are skipped unverified, as OpenSSH does.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { SSHError } from "../../core/errors.ts";
import { encodePublicKeyBlob } from "../../core/publickey/blob.ts";
import { latin1String, SSHReader } from "../../core/wire.ts";
import { SSHCertificate } from "../certificates/certificate.ts";
import { KeyImportError } from "../errors.ts";
import { SSHKey } from "../ssh_key.ts";

/** The first bytes of every KRL: "SSHKRL\n\0". */
const KRL_MAGIC = [0x53, 0x53, 0x48, 0x4b, 0x52, 0x4c, 0x0a, 0x00] as const;

/** The only KRL format version there is. */
const KRL_FORMAT_VERSION = 1;

/**
 * The largest KRL {@link parseKRL} reads, in bytes: room for about 450,000
 * SHA-256 fingerprints, while the parsed list stays within a few hundred MB
 * whatever the contents (OpenSSH's own buffer limit is 128 MiB).
 */
export const MAX_KRL_BYTES: number = 16 * 1024 * 1024;

/** Largest serial bitmap, in bytes (16384 serials): OpenSSH's mpint limit (SSHBUF_MAX_BIGNUM). */
const MAX_BITMAP_BYTES = 2048;

/** Section types (PROTOCOL.krl §1). */
const SECTION_CERTIFICATES = 1;
const SECTION_EXPLICIT_KEY = 2;
const SECTION_FINGERPRINT_SHA1 = 3;
const SECTION_SIGNATURE = 4;
const SECTION_FINGERPRINT_SHA256 = 5;
const SECTION_EXTENSION = 255;

/** Certificate subsection types (PROTOCOL.krl §2). */
const CERT_SERIAL_LIST = 0x20;
const CERT_SERIAL_RANGE = 0x21;
const CERT_SERIAL_BITMAP = 0x22;
const CERT_KEY_ID = 0x23;
const CERT_EXTENSION = 0x39;

const MAX_SERIAL = 0xffffffffffffffffn;

/** The map key of the certificate section that applies to every CA (an empty CA key). */
const ANY_CA = "";

/** A key's blob as OpenSSH serialises it (re-encoded, whatever bytes it was read from). */
function plainBlob(key: SSHKey): Uint8Array {
  return encodePublicKeyBlob(key.material);
}

function fail(reason: string, cause?: unknown): never {
  throw new KeyImportError(
    `Cannot parse key revocation list: ${reason}`,
    cause !== undefined ? { cause } : undefined,
  );
}

/** A C string as OpenSSH reads one (sshbuf_get_cstring): a NUL is allowed only as the last byte. */
function cstring(r: SSHReader, what: string): Uint8Array {
  const b = r.readString(what);
  const nul = b.indexOf(0);
  if (nul !== -1 && nul !== b.length - 1) fail(`${what} holds a NUL byte`);
  return nul === -1 ? b : b.subarray(0, nul);
}

/** Serial ranges, stored flat (two uint64 per range), then sorted and merged for lookup. */
class SerialRanges {
  #lo = new BigUint64Array(16);
  #hi = new BigUint64Array(16);
  #n = 0;

  add(lo: bigint, hi: bigint): void {
    if (this.#n === this.#lo.length) {
      const lo2 = new BigUint64Array(this.#n * 2);
      const hi2 = new BigUint64Array(this.#n * 2);
      lo2.set(this.#lo);
      hi2.set(this.#hi);
      this.#lo = lo2;
      this.#hi = hi2;
    }
    this.#lo[this.#n] = lo;
    this.#hi[this.#n] = hi;
    this.#n++;
  }

  /** Sorts by start and merges overlapping or adjacent ranges (once, after parsing). */
  seal(): void {
    const n = this.#n;
    const lo = this.#lo;
    const hi = this.#hi;
    const order = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => (lo[a]! < lo[b]! ? -1 : lo[a]! > lo[b]! ? 1 : 0));
    const outLo = new BigUint64Array(n);
    const outHi = new BigUint64Array(n);
    let m = 0;
    for (const i of order) {
      if (m > 0 && (outHi[m - 1] === MAX_SERIAL || lo[i]! <= outHi[m - 1]! + 1n)) {
        if (hi[i]! > outHi[m - 1]!) outHi[m - 1] = hi[i]!;
      } else {
        outLo[m] = lo[i]!;
        outHi[m] = hi[i]!;
        m++;
      }
    }
    this.#lo = outLo.slice(0, m);
    this.#hi = outHi.slice(0, m);
    this.#n = m;
  }

  has(serial: bigint): boolean {
    // The last range starting at or before `serial`.
    let a = 0;
    let b = this.#n;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.#lo[mid]! <= serial) a = mid + 1;
      else b = mid;
    }
    return a > 0 && this.#hi[a - 1]! >= serial;
  }
}

/** What one CA's (or every CA's) certificate section revokes. */
class CertificateRevocations {
  readonly ranges: SerialRanges = new SerialRanges();
  /** Bitmaps as read: bit N of the big-endian integer `bits` revokes serial `offset + N`. */
  readonly bitmaps: { offset: bigint; bits: Uint8Array }[] = [];
  /** Key IDs as their bytes (see latin1String in core/wire.ts). */
  readonly keyIds: Set<string> = new Set();

  revokes(cert: SSHCertificate): boolean {
    if (this.keyIds.has(latin1String(new TextEncoder().encode(cert.keyId)))) return true;
    // Serial 0 is what a CA sets when it sets none: never revoked by serial.
    const serial = cert.serial;
    if (serial === 0n) return false;
    if (this.ranges.has(serial)) return true;
    for (const { offset, bits } of this.bitmaps) {
      if (serial < offset) continue;
      const n = serial - offset;
      if (n >= BigInt(bits.length * 8)) continue;
      const bit = Number(n);
      if ((bits[bits.length - 1 - (bit >>> 3)]! >> (bit & 7)) & 1) return true;
    }
    return false;
  }
}

/** The parts {@link parseKRL} fills in. */
interface KRLParts {
  version: bigint;
  generatedDate: bigint;
  comment: string;
  certificates: Map<string, CertificateRevocations>;
  keys: Set<string>;
  sha1: Set<string>;
  sha256: Set<string>;
}

/**
 * A parsed OpenSSH key revocation list (see {@link parseKRL}).
 *
 * @example Check a user's certificate against a KRL file
 * ```ts ignore
 * import { readFile } from "node:fs/promises";
 * import { importCertificate, parseKRL } from "@sshts/ssh/keys";
 * const krl = parseKRL(await readFile("/etc/ssh/revoked_keys.krl"));
 * const cert = importCertificate(await readFile("id_ed25519-cert.pub", "utf8"));
 * console.log(krl.isRevoked(cert)); // true when its key, serial, key ID or CA is revoked
 * ```
 */
export class KeyRevocationList {
  /** The KRL's own version number (`ssh-keygen -k` sets it; it grows with each update). */
  readonly version: bigint;
  /** When the KRL was generated, in seconds since the epoch. */
  readonly generatedDate: bigint;
  /** The KRL's comment (often empty). */
  readonly comment: string;
  readonly #p: KRLParts;

  private constructor(bytes: Uint8Array) {
    if (!isKRL(bytes)) fail('it does not start with the KRL magic "SSHKRL\\n\\0"');
    if (bytes.length > MAX_KRL_BYTES) {
      fail(`it is ${bytes.length} bytes, over the limit of ${MAX_KRL_BYTES}`);
    }
    try {
      this.#p = readKRL(new SSHReader(bytes, KRL_MAGIC.length));
    } catch (e) {
      if (e instanceof KeyImportError) throw e;
      if (e instanceof SSHError) fail(e.message, e);
      throw e;
    }
    this.version = this.#p.version;
    this.generatedDate = this.#p.generatedDate;
    this.comment = this.#p.comment;
  }

  /**
   * Parses a binary KRL; the same as {@link parseKRL}.
   *
   * @example
   * ```ts
   * import { KeyRevocationList } from "@sshts/ssh";
   * const u32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
   * const krl = KeyRevocationList.fromBytes(new Uint8Array([
   *   ...new TextEncoder().encode("SSHKRL\n\0"), ...u32(1), ...new Uint8Array(24), ...u32(0), ...u32(2), 104, 105,
   * ]));
   * console.log(krl.comment); // "hi"
   * ```
   */
  static fromBytes(bytes: Uint8Array): KeyRevocationList {
    return new KeyRevocationList(bytes);
  }

  /**
   * True when the list revokes `subject`, as sshd's check does: a plain key
   * listed as a key or by its SHA-1 or SHA-256 hash; a certificate whose key is
   * listed so, whose serial or key ID is revoked for the CA that signed it or
   * for any CA, or whose CA key is itself listed as a key or hash. A
   * certificate with serial 0 (none set) is never revoked by serial.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, parseKRL } from "@sshts/ssh";
   * // An empty KRL, as `ssh-keygen -k -f empty.krl` writes it.
   * const empty = new Uint8Array([
   *   ...new TextEncoder().encode("SSHKRL\n\0"), 0, 0, 0, 1,
   *   ...new Uint8Array(24), 0, 0, 0, 0, 0, 0, 0, 0,
   * ]);
   * console.log(parseKRL(empty).isRevoked(generatePrivateKey("ed25519"))); // false
   * ```
   */
  isRevoked(subject: SSHKey | SSHCertificate): boolean {
    if (subject instanceof SSHCertificate) {
      return this.#keyRevoked(subject.key, subject) || this.#keyRevoked(subject.signatureKey);
    }
    return this.#keyRevoked(subject);
  }

  #keyRevoked(key: SSHKey, cert?: SSHCertificate): boolean {
    const p = this.#p;
    const blob = plainBlob(key);
    if (p.sha1.size > 0 && p.sha1.has(latin1String(sha1(blob)))) return true;
    if (p.sha256.size > 0 && p.sha256.has(latin1String(sha256(blob)))) return true;
    if (p.keys.has(latin1String(blob))) return true;
    if (!cert) return false;
    const byCA = p.certificates.get(latin1String(plainBlob(cert.signatureKey)));
    if (byCA?.revokes(cert)) return true;
    return p.certificates.get(ANY_CA)?.revokes(cert) ?? false;
  }
}

/**
 * True when `bytes` starts as a binary KRL does ("SSHKRL\n\0"), as sshd tells a
 * KRL from a list of public keys.
 *
 * @example
 * ```ts
 * import { isKRL } from "@sshts/ssh";
 * console.log(isKRL(new TextEncoder().encode("SSHKRL\n\0..."))); // true
 * console.log(isKRL(new TextEncoder().encode("ssh-ed25519 AAAA..."))); // false
 * ```
 */
export function isKRL(bytes: Uint8Array): boolean {
  return bytes.length >= KRL_MAGIC.length && KRL_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Parses an OpenSSH binary key revocation list (PROTOCOL.krl), as
 * `ssh-keygen -k` writes it. Every section type is read: certificates (by
 * serial list, range, bitmap or key ID, for one CA or any), explicit keys,
 * SHA-1 and SHA-256 fingerprints, non-critical extensions (ignored) and
 * signatures (skipped, not verified, as OpenSSH does). Whatever OpenSSH
 * rejects — a bad magic or version, truncation, an unknown section or
 * critical extension, serial 0, a backwards serial range, a bitmap that is
 * negative, over 2048 bytes or past serial 2^64−1, a fingerprint of the wrong
 * length, leftover bytes — and a KRL over {@link MAX_KRL_BYTES} throw a
 * {@link KeyImportError} (ERR_KEY_IMPORT) saying what is wrong.
 *
 * @example Parse a KRL and check a key
 * ```ts
 * import { generatePrivateKey, parseKRL } from "@sshts/ssh";
 * const lost = generatePrivateKey("ed25519").publicKey();
 * const u32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
 * const blob = [...lost.publicBlob];
 * // Header (magic, format 1, version, date, flags, reserved, comment), then one
 * // explicit-key section (type 2) holding the key's blob: `ssh-keygen -k` writes the same.
 * const krl = parseKRL(new Uint8Array([
 *   ...new TextEncoder().encode("SSHKRL\n\0"), ...u32(1),
 *   ...new Uint8Array(24), ...u32(0), ...u32(0),
 *   2, ...u32(blob.length + 4), ...u32(blob.length), ...blob,
 * ]));
 * console.log(krl.isRevoked(lost)); // true
 * console.log(krl.isRevoked(generatePrivateKey("ed25519"))); // false
 * ```
 */
export function parseKRL(bytes: Uint8Array): KeyRevocationList {
  return KeyRevocationList.fromBytes(bytes);
}

function readKRL(r: SSHReader): KRLParts {
  const format = r.readUint32("format version");
  if (format !== KRL_FORMAT_VERSION) fail(`unsupported format version ${format}`);
  const p: KRLParts = {
    version: r.readUint64("KRL version"),
    generatedDate: r.readUint64("generated date"),
    comment: "",
    certificates: new Map(),
    keys: new Set(),
    sha1: new Set(),
    sha256: new Set(),
  };
  r.readUint64("flags");
  r.readString("reserved");
  p.comment = new TextDecoder().decode(cstring(r, "comment"));
  while (r.remaining > 0) {
    const type = r.readByte("section type");
    const body = r.readString(`section ${type}`);
    const s = new SSHReader(body);
    switch (type) {
      case SECTION_CERTIFICATES:
        readCertificates(s, p);
        break;
      case SECTION_EXPLICIT_KEY:
        while (s.remaining > 0) p.keys.add(latin1String(s.readString("revoked key")));
        break;
      case SECTION_FINGERPRINT_SHA1:
        readHashes(s, p.sha1, 20, "SHA-1");
        break;
      case SECTION_FINGERPRINT_SHA256:
        readHashes(s, p.sha256, 32, "SHA-256");
        break;
      case SECTION_EXTENSION:
        readExtension(s, "section");
        break;
      case SECTION_SIGNATURE:
        // The section holds the signing key; the signature follows as one more string.
        // OpenSSH verifies neither (it trusts the file as it trusts its other files).
        r.readString("signature");
        continue;
      default:
        fail(`unsupported section type ${type}`);
    }
    if (s.remaining > 0) fail(`section ${type} has ${s.remaining} bytes left over`);
  }
  for (const c of p.certificates.values()) c.ranges.seal();
  return p;
}

function readHashes(s: SSHReader, into: Set<string>, size: number, what: string): void {
  while (s.remaining > 0) {
    const h = s.readString(`${what} fingerprint`);
    if (h.length !== size) fail(`a ${what} fingerprint is ${h.length} bytes, not ${size}`);
    into.add(latin1String(h));
  }
}

/** An extension (section or certificate subsection): ignored unless critical, then unsupported. */
function readExtension(s: SSHReader, where: string): void {
  const name = new TextDecoder().decode(cstring(s, "extension name"));
  const critical = s.readByte("extension criticality") !== 0;
  s.readString("extension contents");
  if (s.remaining > 0) fail(`extension ${where} "${name}" has trailing data`);
  if (critical) fail(`unsupported critical extension ${where} "${name}"`);
}

function readCertificates(s: SSHReader, p: KRLParts): void {
  const caBlob = s.readString("CA key");
  s.readString("reserved");
  let ca = ANY_CA;
  if (caBlob.length > 0) {
    try {
      ca = latin1String(plainBlob(SSHKey.fromPublicBlob(caBlob)));
    } catch (e) {
      // OpenSSH takes a certificate as the "CA key" too; no certificate's CA can match it.
      try {
        SSHCertificate.fromBlob(caBlob);
      } catch {
        fail(`bad CA key: ${(e as Error).message}`, e);
      }
      ca = "certificate:" + latin1String(caBlob);
    }
  }
  let rc = p.certificates.get(ca);
  if (!rc) p.certificates.set(ca, rc = new CertificateRevocations());
  while (s.remaining > 0) {
    const type = s.readByte("certificate subsection type");
    const sub = new SSHReader(s.readString(`certificate subsection ${type}`));
    switch (type) {
      case CERT_SERIAL_LIST:
        while (sub.remaining > 0) {
          const serial = sub.readUint64("serial");
          if (serial === 0n) fail("serial 0 is revoked (0 means no serial)");
          rc.ranges.add(serial, serial);
        }
        break;
      case CERT_SERIAL_RANGE: {
        const lo = sub.readUint64("first serial");
        const hi = sub.readUint64("last serial");
        if (lo === 0n) fail("a serial range starts at 0 (0 means no serial)");
        if (lo > hi) fail(`serial range ${lo}-${hi} runs backwards`);
        rc.ranges.add(lo, hi);
        break;
      }
      case CERT_SERIAL_BITMAP: {
        const offset = sub.readUint64("bitmap offset");
        const raw = sub.readString("serial bitmap");
        if (raw.length > 0 && raw[0]! & 0x80) fail("a serial bitmap is negative");
        if (raw.length > MAX_BITMAP_BYTES + 1 || (raw.length === MAX_BITMAP_BYTES + 1 && raw[0])) {
          fail(`a serial bitmap is over ${MAX_BITMAP_BYTES} bytes`);
        }
        let i = 0;
        while (i < raw.length && raw[i] === 0) i++;
        const bits = raw.slice(i);
        if (bits.length === 0) break;
        const top = bits.length * 8 - 1 - Math.clz32(bits[0]!) + 24; // highest set bit
        if (offset + BigInt(top) > MAX_SERIAL) fail("a serial bitmap runs past serial 2^64-1");
        if (offset === 0n && bits[bits.length - 1]! & 1) {
          fail("a serial bitmap revokes serial 0 (0 means no serial)");
        }
        rc.bitmaps.push({ offset, bits });
        break;
      }
      case CERT_KEY_ID:
        while (sub.remaining > 0) rc.keyIds.add(latin1String(cstring(sub, "key ID")));
        break;
      case CERT_EXTENSION:
        readExtension(sub, "subsection");
        break;
      default:
        fail(`unsupported certificate subsection type ${type}`);
    }
    if (sub.remaining > 0) {
      fail(`certificate subsection ${type} has ${sub.remaining} bytes left over`);
    }
  }
}
