/**
 * Private keys as add-identity requests carry them (RFC 9987 §4.2.3; OpenSSH's
 * sshkey_private_serialize): the key type, then its private fields. A
 * certificate's form is the certificate type, the certificate blob, then only
 * the private fields the certificate does not already hold (Ed25519 repeats its
 * public key).
 *
 * @module
 */

import { modInverse } from "../core/publickey/bigint.ts";
import { isCertificateAlgorithm } from "../core/publickey/certificate.ts";
import type { KeyMaterial } from "../core/publickey/types.ts";
import { concatBytes, equalBytes, SSHReader, SSHWriter } from "../core/wire.ts";
import { SSHCertificate } from "../keys/certificates/certificate.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import { readPrivateFields, writePrivateFields } from "../keys/formats/openssh_private.ts";
import { SSHKey } from "../keys/ssh_key.ts";
import { AgentError } from "./errors.ts";

/** Largest certificate blob accepted inside an add-identity request. */
const MAX_CERT_BLOB = 64 * 1024;
/** Largest private mpint (a 16384-bit RSA value plus its sign byte). */
const MAX_PRIVATE_MPINT = 2049;

/**
 * Writes a private key (and its certificate, if the pair has one) in the
 * add-identity form.
 *
 * @example
 * ```ts
 * import { SSHWriter } from "../core/wire.ts";
 * import { generatePrivateKey } from "../keys/generate.ts";
 * import { SSHKeyPair } from "../keys/key_pair.ts";
 * import { writeAgentPrivateKey } from "./private_key.ts";
 * const w = new SSHWriter();
 * writeAgentPrivateKey(w, new SSHKeyPair(generatePrivateKey("ed25519")));
 * console.log(w.length); // 4 + 11 + 4 + 32 + 4 + 64 = 119
 * ```
 */
export function writeAgentPrivateKey(w: SSHWriter, pair: SSHKeyPair): void {
  const cert = pair.certificate;
  if (!cert) {
    try {
      writePrivateFields(w, pair.key.material);
    } catch (e) {
      throw new AgentError("unsupported", `Cannot send key to the agent: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return;
  }
  w.writeStringUtf8(cert.typeName).writeString(cert.blob);
  const k = pair.key.material;
  switch (k.type) {
    case "ed25519":
      w.writeString(k.publicKey).writeString(concatBytes(k.seed!, k.publicKey));
      return;
    case "ecdsa":
      w.writeMpintMagnitude(k.privateKey!);
      return;
    case "rsa": {
      const qi = k.qi ?? modInverse(k.q!, k.p!);
      w.writeMpint(k.d!).writeMpint(qi).writeMpint(k.p!).writeMpint(k.q!);
      return;
    }
    case "dsa":
      w.writeMpint(k.x!);
      return;
    default:
      throw new AgentError("unsupported", `Cannot send a ${k.type} certificate key to the agent`);
  }
}

/**
 * Reads a private key in the add-identity form from `r`, a reader over `bytes`
 * (the whole message). The key is checked (its public
 * part must follow from its private part; a certificate must certify it). Throws
 * {@link AgentError}: `"unsupported"` for key types we cannot hold (security keys),
 * `"malformed"` for anything else.
 *
 * @example
 * ```ts
 * import { SSHReader, SSHWriter } from "../core/wire.ts";
 * import { generatePrivateKey } from "../keys/generate.ts";
 * import { SSHKeyPair } from "../keys/key_pair.ts";
 * import { readAgentPrivateKey, writeAgentPrivateKey } from "./private_key.ts";
 * const key = generatePrivateKey("ecdsa");
 * const w = new SSHWriter();
 * writeAgentPrivateKey(w, new SSHKeyPair(key));
 * const bytes = w.toBytes();
 * console.log(readAgentPrivateKey(new SSHReader(bytes), bytes).key.equals(key)); // true
 * ```
 */
export function readAgentPrivateKey(r: SSHReader, bytes: Uint8Array): SSHKeyPair {
  let type = "";
  try {
    // Look at the type without consuming it: readPrivateFields reads it again.
    type = new SSHReader(bytes, r.position).readStringAscii("key type", 256);
    if (!isCertificateAlgorithm(type)) {
      return new SSHKeyPair(SSHKey.fromMaterial(readPrivateFields(r)));
    }
    r.readStringAscii("key type", 256);
    const cert = SSHCertificate.fromBlob(r.readString("certificate", MAX_CERT_BLOB).slice());
    if (cert.typeName !== type) {
      throw new AgentError("malformed", `Key type ${type} does not match its certificate`);
    }
    const material = readCertPrivate(r, cert.key.material);
    return new SSHKeyPair(SSHKey.fromMaterial(material), cert);
  } catch (e) {
    throw asAgentError(e, `Cannot read the ${type || "agent"} private key`);
  }
}

function readCertPrivate(r: SSHReader, pub: KeyMaterial): KeyMaterial {
  const mp = (what: string) => {
    const v = r.readMpint(what, MAX_PRIVATE_MPINT);
    if (v < 0n) throw new AgentError("malformed", `${what} is negative`);
    return v;
  };
  switch (pub.type) {
    case "ed25519": {
      const pk = r.readString("Ed25519 public key", 64);
      const sk = r.readString("Ed25519 private key", 128);
      if (pk.length !== 32 || sk.length !== 64) {
        throw new AgentError("malformed", "Ed25519 key has a wrong length");
      }
      if (!equalBytes(pk, pub.publicKey) || !equalBytes(sk.subarray(32), pub.publicKey)) {
        throw new AgentError("malformed", "Ed25519 private key is not the certified key");
      }
      return { type: "ed25519", publicKey: pub.publicKey, seed: sk.slice(0, 32) };
    }
    case "ecdsa": {
      const d = r.readMpintMagnitude("EC private scalar", 67);
      const size = pub.curve === "nistp256" ? 32 : pub.curve === "nistp384" ? 48 : 66;
      if (d.length > size) throw new AgentError("malformed", "EC private scalar is too long");
      const privateKey = new Uint8Array(size);
      privateKey.set(d, size - d.length);
      return { ...pub, privateKey };
    }
    case "rsa": {
      const d = mp("d"), qi = mp("iqmp"), p = mp("p"), q = mp("q");
      return { ...pub, d, qi, p, q, dp: d % (p - 1n), dq: d % (q - 1n) };
    }
    case "dsa":
      return { ...pub, x: mp("x") };
    default:
      throw new AgentError("unsupported", `Cannot hold a ${pub.type} certificate key`);
  }
}

function asAgentError(e: unknown, what: string): AgentError {
  if (e instanceof AgentError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const unsupported = /security key|unsupported|not supported/i.test(message);
  return new AgentError(unsupported ? "unsupported" : "malformed", `${what}: ${message}`, {
    cause: e,
  });
}

/**
 * The add-identity form of a private key (and its certificate) as bytes.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "../keys/generate.ts";
 * import { SSHKeyPair } from "../keys/key_pair.ts";
 * import { decodeAgentPrivateKey, encodeAgentPrivateKey } from "./private_key.ts";
 * const pair = new SSHKeyPair(generatePrivateKey("ed25519"));
 * console.log(decodeAgentPrivateKey(encodeAgentPrivateKey(pair)).key.equals(pair.key)); // true
 * ```
 */
export function encodeAgentPrivateKey(pair: SSHKeyPair): Uint8Array {
  const w = new SSHWriter();
  writeAgentPrivateKey(w, pair);
  return w.toBytes();
}

/**
 * Decodes the add-identity form of a private key (all of `bytes`); throws
 * {@link AgentError} as {@link readAgentPrivateKey} does, and for trailing bytes.
 *
 * @example
 * ```ts
 * import { decodeAgentPrivateKey } from "./private_key.ts";
 * try { decodeAgentPrivateKey(new Uint8Array(3)); } catch (e) { console.log((e as Error).name); } // AgentError
 * ```
 */
export function decodeAgentPrivateKey(bytes: Uint8Array): SSHKeyPair {
  const r = new SSHReader(bytes);
  const pair = readAgentPrivateKey(r, bytes);
  if (r.remaining !== 0) throw new AgentError("malformed", "Trailing bytes after the private key");
  return pair;
}
