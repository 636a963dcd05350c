/**
 * {@link AgentKeyring}: the keys an agent holds and the rules it applies —
 * lifetimes (on an injected clock), confirmation (through an async hook),
 * destination restrictions (against each connection's session bindings), and
 * locking with a passphrase. Pure: the io layer's `SSHAgent` adds sockets.
 *
 * {@link AgentKeyring.handleRequest} answers one decoded request for one agent
 * connection ({@link AgentConnectionState}); `server.ts` frames it.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { type RandomSource, systemRandom } from "../core/random.ts";
import { equalBytes, utf8 } from "../core/wire.ts";
import { SSHCertificate } from "../keys/certificates/certificate.ts";
import { parseKeyOrCertificate } from "../keys/trust/certificate_policy.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import type { DestinationConstraint, KeyConstraint } from "./constraints.ts";
import { identityPermitted, parseUserauthRequest, type SessionBinding } from "./destination.ts";
import { AgentError } from "./errors.ts";
import {
  decodeSessionBind,
  encodeQueryReply,
  MAX_SESSION_ID,
  QUERY_EXTENSION,
  SESSION_BIND_EXTENSION,
} from "./extensions.ts";
import type { AgentReply, AgentRequest } from "./messages.ts";
import { AgentSignFlag } from "./protocol.ts";

/** Most keys one agent holds: OpenSSH's client lists at most 2048, so more could not be seen. */
export const MAX_AGENT_KEYS = 2048;
/** Most session bindings per connection (OpenSSH's AGENT_MAX_SESSION_IDS). */
export const MAX_SESSION_BINDINGS = 16;
/**
 * The lock passphrase is kept only as HMAC-SHA-512(random salt, passphrase), compared in
 * constant time (OpenSSH keeps a salted bcrypt_pbkdf hash for the same reason: no plaintext).
 */
function lockHash(salt: Uint8Array, passphrase: Uint8Array): Uint8Array {
  return hmac(sha512, salt, passphrase);
}
/** Delay after a failed unlock grows by this much per failure, up to 10 s (as OpenSSH). */
const UNLOCK_DELAY_STEP_MS = 100;
const UNLOCK_DELAY_MAX_FAILURES = 100;

/** What the confirm hook is told about a signature request. */
export interface ConfirmRequest {
  /** The key (the certified key for a certificate). */
  readonly key: SSHKey;
  /** The certificate, when the identity is one. */
  readonly certificate: SSHCertificate | undefined;
  /** The comment the key was added with. */
  readonly comment: string;
  /** `SHA256:...` fingerprint, as ssh-agent's prompt shows. */
  readonly fingerprint: string;
  /** For destination-restricted keys: who the signature logs in as, and where. */
  readonly destination?: { readonly username: string; readonly hostname: string };
}

/** Options of {@link AgentKeyring}. */
export interface AgentKeyringOptions {
  /**
   * Milliseconds since the epoch; default `Date.now` (certificate validity), with key
   * lifetimes on the monotonic clock (`performance.now`) as OpenSSH's `monotime()`: setting
   * the wall clock back does not lengthen a lifetime. Tests inject a virtual clock, which
   * then serves both.
   */
  readonly now?: () => number;
  /** Randomness for lock salts and RSA blinding; default the platform CSPRNG. */
  readonly random?: RandomSource;
  /**
   * Asked before each signature with a key added with the confirm constraint.
   * Default: refuse (as ssh-agent without an askpass program).
   */
  readonly confirm?: (request: ConfirmRequest) => boolean | Promise<boolean>;
  /** Waits `ms` (after a failed unlock, as OpenSSH); default: no wait. The io layer passes a timer. */
  readonly delay?: (ms: number) => Promise<void>;
  /**
   * Extensions besides `query` and `session-bind@openssh.com`: each gets the
   * request contents and returns the response contents (sent as
   * SSH_AGENT_EXTENSION_RESPONSE), true (SSH_AGENT_SUCCESS) or false
   * (SSH_AGENT_EXTENSION_FAILURE).
   */
  readonly extensions?: Readonly<
    Record<string, (contents: Uint8Array) => Uint8Array | boolean | Promise<Uint8Array | boolean>>
  >;
}

/** Options for {@link AgentKeyring.add}. */
export interface AgentAddOptions {
  /** Comment shown by `ssh-add -l`; default the key's (or certificate's) comment. */
  readonly comment?: string;
  /** Forget the key after this many seconds. */
  readonly lifetime?: number;
  /** Ask the confirm hook before each signature. */
  readonly confirm?: boolean;
  /** Where the key may be used (`ssh-add -h`); default anywhere. */
  readonly destinations?: readonly DestinationConstraint[];
}

/** A key the agent holds, as {@link AgentKeyring.list} returns it. */
export interface AgentKeyInfo {
  /** The public key or certificate blob, as listed to clients. */
  readonly keyBlob: Uint8Array;
  /** The comment shown to clients. */
  readonly comment: string;
  /** The key (public part). */
  readonly key: SSHKey;
  /** The certificate, when the identity is one. */
  readonly certificate: SSHCertificate | undefined;
  /** When it will be forgotten (ms since the epoch), if it has a lifetime. */
  readonly expiresAt: number | undefined;
  /** Whether each signature asks the confirm hook. */
  readonly confirm: boolean;
  /** Where it may be used; empty: anywhere. */
  readonly destinations: readonly DestinationConstraint[];
}

interface Entry {
  pair: SSHKeyPair;
  blob: Uint8Array;
  comment: string;
  expiresAt: number | undefined;
  confirm: boolean;
  destinations: readonly DestinationConstraint[];
}

/**
 * One client connection's state: its `session-bind@openssh.com` bindings. Create
 * one per connection and pass it to {@link AgentKeyring.handleRequest}.
 *
 * @example
 * ```ts
 * import { AgentConnectionState } from "./keyring.ts";
 * const state = new AgentConnectionState();
 * console.log(state.bindings.length, state.bindFailed); // 0 false
 * ```
 */
export class AgentConnectionState {
  /** Bindings recorded, oldest (the first hop) first. */
  readonly bindings: SessionBinding[] = [];
  /** A session-bind was attempted and failed: constrained keys are then hidden. */
  bindAttempted = false;

  /** True when a bind was attempted but none was recorded. */
  get bindFailed(): boolean {
    return this.bindAttempted && this.bindings.length === 0;
  }
}

function toPair(key: SSHKey | SSHKeyPair): SSHKeyPair {
  return key instanceof SSHKeyPair ? key : new SSHKeyPair(key);
}

function blobOf(key: SSHKey | SSHCertificate | SSHKeyPair | Uint8Array): Uint8Array {
  if (key instanceof Uint8Array) return key;
  if (key instanceof SSHKeyPair) return key.publicKeyBlob;
  if (key instanceof SSHCertificate) return key.blob;
  return key.publicBlob;
}

/**
 * The keys of an agent and the rules it applies. Use it directly, serve it over
 * any byte stream with `AgentServerConnection`, or (in io/) as `SSHAgent`, which
 * listens on a UNIX socket.
 *
 * @example Hold a key for a minute and sign with it
 * ```ts
 * import { generatePrivateKey } from "../keys/generate.ts";
 * import { AgentKeyring } from "./keyring.ts";
 * const ring = new AgentKeyring();
 * const key = generatePrivateKey("ed25519", { comment: "ci" });
 * ring.add(key, { lifetime: 60 });
 * const sig = await ring.sign(key.publicBlob, new TextEncoder().encode("hi"));
 * console.log(ring.list()[0]?.comment, key.verify(new TextEncoder().encode("hi"), sig)); // "ci" true
 * ```
 */
export class AgentKeyring {
  readonly #entries: Entry[] = [];
  readonly #now: () => number;
  /** The clock lifetimes count on (monotonic unless a test injects `now`). */
  readonly #elapsed: () => number;
  readonly #random: RandomSource;
  readonly #confirm: AgentKeyringOptions["confirm"];
  readonly #delay: AgentKeyringOptions["delay"];
  readonly #extensions: NonNullable<AgentKeyringOptions["extensions"]>;
  #lock: { salt: Uint8Array; hash: Uint8Array } | undefined;
  #failedUnlocks = 0;
  /** Served unlock attempts, one after another: each waits out the back-off of those before. */
  #unlockQueue: Promise<unknown> = Promise.resolve();

  /** Creates an empty keyring. */
  constructor(options: AgentKeyringOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#elapsed = options.now ?? (() => performance.now());
    this.#random = options.random ?? systemRandom;
    this.#confirm = options.confirm;
    this.#delay = options.delay;
    this.#extensions = options.extensions ?? {};
  }

  /**
   * Whether the agent is locked (it then lists no keys and refuses to sign).
   *
   * @example
   * ```ts
   * import { AgentKeyring } from "./keyring.ts";
   * console.log(new AgentKeyring().locked); // false
   * ```
   */
  get locked(): boolean {
    return this.#lock !== undefined;
  }

  /**
   * Adds a private key (with its certificate, as an `SSHKeyPair`), or updates
   * the comment and constraints of one already held. Throws {@link AgentError}
   * for a key that cannot sign or a full keyring.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../keys/generate.ts";
   * import { AgentKeyring } from "./keyring.ts";
   * const ring = new AgentKeyring();
   * ring.add(generatePrivateKey("ecdsa"), { comment: "laptop", confirm: true });
   * console.log(ring.list()[0]?.confirm); // true
   * ```
   */
  add(key: SSHKey | SSHKeyPair, options: AgentAddOptions = {}): void {
    this.#add(toPair(key), options, undefined);
  }

  #add(
    pair: SSHKeyPair,
    options: AgentAddOptions,
    state: AgentConnectionState | undefined,
  ): boolean {
    this.#prune();
    const material = pair.key.material;
    if (material.type !== "ed25519" && material.type !== "ecdsa" && material.type !== "rsa") {
      throw new AgentError("unsupported", `Cannot hold a ${pair.keyType} key: it cannot sign`);
    }
    if (options.lifetime !== undefined) {
      if (!Number.isInteger(options.lifetime) || options.lifetime < 1) {
        throw new AgentError(
          "malformed",
          `Lifetime ${options.lifetime} is not a whole number >= 1`,
        );
      }
    }
    const blob = pair.publicKeyBlob;
    const entry: Entry = {
      pair,
      blob,
      comment: options.comment ?? pair.getComment(),
      expiresAt: options.lifetime === undefined
        ? undefined
        : this.#elapsed() + options.lifetime * 1000,
      confirm: options.confirm ?? false,
      destinations: options.destinations ?? [],
    };
    const i = this.#entries.findIndex((e) => equalBytes(e.blob, blob));
    if (i >= 0) {
      // A key this connection cannot see cannot be replaced through it.
      if (state && !this.#visible(this.#entries[i]!, state)) return false;
      this.#entries[i] = entry;
      return true;
    }
    if (this.#entries.length >= MAX_AGENT_KEYS) {
      throw new AgentError("failure", `The agent holds ${MAX_AGENT_KEYS} keys already`);
    }
    this.#entries.push(entry);
    return true;
  }

  /**
   * Removes a key (by key, certificate, pair or blob). Returns whether it was held.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../keys/generate.ts";
   * import { AgentKeyring } from "./keyring.ts";
   * const ring = new AgentKeyring(), key = generatePrivateKey("ed25519");
   * ring.add(key);
   * console.log(ring.remove(key), ring.remove(key)); // true false
   * ```
   */
  remove(key: SSHKey | SSHCertificate | SSHKeyPair | Uint8Array): boolean {
    return this.#remove(blobOf(key), undefined);
  }

  #remove(blob: Uint8Array, state: AgentConnectionState | undefined): boolean {
    this.#prune();
    const i = this.#entries.findIndex((e) => equalBytes(e.blob, blob));
    if (i < 0) return false;
    if (state && !this.#visible(this.#entries[i]!, state)) return false;
    this.#entries.splice(i, 1);
    return true;
  }

  /**
   * Removes every key; returns how many there were.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../keys/generate.ts";
   * import { AgentKeyring } from "./keyring.ts";
   * const ring = new AgentKeyring();
   * ring.add(generatePrivateKey("ed25519"));
   * console.log(ring.removeAll()); // 1
   * ```
   */
  removeAll(): number {
    const n = this.#entries.length;
    this.#entries.length = 0;
    return n;
  }

  /**
   * The keys held (expired ones are forgotten first). A locked agent still
   * lists here; clients see none.
   *
   * @example
   * ```ts
   * import { AgentKeyring } from "./keyring.ts";
   * console.log(new AgentKeyring().list()); // []
   * ```
   */
  list(): AgentKeyInfo[] {
    this.#prune();
    return this.#entries.map((e) => ({
      keyBlob: e.blob,
      comment: e.comment,
      key: e.pair.key.publicKey(),
      certificate: e.pair.certificate,
      // Counted on the monotonic clock; said as a wall-clock time.
      expiresAt: e.expiresAt === undefined
        ? undefined
        : this.#now() + (e.expiresAt - this.#elapsed()),
      confirm: e.confirm,
      destinations: e.destinations,
    }));
  }

  /**
   * Locks the agent with a passphrase (not empty). Returns false when already
   * locked.
   *
   * @example
   * ```ts
   * import { AgentKeyring } from "./keyring.ts";
   * const ring = new AgentKeyring();
   * console.log(ring.lock("pw"), ring.locked, ring.unlock("no"), ring.unlock("pw")); // true true false true
   * ```
   */
  lock(passphrase: string | Uint8Array): boolean {
    const pw = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
    if (this.#lock || pw.length === 0) return false;
    const salt = this.#random(16);
    this.#lock = { salt, hash: lockHash(salt, pw) };
    return true;
  }

  /**
   * Unlocks the agent; false for a wrong passphrase or an agent not locked.
   * (Served requests also wait after a wrong passphrase, growing 0.1 s per
   * failure up to 10 s, as OpenSSH, when a `delay` was given; served unlocks
   * queue behind one another across all connections, so every attempt waits out
   * the back-off of the failures before it.)
   *
   * @example
   * ```ts
   * import { AgentKeyring } from "./keyring.ts";
   * console.log(new AgentKeyring().unlock("pw")); // false: not locked
   * ```
   */
  unlock(passphrase: string | Uint8Array): boolean {
    const pw = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
    if (!this.#lock || pw.length === 0) return false;
    const hash = lockHash(this.#lock.salt, pw);
    if (!equalBytes(hash, this.#lock.hash)) {
      if (this.#failedUnlocks < UNLOCK_DELAY_MAX_FAILURES) this.#failedUnlocks++;
      return false;
    }
    this.#lock = undefined;
    this.#failedUnlocks = 0;
    return true;
  }

  /**
   * Signs `data` with a held key, as a local client would have it signed:
   * confirm is asked, lifetimes apply, destination-restricted keys refuse (they
   * sign only on bound connections). `flags` picks RSA's hash
   * ({@link AgentSignFlag}); default SHA-1 (`ssh-rsa`), as the protocol says.
   * Throws {@link AgentError} (`"failure"`) when it cannot.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../keys/generate.ts";
   * import { AgentKeyring } from "./keyring.ts";
   * import { AgentSignFlag } from "./protocol.ts";
   * const ring = new AgentKeyring(), key = generatePrivateKey("ed25519");
   * ring.add(key);
   * const sig = await ring.sign(key.publicBlob, Uint8Array.of(1), AgentSignFlag.RSA_SHA2_512);
   * console.log(sig.length); // 83
   * ```
   */
  async sign(keyBlob: Uint8Array, data: Uint8Array, flags = 0): Promise<Uint8Array> {
    const r = await this.#sign(keyBlob, data, flags, new AgentConnectionState());
    if (r.type !== "signResponse") throw new AgentError("failure", "The agent refused to sign");
    return r.signature;
  }

  /**
   * Answers one request from one connection, as ssh-agent would. Never throws
   * for a request it cannot honour: it answers failure.
   *
   * @example
   * ```ts
   * import { AgentConnectionState, AgentKeyring } from "./keyring.ts";
   * const ring = new AgentKeyring();
   * const reply = await ring.handleRequest({ type: "requestIdentities" }, new AgentConnectionState());
   * console.log(reply); // { type: "identities", identities: [] }
   * ```
   */
  async handleRequest(req: AgentRequest, state: AgentConnectionState): Promise<AgentReply> {
    try {
      return await this.#handle(req, state);
    } catch (e) {
      if (e instanceof AgentError) return FAILURE;
      throw e;
    }
  }

  async #handle(req: AgentRequest, state: AgentConnectionState): Promise<AgentReply> {
    if (this.#lock && req.type !== "unlock") {
      if (req.type === "requestIdentities") return { type: "identities", identities: [] };
      if (req.type === "extension") {
        // A locked agent still binds sessions, so new forwarded channels work after unlock.
        return req.name === SESSION_BIND_EXTENSION
          ? this.#sessionBind(req.contents, state)
          : FAILURE;
      }
      return FAILURE;
    }
    switch (req.type) {
      case "requestIdentities": {
        this.#prune();
        const identities = this.#entries.filter((e) => this.#visible(e, state)).map((e) => ({
          keyBlob: e.blob,
          comment: e.comment,
        }));
        return { type: "identities", identities };
      }
      case "sign":
        return await this.#sign(req.keyBlob, req.data, req.flags, state);
      case "addIdentity": {
        const options = constraintsToOptions(req.constraints);
        if (!options) return FAILURE;
        return status(this.#add(req.key, { ...options, comment: req.comment }, state));
      }
      case "removeIdentity":
        return status(this.#remove(req.keyBlob, state));
      case "removeAllIdentities":
        this.removeAll();
        return SUCCESS;
      case "lock":
        return status(this.lock(req.passphrase));
      case "unlock": {
        // One keyring-wide queue, as OpenSSH's agent sleeps in its only thread: an attempt
        // is checked only once the back-off of every failure before it has passed, whichever
        // connection (a socket, a forwarded channel) it came on, so parallel guesses wait too.
        const attempt = this.#unlockQueue.then(async () => {
          const ok = this.unlock(req.passphrase);
          if (!ok && this.#lock && this.#delay) {
            await this.#delay(UNLOCK_DELAY_STEP_MS * this.#failedUnlocks);
          }
          return ok;
        });
        this.#unlockQueue = attempt.catch(() => {});
        return status(await attempt);
      }
      case "extension":
        return await this.#extension(req.name, req.contents, state);
      default:
        // Smartcards (no PKCS#11 here) and unknown messages.
        return FAILURE;
    }
  }

  async #extension(
    name: string,
    contents: Uint8Array,
    state: AgentConnectionState,
  ): Promise<AgentReply> {
    if (name === SESSION_BIND_EXTENSION) return this.#sessionBind(contents, state);
    if (name === QUERY_EXTENSION) {
      return {
        type: "extensionResponse",
        name: QUERY_EXTENSION,
        contents: encodeQueryReply([
          QUERY_EXTENSION,
          SESSION_BIND_EXTENSION,
          ...Object.keys(this.#extensions),
        ]),
      };
    }
    const handler = Object.hasOwn(this.#extensions, name) ? this.#extensions[name] : undefined;
    if (!handler) return FAILURE;
    let result: Uint8Array | boolean;
    try {
      result = await handler(contents);
    } catch {
      return { type: "extensionFailure" };
    }
    if (result === true) return SUCCESS;
    if (result === false) return { type: "extensionFailure" };
    return { type: "extensionResponse", name, contents: result };
  }

  #sessionBind(contents: Uint8Array, state: AgentConnectionState): AgentReply {
    state.bindAttempted = true;
    let bind;
    let hostKey: SSHKey | SSHCertificate;
    try {
      bind = decodeSessionBind(contents);
      hostKey = parseKeyOrCertificate(bind.hostKeyBlob);
    } catch {
      return { type: "extensionFailure" };
    }
    if (bind.sessionId.length > MAX_SESSION_ID) return { type: "extensionFailure" };
    const verifier = hostKey instanceof SSHCertificate ? hostKey.key : hostKey;
    // The host may have signed the exchange with legacy ssh-rsa: accept what the KEX accepted.
    const ok = verifier.verify(bind.sessionId, bind.signature, {
      allowedAlgorithms: [...verifier.getSigAlgorithms(), "ssh-rsa"],
    });
    if (!ok) return { type: "extensionFailure" };
    for (const b of state.bindings) {
      if (!b.forwarded) return { type: "extensionFailure" }; // bound for authentication already
      const sameSid = equalBytes(b.sessionId, bind.sessionId);
      const sameKey = equalBytes(b.hostKeyBlob, bind.hostKeyBlob);
      if (sameSid && sameKey) return SUCCESS; // already recorded
      if (sameSid) return { type: "extensionFailure" };
    }
    if (state.bindings.length >= MAX_SESSION_BINDINGS) return { type: "extensionFailure" };
    state.bindings.push({
      hostKey,
      hostKeyBlob: bind.hostKeyBlob,
      sessionId: bind.sessionId,
      forwarded: bind.isForwarding,
    });
    return SUCCESS;
  }

  async #sign(
    keyBlob: Uint8Array,
    data: Uint8Array,
    flags: number,
    state: AgentConnectionState,
  ): Promise<AgentReply> {
    this.#prune();
    const e = this.#entries.find((x) => equalBytes(x.blob, keyBlob));
    if (!e) return FAILURE;
    let destination: ConfirmRequest["destination"];
    if (e.destinations.length > 0) {
      const b = state.bindings;
      if (b.length === 0) return FAILURE; // constrained keys sign only on bound connections
      const info = parseUserauthRequest(data, e.pair.keyType, e.blob);
      if (!info) return FAILURE;
      if (!identityPermitted(e.destinations, b, state.bindFailed, info.username, this.#now())) {
        return FAILURE;
      }
      const last = b[b.length - 1]!;
      // Signed for the session bound last, and for its host key.
      if (!equalBytes(info.sessionId, last.sessionId)) return FAILURE;
      if (b.length > 1 && info.hostKeyBlob === undefined) return FAILURE;
      if (info.hostKeyBlob && !equalBytes(info.hostKeyBlob, last.hostKeyBlob)) return FAILURE;
      const to = e.destinations.find((d) =>
        d.to.hostKeys.some((k) => equalBytes(k.keyBlob, last.hostKeyBlob))
      );
      destination = { username: info.username, hostname: to?.to.hostname ?? "" };
    }
    if (e.confirm) {
      const request: ConfirmRequest = {
        key: e.pair.key.publicKey(),
        certificate: e.pair.certificate,
        comment: e.comment,
        fingerprint: e.pair.key.getFingerprint(),
        ...(destination ? { destination } : {}),
      };
      let ok = false;
      try {
        ok = (await this.#confirm?.(request)) === true;
      } catch {
        ok = false;
      }
      if (!ok) return FAILURE;
      // The key may have expired or been removed, or the agent locked, while the user
      // decided (requests run side by side here, where OpenSSH's agent takes one at a time).
      if (!this.#entries.includes(e) || this.#expired(e) || this.#lock) return FAILURE;
    }
    const algorithm = signatureAlgorithm(e.pair, flags);
    try {
      return { type: "signResponse", signature: e.pair.key.sign(data, algorithm, this.#random) };
    } catch {
      return FAILURE;
    }
  }

  #visible(e: Entry, state: AgentConnectionState): boolean {
    return identityPermitted(
      e.destinations,
      state.bindings,
      state.bindFailed,
      undefined,
      this.#now(),
    );
  }

  #expired(e: Entry): boolean {
    return e.expiresAt !== undefined && e.expiresAt <= this.#elapsed();
  }

  /** Forgets expired keys. */
  #prune(): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#expired(this.#entries[i]!)) this.#entries.splice(i, 1);
    }
  }
}

const SUCCESS: AgentReply = Object.freeze({ type: "success", contents: new Uint8Array(0) });
const FAILURE: AgentReply = Object.freeze({ type: "failure", code: 5 });

function status(ok: boolean): AgentReply {
  return ok ? SUCCESS : FAILURE;
}

/** The signature algorithm the flags ask of this key (plain: the signature blob names it). */
function signatureAlgorithm(pair: SSHKeyPair, flags: number): string {
  if (pair.key.material.type !== "rsa") return pair.key.getSigAlgorithms()[0]!;
  if (flags & AgentSignFlag.RSA_SHA2_256) return "rsa-sha2-256";
  if (flags & AgentSignFlag.RSA_SHA2_512) return "rsa-sha2-512";
  return "ssh-rsa";
}

/** Constraints as add options; undefined when one cannot be honoured (answer failure). */
function constraintsToOptions(
  constraints: readonly KeyConstraint[],
): Omit<AgentAddOptions, "comment"> | undefined {
  let lifetime: number | undefined;
  let confirm = false;
  let destinations: readonly DestinationConstraint[] | undefined;
  for (const c of constraints) {
    switch (c.type) {
      case "lifetime":
        lifetime = c.seconds;
        break;
      case "confirm":
        confirm = true;
        break;
      case "restrictDestination":
        destinations = c.constraints;
        break;
      default:
        // Security-key providers, smartcard certificates and unknown extensions.
        return undefined;
    }
  }
  return {
    ...(lifetime !== undefined ? { lifetime } : {}),
    confirm,
    ...(destinations ? { destinations } : {}),
  };
}
