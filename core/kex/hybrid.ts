/**
 * The post-quantum hybrid methods: a KEM combined with X25519, as OpenSSH does for
 * `sntrup761x25519-sha512` (PROTOCOL, kexsntrup761x25519.c) and
 * `mlkem768x25519-sha256` (draft-ietf-sshm-mlkem-hybrid-kex):
 *
 * ```
 * Q_C = KEM public key || X25519 public key           (client's ECDH_INIT)
 * Q_S = KEM ciphertext || X25519 public key           (server's ECDH_REPLY)
 * K   = string HASH(KEM shared secret || X25519 shared secret)
 * ```
 *
 * K is encoded as an SSH *string* (not an mpint) both in the exchange hash and in
 * the key derivation; the X25519 part is the raw 32-byte output (not an mpint),
 * and an all-zero X25519 output still aborts.
 *
 * @module
 */

import type { RandomSource } from "../random.ts";
import { concatBytes, SSHWriter } from "../wire.ts";
import { X25519_KEY_BYTES, x25519Keypair, x25519Shared } from "./curve25519.ts";
import { KexError } from "./errors.ts";
import { kexDigest } from "./hash.ts";
import type { ClientEphemeral, KeyAgreement, ServerEphemeral } from "./single_round.ts";
import type { KexHashName } from "./types.ts";
import { mapPending, type Pending } from "../pending.ts";

/** A key encapsulation mechanism as the hybrids need it (see `core/pq/`). */
export interface Kem {
  /** Name for messages, e.g. "sntrup761". */
  readonly name: string;
  /** Public key size in bytes. */
  readonly publicKeyBytes: number;
  /** Ciphertext size in bytes. */
  readonly ciphertextBytes: number;
  /** Makes a key pair. */
  keypair(random: RandomSource): { publicKey: Uint8Array; secretKey: Uint8Array };
  /** Encapsulates to a public key. May throw for a malformed key. */
  encapsulate(
    publicKey: Uint8Array,
    random: RandomSource,
  ): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  /** Decapsulates (implicit rejection: a bad ciphertext yields an unrelated secret). */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Optional: `keypair` through asynchronous native crypto; undefined where there is none. */
  keypairLater?(
    random: RandomSource,
  ): Pending<{ publicKey: Uint8Array; secretKey: Uint8Array }> | undefined;
  /**
   * Optional: `encapsulate` through asynchronous native crypto; undefined where there is
   * none. Its value throws for a malformed key.
   */
  encapsulateLater?(
    publicKey: Uint8Array,
    random: RandomSource,
  ): Pending<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }> | undefined;
  /**
   * Optional: `decapsulate` through asynchronous native crypto, for a secret key its
   * `keypairLater` made; undefined for any other key.
   */
  decapsulateLater?(ciphertext: Uint8Array, secretKey: Uint8Array): Pending<Uint8Array> | undefined;
}

function combine(hash: KexHashName, kemSecret: Uint8Array, ecdhSecret: Uint8Array): Uint8Array {
  const digest = kexDigest(hash, concatBytes(kemSecret, ecdhSecret));
  return new SSHWriter(digest.length + 4).writeString(digest).toBytes();
}

/**
 * The key agreement of a KEM+X25519 hybrid hashed with `hash`.
 *
 * @example
 * ```ts
 * import { hybridAgreement } from "./hybrid.ts";
 * import { mlkem768Decapsulate, mlkem768Encapsulate, mlkem768Keypair } from "../pq/mlkem768.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const a = hybridAgreement({
 *   name: "mlkem768", publicKeyBytes: 1184, ciphertextBytes: 1088,
 *   keypair: mlkem768Keypair, encapsulate: mlkem768Encapsulate, decapsulate: mlkem768Decapsulate,
 * }, "sha256");
 * const c = a.client(seededRandom(1));
 * const s = a.server(c.publicValue, seededRandom(2));
 * console.log(c.finish(s.publicValue).join() === s.sharedSecret.join()); // true
 * ```
 */
export function hybridAgreement(kem: Kem, hash: KexHashName): KeyAgreement {
  const clientLength = kem.publicKeyBytes + X25519_KEY_BYTES;
  const serverLength = kem.ciphertextBytes + X25519_KEY_BYTES;
  const checkReply = (serverValue: Uint8Array) => {
    if (serverValue.length !== serverLength) {
      throw new KexError(
        `Invalid ${kem.name}x25519 reply: ${serverValue.length} bytes, expected ${serverLength}`,
      );
    }
  };
  const checkInit = (clientValue: Uint8Array) => {
    if (clientValue.length !== clientLength) {
      throw new KexError(
        `Invalid ${kem.name}x25519 init: ${clientValue.length} bytes, expected ${clientLength}`,
      );
    }
  };
  const badKey = (cause: unknown) =>
    new KexError(`Invalid ${kem.name} public key from the client`, { cause });
  const ephemeral = (
    pq: { publicKey: Uint8Array; secretKey: Uint8Array },
    random: RandomSource,
  ): ClientEphemeral => {
    const ec = x25519Keypair(random);
    return {
      publicValue: concatBytes(pq.publicKey, ec.publicKey),
      finish(serverValue: Uint8Array): Uint8Array {
        checkReply(serverValue);
        const ecdh = x25519Shared(ec.secretKey, serverValue.subarray(kem.ciphertextBytes));
        const kemSecret = kem.decapsulate(
          serverValue.subarray(0, kem.ciphertextBytes),
          pq.secretKey,
        );
        return combine(hash, kemSecret, ecdh);
      },
      finishLater(serverValue: Uint8Array): Pending<Uint8Array> | undefined {
        checkReply(serverValue);
        const later = kem.decapsulateLater?.(
          serverValue.slice(0, kem.ciphertextBytes),
          pq.secretKey,
        );
        if (later === undefined) return undefined;
        // X25519 now, while the reply is at hand: the wait then covers the KEM only.
        const ecdh = x25519Shared(ec.secretKey, serverValue.subarray(kem.ciphertextBytes));
        return mapPending(later, (kemSecret) => combine(hash, kemSecret, ecdh));
      },
    };
  };
  const answer = (
    clientValue: Uint8Array,
    encapsulated: { ciphertext: Uint8Array; sharedSecret: Uint8Array },
    random: RandomSource,
  ): ServerEphemeral => {
    const ec = x25519Keypair(random);
    const ecdh = x25519Shared(ec.secretKey, clientValue.subarray(kem.publicKeyBytes));
    return {
      publicValue: concatBytes(encapsulated.ciphertext, ec.publicKey),
      sharedSecret: combine(hash, encapsulated.sharedSecret, ecdh),
    };
  };
  return Object.freeze({
    maxPublicLength: Math.max(clientLength, serverLength) + 64,
    client: (random: RandomSource) => ephemeral(kem.keypair(random), random),
    clientLater(random: RandomSource): Pending<ClientEphemeral> | undefined {
      const later = kem.keypairLater?.(random);
      return later && mapPending(later, (pq) => ephemeral(pq, random));
    },
    server(clientValue: Uint8Array, random: RandomSource): ServerEphemeral {
      checkInit(clientValue);
      let encapsulated: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
      try {
        encapsulated = kem.encapsulate(clientValue.subarray(0, kem.publicKeyBytes), random);
      } catch (cause) {
        throw badKey(cause);
      }
      return answer(clientValue, encapsulated, random);
    },
    serverLater(
      clientValue: Uint8Array,
      random: RandomSource,
    ): Pending<ServerEphemeral> | undefined {
      checkInit(clientValue);
      const later = kem.encapsulateLater?.(clientValue.slice(0, kem.publicKeyBytes), random);
      if (later === undefined) return undefined;
      return {
        ready: later.ready,
        value() {
          let encapsulated: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
          try {
            encapsulated = later.value();
          } catch (cause) {
            throw badKey(cause);
          }
          return answer(clientValue, encapsulated, random);
        },
      };
    },
  });
}
