/**
 * `diffie-hellman-group-exchange-sha256` and legacy `-sha1` (RFC 4419):
 *
 * ```
 * C → S   34 GEX_REQUEST   uint32 min, uint32 n, uint32 max
 * S → C   31 GEX_GROUP     mpint p, mpint g
 * C → S   32 GEX_INIT      mpint e
 * S → C   33 GEX_REPLY     string K_S, mpint f, string signature
 * H = HASH(V_C || V_S || I_C || I_S || K_S || min || n || max || p || g || e || f || K)
 * ```
 *
 * The client asks for min 2048, n 8192, max 8192: what OpenSSH 9.x sends for its
 * default ciphers (its `dh_estimate` maps the 256-bit+ key need of chacha20-poly1305
 * or hmac-sha2-256 to 8192). {@link groupExchangeMethod} takes other sizes.
 * The server follows OpenSSH's `choose_dh`: the smallest group of at least n bits
 * within [max(min, 2048), min(max, 8192)], else the largest below n, chosen at
 * random among equals; it hashes the client's numbers exactly as received.
 *
 * @module
 */

import { bitLength, gcd } from "../publickey/bigint.ts";
import { LocalProtocolError } from "../errors.ts";
import type { RandomSource } from "../random.ts";
import { bigIntToMpintBytes, bytesToBigInt, SSHReader, SSHWriter } from "../wire.ts";
import { decodeDhPublic, dhKeypair, dhSharedSecret } from "./dh.ts";
import { KexError, unexpectedKexMessage } from "./errors.ts";
import { exchangeHashWriter, kexDigest } from "./hash.ts";
import { KexMsg, MAX_HOST_KEY_BLOB_LENGTH, MAX_KEX_SIGNATURE_LENGTH } from "./messages.ts";
import { BUILTIN_MODULI, type Modulus } from "./moduli.ts";
import type {
  KexClientFlow,
  KexContext,
  KexHashName,
  KexMethod,
  KexResult,
  KexServerFlow,
  KexServerOptions,
  KexStep,
} from "./types.ts";

/** Smallest group we ask for or hand out (OpenSSH's DH_GRP_MIN). */
export const GEX_MIN_BITS = 2048;
/** Largest group we ask for or hand out (OpenSSH's DH_GRP_MAX). */
export const GEX_MAX_BITS = 8192;
/** The group size we prefer by default (see the module doc). */
export const GEX_PREFERRED_BITS = 8192;
/** Longest p we read: 8192 bits plus the mpint sign byte, with room to spare. */
const MAX_MODULUS_BYTES = 16384 / 8 + 1;

/** The sizes a client requests. */
export interface GexRequest {
  readonly min: number;
  readonly n: number;
  readonly max: number;
}

/**
 * OpenSSH's `dh_estimate`: the group size to request for a symmetric-key need of
 * `bits` bits (the largest key, block, IV or MAC-key size of the negotiated
 * algorithms, in bits).
 *
 * @example
 * ```ts
 * import { gexPreferredBits } from "./gex.ts";
 * console.log(gexPreferredBits(128), gexPreferredBits(256)); // 3072 8192
 * ```
 */
export function gexPreferredBits(bits: number): number {
  if (bits <= 112) return 2048;
  if (bits <= 128) return 3072;
  if (bits <= 192) return 7680;
  return 8192;
}

function readMpintContent(r: SSHReader, what: string): Uint8Array {
  return r.readString(what, MAX_MODULUS_BYTES);
}

/** A group's modulus and generator. */
export interface Group {
  readonly p: bigint;
  readonly g: bigint;
}

/**
 * H of a group exchange (RFC 4419 §3): the shared prefix, then `uint32 min, n, max`
 * as the client sent them, `mpint p, g`, the mpint contents `e` and `f`, and K
 * already encoded.
 *
 * @example
 * ```ts
 * import { gexExchangeHash } from "./gex.ts";
 * const ctx = {
 *   clientVersion: "SSH-2.0-a", serverVersion: "SSH-2.0-b",
 *   clientKexInit: new Uint8Array([20]), serverKexInit: new Uint8Array([20]),
 *   random: (n: number) => new Uint8Array(n),
 * };
 * const h = gexExchangeHash("sha1", ctx, new Uint8Array(0), { min: 2048, n: 3072, max: 8192 },
 *   { p: 23n, g: 5n }, new Uint8Array([8]), new Uint8Array([19]), new Uint8Array([0, 0, 0, 1, 2]));
 * console.log(h.length); // 20
 * ```
 */
export function gexExchangeHash(
  hash: KexHashName,
  ctx: KexContext,
  hostKeyBlob: Uint8Array,
  request: GexRequest,
  group: Group,
  e: Uint8Array,
  f: Uint8Array,
  k: Uint8Array,
): Uint8Array {
  const w = exchangeHashWriter(ctx, hostKeyBlob)
    .writeUint32(request.min)
    .writeUint32(request.n)
    .writeUint32(request.max)
    .writeMpint(group.p)
    .writeMpint(group.g)
    .writeString(e)
    .writeString(f)
    .writeBytes(k);
  const digest = kexDigest(hash, w.view());
  w.release(); // the shared secret does not stay in the writer's buffer
  return digest;
}

type ClientState = "new" | "requested" | "initSent" | "done";

class GexClient implements KexClientFlow {
  #name: string;
  #hash: KexHashName;
  #ctx: KexContext;
  #request: GexRequest;
  #state: ClientState = "new";
  #group: Group | null = null;
  #x = 0n;
  #e: Uint8Array = new Uint8Array(0);

  constructor(name: string, hash: KexHashName, ctx: KexContext, request: GexRequest) {
    this.#name = name;
    this.#hash = hash;
    this.#ctx = ctx;
    this.#request = request;
  }

  start(): KexStep {
    if (this.#state !== "new") {
      throw new LocalProtocolError(`Cannot start the ${this.#name} client twice`);
    }
    this.#state = "requested";
    const { min, n, max } = this.#request;
    return {
      send: [
        new SSHWriter(16).writeByte(KexMsg.GEX_REQUEST).writeUint32(min).writeUint32(n)
          .writeUint32(max).toBytes(),
      ],
    };
  }

  receive(payload: Uint8Array): KexStep {
    switch (this.#state) {
      case "new":
        throw new LocalProtocolError(`Cannot receive before start() of the ${this.#name} client`);
      case "requested":
        if (payload[0] !== KexMsg.GEX_GROUP) {
          throw unexpectedKexMessage(this.#name, payload[0], [KexMsg.GEX_GROUP]);
        }
        return this.#onGroup(payload);
      case "initSent":
        if (payload[0] !== KexMsg.GEX_REPLY) {
          throw unexpectedKexMessage(this.#name, payload[0], [KexMsg.GEX_REPLY]);
        }
        return this.#onReply(payload);
      case "done":
        throw unexpectedKexMessage(this.#name, payload[0], []);
    }
  }

  #onGroup(payload: Uint8Array): KexStep {
    const r = new SSHReader(payload, 1);
    const pBytes = readMpintContent(r, "group modulus p");
    const gBytes = readMpintContent(r, "group generator g");
    r.assertEnd("group exchange group");
    const p = positive(pBytes, "p");
    const g = positive(gBytes, "g");
    const bits = bitLength(p);
    const { min, max } = this.#request;
    if (bits < min || bits > max) {
      throw new KexError(
        `Group exchange failed: the server's ${bits}-bit group is outside the requested ${min}..${max} bits`,
      );
    }
    if ((p & 1n) === 0n) throw new KexError("Group exchange failed: the server's modulus is even");
    if (g <= 1n || g >= p - 1n) throw new KexError("Group exchange failed: invalid generator");
    // A generator sharing a factor with p makes no group of its own (a composite p's
    // factor: every power of it may come out 0 or 1). A prime p shares none.
    if (gcd(g, p) !== 1n) {
      throw new KexError("Group exchange failed: the generator shares a factor with the modulus");
    }
    this.#group = { p, g };
    const { x, publicValue } = dhKeypair(this.#group, this.#ctx.random);
    this.#x = x;
    this.#e = bigIntToMpintBytes(publicValue);
    this.#state = "initSent";
    return {
      send: [
        new SSHWriter(this.#e.length + 8).writeByte(KexMsg.GEX_INIT).writeString(this.#e).toBytes(),
      ],
    };
  }

  #onReply(payload: Uint8Array): KexStep {
    const group = this.#group!;
    const r = new SSHReader(payload, 1);
    const hostKeyBlob = r.readString("host key", MAX_HOST_KEY_BLOB_LENGTH).slice();
    const fBytes = readMpintContent(r, "server public value f");
    const signature = r.readString("signature", MAX_KEX_SIGNATURE_LENGTH).slice();
    r.assertEnd(`${this.#name} reply`);
    const f = decodeDhPublic(fBytes, group.p, "f");
    const k = dhSharedSecret(group.p, this.#x, f);
    const h = gexExchangeHash(
      this.#hash,
      this.#ctx,
      hostKeyBlob,
      this.#request,
      group,
      this.#e,
      fBytes,
      k,
    );
    this.#state = "done";
    const result: KexResult = { sharedSecret: k, exchangeHash: h, hostKeyBlob, signature };
    return { send: [], result };
  }
}

/** A positive integer from mpint content (sign and emptiness checked). */
function positive(content: Uint8Array, what: string): bigint {
  if (content.length === 0 || (content[0]! & 0x80) !== 0) {
    throw new KexError(`Group exchange failed: ${what} must be positive`);
  }
  return bytesToBigInt(content);
}

/**
 * OpenSSH's `choose_dh`: among moduli of [min, max] bits, the smallest of at least
 * `want` bits, else the largest below; a random one among equals. Undefined if none.
 *
 * @example
 * ```ts
 * import { chooseModulus } from "./gex.ts";
 * import { BUILTIN_MODULI } from "./moduli.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * console.log(chooseModulus(BUILTIN_MODULI, 2048, 3500, 8192, seededRandom(1))?.bits); // 4096
 * ```
 */
export function chooseModulus(
  moduli: readonly Modulus[],
  min: number,
  want: number,
  max: number,
  random: RandomSource,
): Modulus | undefined {
  let best = 0;
  for (const m of moduli) {
    if (m.bits < min || m.bits > max) continue;
    if ((m.bits >= want && (best < want || m.bits < best)) || (best < want && m.bits > best)) {
      best = m.bits;
    }
  }
  const candidates = moduli.filter((m) => m.bits === best);
  if (candidates.length === 0) return undefined;
  const r = random(4);
  const pick = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
  return candidates[pick % candidates.length];
}

type ServerState = "new" | "groupSent" | "done";

class GexServer implements KexServerFlow {
  #name: string;
  #hash: KexHashName;
  #ctx: KexContext;
  #options: KexServerOptions;
  #state: ServerState = "new";
  #request: GexRequest = { min: 0, n: 0, max: 0 };
  #group: Group | null = null;

  constructor(name: string, hash: KexHashName, ctx: KexContext, options: KexServerOptions) {
    this.#name = name;
    this.#hash = hash;
    this.#ctx = ctx;
    this.#options = options;
  }

  receive(payload: Uint8Array): KexStep {
    if (this.#state === "new") {
      if (payload[0] !== KexMsg.GEX_REQUEST) {
        throw unexpectedKexMessage(this.#name, payload[0], [KexMsg.GEX_REQUEST]);
      }
      return this.#onRequest(payload);
    }
    if (this.#state === "groupSent" && payload[0] === KexMsg.GEX_INIT) return this.#onInit(payload);
    throw unexpectedKexMessage(
      this.#name,
      payload[0],
      this.#state === "done" ? [] : [KexMsg.GEX_INIT],
    );
  }

  #onRequest(payload: Uint8Array): KexStep {
    const r = new SSHReader(payload, 1);
    const min = r.readUint32("min");
    const n = r.readUint32("n");
    const max = r.readUint32("max");
    r.assertEnd("group exchange request");
    if (max < min || n < min || max < n || max < GEX_MIN_BITS) {
      throw new KexError(`Group exchange failed: bad request sizes ${min}/${n}/${max}`);
    }
    this.#request = { min, n, max };
    const moduli = this.#options.moduli ?? BUILTIN_MODULI;
    const chosen = chooseModulus(
      moduli,
      Math.max(GEX_MIN_BITS, min),
      Math.min(GEX_MAX_BITS, Math.max(GEX_MIN_BITS, n)),
      Math.min(GEX_MAX_BITS, max),
      this.#ctx.random,
    );
    if (chosen === undefined) {
      throw new KexError(`Group exchange failed: no group between ${min} and ${max} bits`);
    }
    this.#group = { p: chosen.p, g: chosen.g };
    this.#state = "groupSent";
    const msg = new SSHWriter(chosen.bits / 8 + 32).writeByte(KexMsg.GEX_GROUP).writeMpint(chosen.p)
      .writeMpint(chosen.g).toBytes();
    return { send: [msg] };
  }

  #onInit(payload: Uint8Array): KexStep {
    const group = this.#group!;
    const r = new SSHReader(payload, 1);
    const eBytes = readMpintContent(r, "client public value e").slice();
    r.assertEnd("group exchange init");
    const e = decodeDhPublic(eBytes, group.p, "e");
    const { x, publicValue } = dhKeypair(group, this.#ctx.random);
    const fBytes = bigIntToMpintBytes(publicValue);
    const k = dhSharedSecret(group.p, x, e);
    const hostKeyBlob = this.#options.hostKey.publicKeyBlob;
    const h = gexExchangeHash(
      this.#hash,
      this.#ctx,
      hostKeyBlob,
      this.#request,
      group,
      eBytes,
      fBytes,
      k,
    );
    const signature = this.#options.hostKey.sign(h);
    const reply = new SSHWriter(hostKeyBlob.length + fBytes.length + signature.length + 16)
      .writeByte(KexMsg.GEX_REPLY)
      .writeString(hostKeyBlob)
      .writeString(fBytes)
      .writeString(signature)
      .toBytes();
    this.#state = "done";
    return { send: [reply], result: { sharedSecret: k, exchangeHash: h, hostKeyBlob, signature } };
  }
}

/**
 * Builds a group-exchange method. `request` overrides the sizes the client asks for
 * (default min 2048, n 8192, max 8192), e.g. from {@link gexPreferredBits}.
 *
 * @example
 * ```ts
 * import { groupExchangeMethod } from "./gex.ts";
 * const m = groupExchangeMethod("diffie-hellman-group-exchange-sha256", "sha256",
 *   { min: 2048, n: 3072, max: 8192 });
 * console.log(m.name); // "diffie-hellman-group-exchange-sha256"
 * ```
 */
export function groupExchangeMethod(
  name: string,
  hash: KexHashName,
  request: GexRequest = { min: GEX_MIN_BITS, n: GEX_PREFERRED_BITS, max: GEX_MAX_BITS },
): KexMethod {
  if (!(request.min <= request.n && request.n <= request.max)) {
    throw new LocalProtocolError(
      `Invalid group exchange request ${request.min}/${request.n}/${request.max}: need min <= n <= max`,
    );
  }
  return Object.freeze({
    name,
    hash,
    createClient: (ctx: KexContext) => new GexClient(name, hash, ctx, request),
    createServer: (ctx: KexContext, options: KexServerOptions) =>
      new GexServer(name, hash, ctx, options),
  });
}
