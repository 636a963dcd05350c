/**
 * X.509 signatures: the signature algorithms this library reads and writes
 * (RSA PKCS#1 v1.5 with SHA-1/256/512, ECDSA with SHA-256/384/512, Ed25519),
 * verifying a certificate's signature and signing a new one.
 *
 * @module
 */

import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ECDSA_CURVES } from "../../core/publickey/ecdsa.ts";
import { rsaVerifyPkcs1v15 } from "../../core/publickey/rsa.ts";
import type { KeyMaterial } from "../../core/publickey/types.ts";
import { type RandomSource } from "../../core/random.ts";
import { bigIntToBytes, equalBytes, SSHReader } from "../../core/wire.ts";
import { derInteger, derNull, derOid, DerReader, derSequence } from "../formats/asn1.ts";
import { SSHKey } from "../ssh_key.ts";
import { KeyImportError } from "../errors.ts";

/** Signature algorithms by OID: key type and hash. */
export const SIG_ALGS: Readonly<Record<string, { key: string; hash: string; name: string }>> = {
  "1.2.840.113549.1.1.5": { key: "rsa", hash: "sha1", name: "sha1WithRSAEncryption" },
  "1.2.840.113549.1.1.11": { key: "rsa", hash: "sha256", name: "sha256WithRSAEncryption" },
  "1.2.840.113549.1.1.13": { key: "rsa", hash: "sha512", name: "sha512WithRSAEncryption" },
  "1.2.840.10045.4.3.2": { key: "ecdsa", hash: "sha256", name: "ecdsa-with-SHA256" },
  "1.2.840.10045.4.3.3": { key: "ecdsa", hash: "sha384", name: "ecdsa-with-SHA384" },
  "1.2.840.10045.4.3.4": { key: "ecdsa", hash: "sha512", name: "ecdsa-with-SHA512" },
  "1.3.101.112": { key: "ed25519", hash: "", name: "Ed25519" },
};

export const HASHES: Readonly<Record<string, (b: Uint8Array) => Uint8Array>> = {
  sha256,
  sha384,
  sha512,
};

export function verifyX509Signature(
  key: KeyMaterial,
  algOid: string,
  signature: Uint8Array,
  data: Uint8Array,
): boolean {
  const alg = SIG_ALGS[algOid];
  if (!alg || alg.key !== key.type) return false;
  try {
    switch (key.type) {
      case "rsa":
        // Exactly the modulus' length, as OpenSSL wants it: SSH's tolerance of dropped
        // leading zeros would let anyone re-encode a certificate that still verifies.
        return (alg.hash === "sha1" || alg.hash === "sha256" || alg.hash === "sha512") &&
          signature.length === Math.ceil(key.n.toString(16).length / 2) &&
          rsaVerifyPkcs1v15(key.n, key.e, alg.hash, data, signature);
      case "ed25519":
        // RFC 8032 strictly (as OpenSSL): no ZIP-215 non-canonical point encodings.
        return signature.length === 64 &&
          ed25519.verify(signature, data, key.publicKey, { zip215: false });
      case "ecdsa": {
        const info = ECDSA_CURVES[key.curve];
        const r = new DerReader(signature, "ECDSA signature");
        const seq = r.readSequence("ECDSA-Sig-Value");
        const rv = seq.readInteger("r");
        const sv = seq.readInteger("s");
        seq.assertEnd();
        r.assertEnd();
        // DER only (minimal INTEGERs, as OpenSSL re-encodes and compares): otherwise a
        // zero byte slipped in front of r or s makes another certificate that verifies.
        if (!equalBytes(derSequence(derInteger(rv), derInteger(sv)), signature)) return false;
        if (rv <= 0n || rv >= info.order || sv <= 0n || sv >= info.order) return false;
        const compact = new Uint8Array(2 * info.size);
        compact.set(bigIntToBytes(rv, info.size), 0);
        compact.set(bigIntToBytes(sv, info.size), info.size);
        return info.curve.verify(compact, HASHES[alg.hash]!(data), key.publicKey, {
          prehash: false,
          lowS: false,
        });
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** Signs `tbs` with an SSH key for X.509; returns the algorithm OID and signature value. */
export function signX509(
  key: SSHKey,
  tbs: Uint8Array,
  random: RandomSource,
): { oid: string; sig: Uint8Array } {
  const m = key.material;
  const inner = (blob: Uint8Array) => {
    const r = new SSHReader(blob);
    r.readString("algorithm");
    return r.readString("signature");
  };
  switch (m.type) {
    case "rsa":
      return { oid: "1.2.840.113549.1.1.11", sig: inner(key.sign(tbs, "rsa-sha2-256", random)) };
    case "ed25519":
      return { oid: "1.3.101.112", sig: inner(key.sign(tbs, "ssh-ed25519", random)) };
    case "ecdsa": {
      // SSH signs ECDSA with the curve's hash, which is also what X.509 names here.
      const oid = {
        nistp256: "1.2.840.10045.4.3.2",
        nistp384: "1.2.840.10045.4.3.3",
        nistp521: "1.2.840.10045.4.3.4",
      }[m.curve];
      const r = new SSHReader(inner(key.sign(tbs, `ecdsa-sha2-${m.curve}`, random)));
      const rv = r.readMpint("r");
      const sv = r.readMpint("s");
      return { oid, sig: derSequence(derInteger(rv), derInteger(sv)) };
    }
    default:
      throw new KeyImportError(`Cannot sign a certificate with a ${m.type} key`);
  }
}

export function algorithmIdentifier(oid: string): Uint8Array {
  return oid.startsWith("1.2.840.113549.1.1.")
    ? derSequence(derOid(oid), derNull())
    : derSequence(derOid(oid));
}
