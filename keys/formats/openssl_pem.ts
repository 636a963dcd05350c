/**
 * OpenSSL's legacy PEM encryption ("Proc-Type: 4,ENCRYPTED" with a DEK-Info
 * header), which `ssh-keygen -m PEM -N ...` and `openssl genrsa -aes128` write.
 * The key is EVP_BytesToKey with MD5 and one iteration over the passphrase and
 * the first 8 bytes of the IV; the body is CBC with PKCS#7 padding.
 *
 * @module
 */

import { md5 } from "@noble/hashes/legacy.js";
import { type RandomSource, systemRandom } from "../../core/random.ts";
import { concatBytes, utf8 } from "../../core/wire.ts";
import { CBC_CIPHERS } from "../_crypto/cbc_ciphers.ts";
import type { PemBlock } from "./pem.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";

/** EVP_BytesToKey(MD5, count 1): D_i = MD5(D_{i-1} || password || salt). */
function bytesToKey(pw: Uint8Array, salt: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let prev = new Uint8Array(0);
  for (let o = 0; o < n; o += 16) {
    prev = md5(concatBytes(prev, pw, salt));
    out.set(prev.subarray(0, Math.min(16, n - o)), o);
  }
  return out;
}

function hexToBytes(s: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(s)) return undefined;
  return new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
}

/**
 * True when a PEM block carries legacy OpenSSL encryption headers.
 *
 * @example
 * ```ts
 * import { isLegacyEncryptedPem } from "./openssl_pem.ts";
 * const block = { label: "RSA PRIVATE KEY", headers: new Map([["Proc-Type", "4,ENCRYPTED"]]), body: new Uint8Array() };
 * console.log(isLegacyEncryptedPem(block)); // true
 * ```
 */
export function isLegacyEncryptedPem(block: PemBlock): boolean {
  return (block.headers.get("Proc-Type") ?? "").replaceAll(" ", "") === "4,ENCRYPTED";
}

/**
 * Decrypts the body of a legacy-encrypted PEM block. A wrong passphrase is
 * reported as such (bad padding); the caller reports a body that then fails to
 * parse as a wrong passphrase too.
 *
 * @example
 * ```ts
 * import { decryptLegacyPem, encryptLegacyPem } from "./openssl_pem.ts";
 * const { headers, body } = encryptLegacyPem(new Uint8Array([1, 2, 3]), "secret");
 * console.log(decryptLegacyPem({ label: "X", headers: new Map(headers), body }, "secret")); // [1, 2, 3]
 * ```
 */
export function decryptLegacyPem(block: PemBlock, passphrase: string | Uint8Array): Uint8Array {
  const dek = block.headers.get("DEK-Info");
  if (dek === undefined) {
    throw new KeyImportError(
      `Cannot import PEM "${block.label}": encrypted but no DEK-Info header`,
    );
  }
  const [alg = "", ivHex = ""] = dek.split(",").map((s) => s.trim());
  const cipher = CBC_CIPHERS.get(alg.toLowerCase());
  if (!cipher) {
    throw new KeyImportError(`Cannot import PEM "${block.label}": unsupported cipher '${alg}'`);
  }
  const iv = hexToBytes(ivHex);
  if (!iv || iv.length !== cipher.ivLength) {
    throw new KeyImportError(`Cannot import PEM "${block.label}": invalid IV in DEK-Info`);
  }
  // CBC's block is its IV's length. A body of part of a block is a cut or damaged file,
  // not a wrong passphrase (which is all a failed decryption could otherwise say).
  if (block.body.length === 0 || block.body.length % cipher.ivLength !== 0) {
    throw new KeyImportError(
      `Cannot import PEM "${block.label}": the encrypted body is not a whole number of ` +
        `${cipher.ivLength}-byte blocks (the file is truncated or corrupt)`,
    );
  }
  const pw = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
  const key = bytesToKey(pw, iv.subarray(0, 8), cipher.keyLength);
  const out = cipher.decrypt(key, iv, block.body);
  if (!out) throw new KeyImportError("Cannot import private key: incorrect passphrase");
  return out;
}

/**
 * Encrypts a DER body the legacy OpenSSL way (AES-128-CBC by default, as
 * ssh-keygen writes), returning the headers to put on the PEM block.
 *
 * @example
 * ```ts
 * import { encryptLegacyPem } from "./openssl_pem.ts";
 * import { encodePem } from "./pem.ts";
 * const { headers, body } = encryptLegacyPem(new Uint8Array([48, 0]), "secret");
 * console.log(encodePem("RSA PRIVATE KEY", body, headers).includes("DEK-Info: AES-128-CBC,"));
 * ```
 */
export function encryptLegacyPem(
  der: Uint8Array,
  passphrase: string | Uint8Array,
  options: { cipher?: string; random?: RandomSource } = {},
): { headers: [string, string][]; body: Uint8Array } {
  const cipher = CBC_CIPHERS.get((options.cipher ?? "aes-128-cbc").toLowerCase());
  // Single DES is read (old files) but not written, as in PKCS#8: OpenSSL 3 has it only in
  // its legacy provider, so neither openssl nor ssh-keygen could open such a key (ssh-keygen
  // said "incorrect passphrase").
  if (!cipher || cipher.name === "des-cbc") {
    throw new KeyExportError(
      `Cannot export PEM private key: unsupported cipher '${options.cipher}'`,
    );
  }
  const iv = (options.random ?? systemRandom)(cipher.ivLength);
  const pw = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
  const key = bytesToKey(pw, iv.subarray(0, 8), cipher.keyLength);
  const hex = Array.from(iv, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  return {
    headers: [["Proc-Type", "4,ENCRYPTED"], ["DEK-Info", `${cipher.name.toUpperCase()},${hex}`]],
    body: cipher.encrypt(key, iv, der),
  };
}
