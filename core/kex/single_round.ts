/**
 * The one-round key exchange shape shared by ECDH (RFC 5656 §4), curve25519
 * (RFC 8731), the post-quantum hybrids and the fixed-group Diffie-Hellman methods
 * (RFC 4253 §8):
 *
 * ```
 * C → S   byte 30, string Q_C            (DH: mpint e — the same bytes on the wire)
 * S → C   byte 31, string K_S, string Q_S, string signature
 * H = HASH(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K)
 * ```
 *
 * Each method supplies a {@link KeyAgreement}; this file does the messages, the
 * exchange hash and the checks that every method shares.
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import type { RandomSource } from "../random.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { unexpectedKexMessage } from "./errors.ts";
import { exchangeHashWriter, kexDigest } from "./hash.ts";
import { KexMsg, MAX_HOST_KEY_BLOB_LENGTH, MAX_KEX_SIGNATURE_LENGTH } from "./messages.ts";
import type {
  KexClientFlow,
  KexContext,
  KexHashName,
  KexMethod,
  KexServerFlow,
  KexServerOptions,
  KexStep,
} from "./types.ts";
import type { Pending } from "../pending.ts";

/** The client's half of an agreement in progress. */
export interface ClientEphemeral {
  /** Q_C (or e): the content of the string/mpint field sent to the server. */
  readonly publicValue: Uint8Array;
  /**
   * Completes the agreement with the server's Q_S (field content) and returns K
   * encoded exactly as it enters the exchange hash (mpint or string, with length).
   * Throws KexError for an invalid server value.
   */
  finish(serverValue: Uint8Array): Uint8Array;
  /**
   * The same as `finish` through asynchronous native crypto, or undefined where there is
   * none for this key (then `finish` runs). Throws KexError for an invalid server value.
   */
  finishLater?(serverValue: Uint8Array): Pending<Uint8Array> | undefined;
}

/** What the server returns for one client value. */
export interface ServerEphemeral {
  /** Q_S (or f): field content to send back. */
  readonly publicValue: Uint8Array;
  /** K, encoded as it enters the exchange hash. */
  readonly sharedSecret: Uint8Array;
}

/** The method-specific arithmetic of a one-round exchange. */
export interface KeyAgreement {
  /** Largest public value field we read from the peer (checked before decoding). */
  readonly maxPublicLength: number;
  /** Client: makes an ephemeral key. */
  client(random: RandomSource): ClientEphemeral;
  /**
   * Client: the same through asynchronous native crypto, or undefined where there is none
   * (then `client` runs).
   */
  clientLater?(random: RandomSource): Pending<ClientEphemeral> | undefined;
  /** Server: answers the client's value (throws KexError when it is invalid). */
  server(clientValue: Uint8Array, random: RandomSource): ServerEphemeral;
  /**
   * Server: the same through asynchronous native crypto, or undefined where there is none
   * (then `server` runs). Throws KexError for an invalid client value.
   */
  serverLater?(clientValue: Uint8Array, random: RandomSource): Pending<ServerEphemeral> | undefined;
}

/**
 * H of a one-round exchange: `HASH(V_C || V_S || I_C || I_S || K_S || string Q_C ||
 * string Q_S || K)`, where `clientValue` and `serverValue` are the field contents
 * (for DH, the mpint contents of e and f) and `sharedSecret` is K already encoded.
 *
 * @example
 * ```ts
 * import { singleRoundExchangeHash } from "./single_round.ts";
 * const ctx = {
 *   clientVersion: "SSH-2.0-a", serverVersion: "SSH-2.0-b",
 *   clientKexInit: new Uint8Array([20]), serverKexInit: new Uint8Array([20]),
 *   random: (n: number) => new Uint8Array(n),
 * };
 * const h = singleRoundExchangeHash("sha256", ctx, new Uint8Array(0), new Uint8Array(32),
 *   new Uint8Array(32), new Uint8Array([0, 0, 0, 1, 1]));
 * console.log(h.length); // 32
 * ```
 */
export function singleRoundExchangeHash(
  hash: KexHashName,
  ctx: KexContext,
  hostKeyBlob: Uint8Array,
  clientValue: Uint8Array,
  serverValue: Uint8Array,
  sharedSecret: Uint8Array,
): Uint8Array {
  const w = exchangeHashWriter(ctx, hostKeyBlob)
    .writeString(clientValue)
    .writeString(serverValue)
    .writeBytes(sharedSecret);
  const digest = kexDigest(hash, w.view());
  w.release(); // the shared secret does not stay in the writer's buffer
  return digest;
}

class SingleRoundClient implements KexClientFlow {
  #name: string;
  #hash: KexHashName;
  #ctx: KexContext;
  #agreement: KeyAgreement;
  #ephemeral: ClientEphemeral | null = null;
  #started = false;
  #done = false;

  constructor(name: string, hash: KexHashName, ctx: KexContext, agreement: KeyAgreement) {
    this.#name = name;
    this.#hash = hash;
    this.#ctx = ctx;
    this.#agreement = agreement;
  }

  start(): KexStep {
    if (this.#started) {
      throw new LocalProtocolError(`Cannot start the ${this.#name} client twice`);
    }
    this.#started = true;
    const later = this.#ctx.allowWait ? this.#agreement.clientLater?.(this.#ctx.random) : undefined;
    if (later === undefined) return this.#init(this.#agreement.client(this.#ctx.random));
    return { send: [], wait: { ready: later.ready, resume: () => this.#init(later.value()) } };
  }

  #init(ephemeral: ClientEphemeral): KexStep {
    this.#ephemeral = ephemeral;
    const init = new SSHWriter(ephemeral.publicValue.length + 8)
      .writeByte(KexMsg.ECDH_INIT)
      .writeString(ephemeral.publicValue)
      .toBytes();
    return { send: [init] };
  }

  receive(payload: Uint8Array): KexStep {
    const ephemeral = this.#ephemeral;
    if (ephemeral === null) {
      throw new LocalProtocolError(`Cannot receive before start() of the ${this.#name} client`);
    }
    if (this.#done || payload[0] !== KexMsg.ECDH_REPLY) {
      throw unexpectedKexMessage(this.#name, payload[0], this.#done ? [] : [KexMsg.ECDH_REPLY]);
    }
    const r = new SSHReader(payload, 1);
    const hostKeyBlob = r.readString("host key", MAX_HOST_KEY_BLOB_LENGTH).slice();
    const serverValue = r.readString("server public value", this.#agreement.maxPublicLength);
    const signature = r.readString("signature", MAX_KEX_SIGNATURE_LENGTH).slice();
    r.assertEnd(`${this.#name} reply`);
    this.#done = true;
    const finish = (value: Uint8Array, sharedSecret: Uint8Array): KexStep => {
      const h = singleRoundExchangeHash(
        this.#hash,
        this.#ctx,
        hostKeyBlob,
        ephemeral.publicValue,
        value,
        sharedSecret,
      );
      return { send: [], result: { sharedSecret, exchangeHash: h, hostKeyBlob, signature } };
    };
    const later = this.#ctx.allowWait ? ephemeral.finishLater?.(serverValue) : undefined;
    if (later === undefined) return finish(serverValue, ephemeral.finish(serverValue));
    // The payload is a view of the receive buffer, which is reused before the wait ends.
    const kept = serverValue.slice();
    return { send: [], wait: { ready: later.ready, resume: () => finish(kept, later.value()) } };
  }
}

class SingleRoundServer implements KexServerFlow {
  #name: string;
  #hash: KexHashName;
  #ctx: KexContext;
  #options: KexServerOptions;
  #agreement: KeyAgreement;
  #done = false;

  constructor(
    name: string,
    hash: KexHashName,
    ctx: KexContext,
    options: KexServerOptions,
    agreement: KeyAgreement,
  ) {
    this.#name = name;
    this.#hash = hash;
    this.#ctx = ctx;
    this.#options = options;
    this.#agreement = agreement;
  }

  receive(payload: Uint8Array): KexStep {
    if (this.#done || payload[0] !== KexMsg.ECDH_INIT) {
      throw unexpectedKexMessage(this.#name, payload[0], this.#done ? [] : [KexMsg.ECDH_INIT]);
    }
    const r = new SSHReader(payload, 1);
    const clientValue = r.readString("client public value", this.#agreement.maxPublicLength)
      .slice();
    r.assertEnd(`${this.#name} init`);
    this.#done = true;
    const later = this.#ctx.allowWait
      ? this.#agreement.serverLater?.(clientValue, this.#ctx.random)
      : undefined;
    if (later === undefined) {
      return this.#reply(clientValue, this.#agreement.server(clientValue, this.#ctx.random));
    }
    return {
      send: [],
      wait: { ready: later.ready, resume: () => this.#reply(clientValue, later.value()) },
    };
  }

  #reply(clientValue: Uint8Array, { publicValue, sharedSecret }: ServerEphemeral): KexStep {
    const hostKeyBlob = this.#options.hostKey.publicKeyBlob;
    const h = singleRoundExchangeHash(
      this.#hash,
      this.#ctx,
      hostKeyBlob,
      clientValue,
      publicValue,
      sharedSecret,
    );
    const signature = this.#options.hostKey.sign(h);
    const reply = new SSHWriter(hostKeyBlob.length + publicValue.length + signature.length + 16)
      .writeByte(KexMsg.ECDH_REPLY)
      .writeString(hostKeyBlob)
      .writeString(publicValue)
      .writeString(signature)
      .toBytes();
    return {
      send: [reply],
      result: { sharedSecret, exchangeHash: h, hostKeyBlob, signature },
    };
  }
}

/**
 * Builds a {@link KexMethod} from a one-round key agreement.
 *
 * @example
 * ```ts
 * import { singleRoundMethod } from "./single_round.ts";
 * import { x25519Agreement } from "./curve25519.ts";
 * const method = singleRoundMethod("curve25519-sha256", "sha256", x25519Agreement);
 * console.log(method.name, method.hash); // "curve25519-sha256" "sha256"
 * ```
 */
export function singleRoundMethod(
  name: string,
  hash: KexHashName,
  agreement: KeyAgreement,
): KexMethod {
  return Object.freeze({
    name,
    hash,
    createClient: (ctx: KexContext) => new SingleRoundClient(name, hash, ctx, agreement),
    createServer: (ctx: KexContext, options: KexServerOptions) =>
      new SingleRoundServer(name, hash, ctx, options, agreement),
  });
}
