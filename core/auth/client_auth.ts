/**
 * Client user authentication (RFC 4252, RFC 4256, RFC 4253 §10): none, publickey,
 * keyboard-interactive, password (with password change) and hostbased.
 *
 * Anything the engine cannot decide alone is an event with an id — a signature,
 * a password, prompt answers — and the flow waits for the matching answer, so an
 * agent, a hardware key or a human can answer later.
 *
 * @module
 */

import { DisconnectError, DisconnectReason, LocalProtocolError, protocolError } from "../errors.ts";
import { readPeerText } from "../peer_text.ts";
import { Msg } from "../transport/messages.ts";
import { equalBytes, SSHReader, SSHWriter } from "../wire.ts";
import {
  MAX_CLIENT_AUTH_REQUESTS,
  MAX_KBDINT_PROMPTS,
  MAX_KBDINT_ROUNDS,
  MAX_KEY_BLOB,
  MAX_NAME,
  MAX_PASSWORD_CHANGES,
  MAX_SHORT_NAME,
  MAX_TEXT,
} from "../limits.ts";

/** A public key the client can authenticate with; the signature is requested by event. */
export interface ClientPublicKey {
  /** Key type as in the blob, e.g. "ssh-ed25519", "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com". */
  readonly keyType: string;
  /** The public key (or certificate) blob. */
  readonly publicKeyBlob: Uint8Array;
  /**
   * Ask the server whether it accepts the key before signing (needed when signing is
   * costly or interactive, e.g. an agent with confirmation). Default false: sign at once.
   */
  readonly query?: boolean;
}

/** A host key for hostbased authentication; its signature is requested by event. */
export interface ClientHostKey {
  /** Key type as in the blob, e.g. "ecdsa-sha2-nistp256". */
  readonly keyType: string;
  /** The host's public key (or certificate) blob. */
  readonly publicKeyBlob: Uint8Array;
  /** The client host's name (FQDN), as the server will look it up. */
  readonly clientHostname: string;
  /** The local user name on the client host. */
  readonly clientUsername: string;
}

/** What the client may try, and in which order. */
export interface ClientAuthOptions {
  /** The user to log in as. */
  readonly username: string;
  /** User keys to try, in order; their signatures are requested by event. */
  readonly publicKeys?: readonly ClientPublicKey[];
  /** Host keys for hostbased authentication. */
  readonly hostKeys?: readonly ClientHostKey[];
  /** The caller can answer `authPasswordRequest` events. */
  readonly password?: boolean;
  /** The caller can answer `authKbdintRequest` events. */
  readonly keyboardInteractive?: boolean;
  /** Keyboard-interactive submethods hint (RFC 4256, comma-separated, e.g. "pam"); default "". */
  readonly kbdintSubmethods?: string;
  /** Method preference; default hostbased, publickey, keyboard-interactive, password (as OpenSSH). */
  readonly preferredMethods?: readonly string[];
  /**
   * How many password (and keyboard-interactive) attempts to make on the connection, each
   * counted once whatever partial successes come between. Default 3, as OpenSSH.
   */
  readonly maxPasswordAttempts?: number;
  /**
   * Staged authentication (libssh2's `userauth_*` one call at a time): after
   * the "none" request and after each attempt, emit `authReady` and wait for
   * {@link ClientAuth.tryMethod} instead of choosing the next method here.
   */
  readonly staged?: boolean;
  /**
   * Signature algorithms the client may use (e.g. only "rsa-sha2-512" of the
   * RSA ones); certificate forms follow their plain algorithm. Default: all but
   * "ssh-rsa" (RSA with SHA-1), which is used only when named here, even if the
   * server's server-sig-algs lists nothing else.
   */
  readonly signatureAlgorithms?: readonly string[];
}

/** One staged attempt for {@link ClientAuth.tryMethod}. */
export type StagedAuthAttempt =
  | { readonly method: "none" }
  | { readonly method: "password" }
  | { readonly method: "keyboard-interactive"; readonly submethods?: string }
  | { readonly method: "publickey"; readonly key: ClientPublicKey }
  | { readonly method: "hostbased"; readonly key: ClientHostKey };

/** Events of client authentication. */
export type ClientAuthEvent =
  | { readonly type: "authBanner"; readonly message: string; readonly language: string }
  | {
    readonly type: "authSignRequest";
    readonly id: number;
    /** "publickey" or "hostbased". */
    readonly method: string;
    /** Index into publicKeys (or hostKeys for hostbased). */
    readonly keyIndex: number;
    /** Signature algorithm to use, e.g. "rsa-sha2-512". */
    readonly algorithm: string;
    /** The bytes to sign. */
    readonly data: Uint8Array;
  }
  | {
    readonly type: "authPasswordRequest";
    readonly id: number;
    /** 1 for the first try. */
    readonly attempt: number;
  }
  | {
    readonly type: "authPasswordChangeRequest";
    readonly id: number;
    readonly prompt: string;
    readonly language: string;
  }
  | {
    /**
     * The server accepted the new password sent for an `authPasswordChangeRequest`
     * (it answered SUCCESS, or FAILURE with partial success: RFC 4252 §8).
     */
    readonly type: "authPasswordChanged";
  }
  | {
    /**
     * The server did not accept the new password: it refused the request
     * (`reason` "refused"), or asked for another change (`reason` "retry", with
     * its new `prompt`; an `authPasswordChangeRequest` follows).
     */
    readonly type: "authPasswordChangeFailed";
    readonly reason: "refused" | "retry";
    /** The server's new prompt when `reason` is "retry"; "" otherwise. */
    readonly prompt: string;
  }
  | {
    readonly type: "authKbdintRequest";
    readonly id: number;
    readonly name: string;
    readonly instruction: string;
    readonly prompts: readonly { readonly prompt: string; readonly echo: boolean }[];
  }
  | {
    readonly type: "authFailure";
    readonly method: string;
    readonly partialSuccess: boolean;
    readonly allowedMethods: readonly string[];
  }
  | {
    /**
     * The server accepted us. `method` is the method of the last USERAUTH_REQUEST
     * sent; `trivial` is true when no credential ever went out (only "none", public
     * key queries, or keyboard-interactive without an answered prompt: AsyncSSH's
     * `_auth_was_trivial`), so the server would let anyone in.
     *
     * @example
     * ```ts ignore
     * if (e.type === "authSuccess" && e.trivial) engine.disconnect(DisconnectReason.BY_APPLICATION);
     * ```
     */
    readonly type: "authSuccess";
    readonly method: string;
    readonly trivial: boolean;
  }
  | {
    /** Staged mode: the last attempt ended without success; call `tryMethod` (or give up). */
    readonly type: "authReady";
    /** The method last tried ("none" first). */
    readonly method: string;
    /** Whether the server accepted the last method but wants more (RFC 4252 §5.1). */
    readonly partialSuccess: boolean;
    /** The methods that can continue. */
    readonly allowedMethods: readonly string[];
  };

const DEFAULT_METHODS = ["hostbased", "publickey", "keyboard-interactive", "password"];
/** OpenSSH's host-bound public key method (PROTOCOL §2.5): the request also names the host key. */
const PUBLICKEY_HOSTBOUND = "publickey-hostbound-v00@openssh.com";

/** Shared, never-written lists: an authenticated connection holds none of its own. */
const NO_METHODS: readonly string[] = Object.freeze([]);
const PUBLICKEY_ONLY: readonly string[] = Object.freeze(["publickey"]);
const NO_KEYS: readonly never[] = Object.freeze([]);
/** Cap on prompts in one keyboard-interactive request (OpenSSH allows 100 too). */

type Pending =
  | {
    kind: "sign";
    id: number;
    method: "publickey" | "hostbased";
    index: number;
    algorithm: string;
  }
  | { kind: "password"; id: number }
  | { kind: "passwordChange"; id: number }
  | { kind: "kbdint"; id: number; count: number }
  | null;

/** Hooks into the engine. */
export interface ClientAuthHost {
  send(payload: Uint8Array): void;
  emit(event: ClientAuthEvent): void;
  sessionId(): Uint8Array;
  /** Signature algorithms the server announced in server-sig-algs, if any. */
  serverSigAlgs(): readonly string[] | undefined;
  /**
   * The server's host key blob when it offers `publickey-hostbound-v00@openssh.com`
   * (then public key requests use that method and name the host key), else undefined.
   */
  hostBoundKey?(): Uint8Array | undefined;
  /**
   * Sends one SSH_MSG_IGNORE to carry a prompt TCP ACK while a request awaits its
   * answer, where that is safe (not under delayed compression). Optional: without it,
   * no nudge.
   */
  nudgeAck?(): void;
  /** Called once on USERAUTH_SUCCESS. */
  onSuccess(): void;
  /** Called when every method is exhausted. */
  onFailure(error: DisconnectError): void;
}

/** The client authentication state machine. */
export class ClientAuth {
  readonly #o: ClientAuthOptions;
  readonly #host: ClientAuthHost;
  #state: "idle" | "serviceRequested" | "inProgress" | "done" = "idle";
  /** The method being tried ("none", "publickey", ...), perhaps not sent yet. */
  #current = "";
  /** The method of the last USERAUTH_REQUEST sent; "" before the first. */
  #lastSent = "";
  /**
   * The method of the request the server has still to answer (PK_OK, PASSWD_CHANGEREQ and
   * INFO_REQUEST answer it too), or null: message 60 is taken only in that method's sense.
   */
  #awaiting: string | null = null;
  /** A credential went out: a signature, a password, or a keyboard-interactive answer. */
  #credentialSent = false;
  /** USERAUTH_REQUESTs sent (see MAX_CLIENT_AUTH_REQUESTS). */
  #requests = 0;
  /** INFO_REQUESTs in this keyboard-interactive attempt (see MAX_KBDINT_ROUNDS). */
  #kbdintRounds = 0;
  /** PASSWD_CHANGEREQs in this password attempt (see MAX_PASSWORD_CHANGES). */
  #changeRequests = 0;
  #allowed: readonly string[] = NO_METHODS;
  #partial = false;
  /** Keys for publickey and hostbased: the options' plus staged ones. */
  /** Dropped once authenticated (see #release). */
  #publicKeys: ClientPublicKey[];
  #hostKeys: ClientHostKey[];
  #tried: string[] | undefined;
  #keyIndex = 0;
  #hostKeyIndex = 0;
  #passwordAttempts = 0;
  #kbdintAttempts = 0;
  #pending: Pending = null;
  /** Staged mode: an attempt was made and its outcome is not known yet. */
  #inFlight = false;
  #nextId = 1;
  /** The key and algorithm of a query in flight (PK_OK names them). */
  #querying: { index: number; algorithm: string } | null = null;
  /** The first request was pipelined: SERVICE_ACCEPT is still to come. */
  #acceptPending = false;
  /** A password change request was sent; its outcome is the server's next answer. */
  #changeSent = false;
  /**
   * The key of the first request when it went out in place of the "none" probe (see
   * #publickeyFirst), until the server answered it: a FAILURE that does not list publickey
   * judged no key (sshd's AuthenticationMethods "password,publickey" refuses the method at
   * that stage), so the key is offered again once publickey may continue.
   */
  #unprobedKey: number | null = null;

  /** Creates the state machine. */
  constructor(options: ClientAuthOptions, host: ClientAuthHost) {
    this.#o = options;
    this.#host = host;
    this.#publicKeys = [...(options.publicKeys ?? [])];
    this.#hostKeys = [...(options.hostKeys ?? [])];
  }

  /**
   * Staged mode: tries one method now (after an `authReady` event). Signature,
   * password and keyboard-interactive answers are asked by the usual events;
   * `authSuccess` or `authReady` follows.
   */
  tryMethod(attempt: StagedAuthAttempt): void {
    if (!this.#o.staged) throw new LocalProtocolError("tryMethod needs staged authentication");
    if (this.#state !== "inProgress" || this.#pending || this.#inFlight) {
      throw new LocalProtocolError("An authentication attempt is in progress or auth is over");
    }
    if (this.#overBudget()) return;
    this.#inFlight = true;
    switch (attempt.method) {
      case "none":
        return this.#sendRequest("none", new Uint8Array(0));
      case "password": {
        this.#passwordAttempts++;
        this.#current = "password";
        this.#noteTried("password");
        const id = this.#nextId++;
        this.#pending = { kind: "password", id };
        this.#host.emit({ type: "authPasswordRequest", id, attempt: this.#passwordAttempts });
        return;
      }
      case "keyboard-interactive":
        this.#noteTried(attempt.method);
        return this.#sendRequest(
          attempt.method,
          new SSHWriter().writeStringUtf8("").writeStringUtf8(attempt.submethods ?? "").toBytes(),
        );
      case "publickey":
      case "hostbased": {
        const list: (ClientPublicKey | ClientHostKey)[] = attempt.method === "publickey"
          ? this.#publicKeys
          : this.#hostKeys;
        list.push(attempt.key);
        const algorithm = this.#signatureAlgorithm(attempt.key.keyType);
        if (!algorithm) {
          this.#inFlight = false;
          throw new LocalProtocolError(
            `No signature algorithm the server accepts for ${attempt.key.keyType}`,
          );
        }
        this.#current = attempt.method;
        this.#noteTried(attempt.method);
        return this.#requestSignature(attempt.method, list.length - 1, algorithm);
      }
    }
  }

  /** Whether authentication succeeded. */
  get done(): boolean {
    return this.#state === "done";
  }

  /** The methods the server's last USERAUTH_FAILURE listed as able to continue. */
  get allowedMethods(): readonly string[] {
    return this.#allowed;
  }

  /**
   * Sends the first USERAUTH_REQUEST without waiting for SERVICE_ACCEPT (one round trip
   * less), when it is a public key signed at once (see #publickeyFirst). Called once the
   * server's EXT_INFO is in (so server-sig-algs and host-bound support are known); servers
   * handle messages in order, so the request is read after the service request it follows
   * (OpenSSH's sshd, Dropbear and our server do). No-op in any other state.
   */
  pipeline(): void {
    if (this.#state !== "serviceRequested" || !this.#publickeyFirst()) return;
    this.#state = "inProgress";
    this.#acceptPending = true;
    this.#allowed = PUBLICKEY_ONLY;
    this.#next();
  }

  /** Sends the ssh-userauth service request. */
  start(): void {
    if (this.#state !== "idle") return;
    this.#state = "serviceRequested";
    this.#host.send(
      new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-userauth").toBytes(),
    );
  }

  /** Handles SERVICE_ACCEPT and messages 50..79. Returns false for messages it does not own. */
  handleMessage(type: number, payload: Uint8Array): boolean {
    const r = new SSHReader(payload, 1);
    if (type === Msg.SERVICE_ACCEPT) {
      const service = r.readStringAscii("service name", MAX_SHORT_NAME);
      if (this.#acceptPending && service === "ssh-userauth") {
        this.#acceptPending = false; // the first request went out already (see pipeline())
        // Nothing of ours answers SERVICE_ACCEPT, so our kernel would delay its ACK by up to
        // 40 ms, and OpenSSH's sshd (Nagle on before authentication) holds its answer to the
        // pipelined request behind that unacknowledged SERVICE_ACCEPT: one IGNORE carries the
        // ACK now. Not while the request still waits for its signature: it carries the ACK.
        if (this.#pending === null) this.#host.nudgeAck?.();
        return true;
      }
      if (this.#state !== "serviceRequested" || service !== "ssh-userauth") {
        throw protocolError("unexpected-service", `Unexpected SERVICE_ACCEPT for "${service}"`, {
          got: Msg.SERVICE_ACCEPT,
        });
      }
      this.#state = "inProgress";
      if (this.#publickeyFirst()) {
        // Skip the "none" probe (one round trip): its only use is the list of methods, and the
        // key's own USERAUTH_FAILURE carries that list if the key is refused.
        this.#allowed = PUBLICKEY_ONLY;
        this.#next();
      } else this.#sendRequest("none", new Uint8Array(0));
      return true;
    }
    if (type === Msg.USERAUTH_BANNER) {
      const message = readPeerText(r, "banner", MAX_TEXT);
      const language = readPeerText(r, "language tag", MAX_NAME);
      if (this.#state !== "done") this.#host.emit({ type: "authBanner", message, language });
      return true;
    }
    if (type < 50 || type > 79) return false;
    // Nothing answers a request never sent: a SUCCESS there would let us in on no method at all.
    if (this.#state !== "inProgress" || this.#acceptPending || this.#lastSent === "") {
      throw protocolError("unexpected-message", `Unexpected authentication message ${type}`, {
        got: type,
      });
    }
    switch (type) {
      case Msg.USERAUTH_SUCCESS:
        r.assertEnd("USERAUTH_SUCCESS");
        this.#state = "done";
        this.#pending = null;
        this.#awaiting = null;
        this.#release();
        this.#changeOutcome(true);
        // What was sent, not what we were about to send: a SUCCESS that comes while a key is
        // still signing or a password is being asked for is no proof of that credential.
        this.#host.emit({
          type: "authSuccess",
          method: this.#lastSent,
          trivial: !this.#credentialSent,
        });
        this.#host.onSuccess();
        return true;
      case Msg.USERAUTH_FAILURE: {
        const allowed = r.readNameList("authentications that can continue");
        const partialSuccess = r.readBoolean("partial success");
        this.#allowed = allowed;
        this.#partial = partialSuccess;
        this.#changeOutcome(partialSuccess);
        if (this.#lastSent !== "none") {
          this.#host.emit({
            type: "authFailure",
            method: this.#lastSent,
            partialSuccess,
            allowedMethods: allowed,
          });
        }
        // A partial success resets no key index or attempt count (as OpenSSH): the next
        // method continues where the tries stand, so a server answering every request with
        // a partial success cannot have the same credentials sent again and again.
        this.#awaiting = null;
        this.#pending = null;
        this.#querying = null;
        if (
          this.#unprobedKey !== null && !partialSuccess && !allowed.includes("publickey")
        ) this.#keyIndex = this.#unprobedKey;
        this.#unprobedKey = null;
        this.#next();
        return true;
      }
      case Msg.USERAUTH_60:
        this.#on60(r);
        return true;
    }
    throw protocolError("unexpected-message", `Unexpected authentication message ${type}`, {
      got: type,
      expected: ["USERAUTH_SUCCESS", "USERAUTH_FAILURE", "USERAUTH_BANNER", "60"],
    });
  }

  /** Message 60: PK_OK, PASSWD_CHANGEREQ or INFO_REQUEST, by the request it answers. */
  #on60(r: SSHReader): void {
    if (this.#awaiting === "publickey" && this.#querying) {
      const alg = r.readStringAscii("algorithm", MAX_NAME);
      const blob = r.readString("key blob", MAX_KEY_BLOB);
      const q = this.#querying;
      this.#querying = null;
      this.#awaiting = null;
      if (alg !== q.algorithm) {
        throw protocolError("pk-ok-mismatch", `PK_OK names ${alg}, but ${q.algorithm} was asked`);
      }
      // The key asked about, not another (OpenSSH signs only a key of its own that PK_OK names).
      if (!equalBytes(blob, this.#publicKeys[q.index]!.publicKeyBlob)) {
        throw protocolError("pk-ok-mismatch", "PK_OK names a key other than the one asked about");
      }
      this.#requestSignature("publickey", q.index, q.algorithm);
      return;
    }
    // Only as the answer to a password request we sent: old and new password go to whoever
    // asks, so a change request the server slips in while we ask for the password is refused.
    if (this.#awaiting === "password") {
      const prompt = readPeerText(r, "password change prompt", MAX_TEXT);
      const language = readPeerText(r, "language tag", MAX_NAME);
      this.#awaiting = null;
      if (++this.#changeRequests > MAX_PASSWORD_CHANGES) {
        return this.#giveUp(
          `the server asked for a new password more than ${MAX_PASSWORD_CHANGES} times`,
          "too-many-requests",
        );
      }
      if (this.#changeSent) {
        this.#changeSent = false;
        this.#host.emit({ type: "authPasswordChangeFailed", reason: "retry", prompt });
      }
      const id = this.#nextId++;
      this.#pending = { kind: "passwordChange", id };
      this.#host.emit({ type: "authPasswordChangeRequest", id, prompt, language });
      return;
    }
    // A new round only once the last one was answered (RFC 4256 §3.2: the server waits for
    // the INFO_RESPONSE): otherwise the caller's prompt callback would run once per request,
    // all at once, every answer but the last dropped.
    if (this.#awaiting === "keyboard-interactive" && this.#pending?.kind !== "kbdint") {
      const name = readPeerText(r, "name", MAX_TEXT);
      const instruction = readPeerText(r, "instruction", MAX_TEXT);
      r.readString("language tag", MAX_NAME);
      const n = r.readUint32("number of prompts");
      if (n > MAX_KBDINT_PROMPTS) {
        throw protocolError("too-many-prompts", `Keyboard-interactive request with ${n} prompts`);
      }
      const prompts = [];
      for (let i = 0; i < n; i++) {
        prompts.push({
          prompt: readPeerText(r, "prompt", MAX_TEXT),
          echo: r.readBoolean("echo"),
        });
      }
      if (++this.#kbdintRounds > MAX_KBDINT_ROUNDS) {
        return this.#giveUp(
          `the server sent more than ${MAX_KBDINT_ROUNDS} keyboard-interactive rounds`,
          "too-many-requests",
        );
      }
      const id = this.#nextId++;
      this.#pending = { kind: "kbdint", id, count: n };
      this.#host.emit({ type: "authKbdintRequest", id, name, instruction, prompts });
      return;
    }
    throw protocolError("unexpected-message", "Unexpected USERAUTH message 60", { got: 60 });
  }

  /** Answers an `authSignRequest`: the signature blob, or null to skip this key. */
  provideSignature(id: number, signature: Uint8Array | null): void {
    const p = this.#take("sign", id);
    if (!p) return;
    if (!signature) return this.#next();
    if (p.method === "hostbased") {
      const hk = this.#hostKeys[p.index]!;
      this.#sendRequest("hostbased", this.#hostbasedBody(hk, p.algorithm, signature), {
        credential: true,
      });
    } else {
      const key = this.#publicKeys[p.index]!;
      // The first request of all, sent without a "none" probe before it.
      if (this.#lastSent === "") this.#unprobedKey = p.index;
      const hostKey = this.#host.hostBoundKey?.();
      const w = new SSHWriter().writeBoolean(true).writeStringUtf8(p.algorithm)
        .writeString(key.publicKeyBlob);
      if (hostKey) w.writeString(hostKey);
      this.#sendRequest("publickey", w.writeString(signature).toBytes(), {
        hostBound: hostKey !== undefined,
        credential: true,
      });
    }
  }

  /** Answers an `authPasswordRequest`: the password, or null to stop trying passwords. */
  providePassword(id: number, password: string | null): void {
    if (!this.#take("password", id)) return;
    if (password === null) {
      this.#passwordAttempts = Infinity;
      return this.#next();
    }
    this.#changeRequests = 0;
    this.#sendRequest(
      "password",
      new SSHWriter().writeBoolean(false).writeStringUtf8(password).toBytes(),
      { credential: true },
    );
  }

  /** Answers an `authPasswordChangeRequest` with the old and new password, or null to give up. */
  providePasswordChange(
    id: number,
    change: { oldPassword: string; newPassword: string } | null,
  ): void {
    if (!this.#take("passwordChange", id)) return;
    if (!change) {
      this.#passwordAttempts = Infinity;
      return this.#next();
    }
    this.#changeSent = true;
    this.#sendRequest(
      "password",
      new SSHWriter().writeBoolean(true).writeStringUtf8(change.oldPassword).writeStringUtf8(
        change.newPassword,
      )
        .toBytes(),
      { credential: true },
    );
  }

  /** Answers an `authKbdintRequest` with one response per prompt, or null to stop. */
  provideKbdintResponses(id: number, responses: readonly string[] | null): void {
    const p = this.#take("kbdint", id);
    if (!p) return;
    if (!responses) {
      this.#kbdintAttempts = Infinity;
      // RFC 4256 has no cancel message, and a wrong number of responses is fatal to sshd;
      // a new request abandons this one (RFC 4252 §5): the next method, or the end.
      this.#awaiting = null;
      this.#next();
      return;
    }
    if (responses.length !== p.count) {
      throw new LocalProtocolError(
        `Expected ${p.count} keyboard-interactive responses, got ${responses.length}`,
      );
    }
    const w = new SSHWriter().writeByte(Msg.USERAUTH_INFO_RESPONSE).writeUint32(responses.length);
    for (const s of responses) w.writeStringUtf8(s);
    // Only an answered prompt makes keyboard-interactive more than trivial (AsyncSSH's rule).
    if (responses.length > 0) this.#credentialSent = true;
    this.#host.send(w.toBytes());
  }

  /**
   * Takes the pending request `id`. An id that was issued but is no longer pending
   * (the peer's input moved the flow on before the caller answered) gives
   * undefined: the late answer is dropped. An id never issued is misuse.
   */
  #take<K extends NonNullable<Pending>["kind"]>(
    kind: K,
    id: number,
  ): Extract<NonNullable<Pending>, { kind: K }> | undefined {
    const p = this.#pending;
    if (!p || p.kind !== kind || p.id !== id) {
      if (id > 0 && id < this.#nextId) return undefined;
      throw new LocalProtocolError(`No ${kind} request with id ${id} was issued`);
    }
    this.#pending = null;
    return p as Extract<NonNullable<Pending>, { kind: K }>;
  }

  /** Picks the next thing to try after a failure. */
  #next(): void {
    if (this.#overBudget()) return;
    if (this.#o.staged) {
      this.#inFlight = false;
      this.#host.emit({
        type: "authReady",
        method: this.#current,
        partialSuccess: this.#partial,
        allowedMethods: this.#allowed,
      });
      return;
    }
    const order = this.#o.preferredMethods ?? DEFAULT_METHODS;
    const maxPw = this.#o.maxPasswordAttempts ?? 3;
    for (const method of order) {
      if (!this.#allowed.includes(method)) continue;
      if (method === "publickey") {
        const keys = this.#publicKeys;
        while (this.#keyIndex < keys.length) {
          const index = this.#keyIndex++;
          const key = keys[index]!;
          const algorithm = this.#signatureAlgorithm(key.keyType);
          if (!algorithm) continue;
          this.#current = "publickey";
          this.#noteTried("publickey");
          if (key.query) {
            this.#querying = { index, algorithm };
            const hostKey = this.#host.hostBoundKey?.();
            const w = new SSHWriter().writeBoolean(false).writeStringUtf8(algorithm)
              .writeString(key.publicKeyBlob);
            if (hostKey) w.writeString(hostKey);
            this.#sendRequest("publickey", w.toBytes(), { hostBound: hostKey !== undefined });
          } else {
            this.#requestSignature("publickey", index, algorithm);
          }
          return;
        }
      } else if (method === "hostbased") {
        const keys = this.#hostKeys;
        if (this.#hostKeyIndex < keys.length) {
          const index = this.#hostKeyIndex++;
          const algorithm = this.#signatureAlgorithm(keys[index]!.keyType);
          if (!algorithm) return this.#next();
          this.#current = "hostbased";
          this.#noteTried("hostbased");
          this.#requestSignature("hostbased", index, algorithm);
          return;
        }
      } else if (method === "keyboard-interactive") {
        if (this.#o.keyboardInteractive && this.#kbdintAttempts < maxPw) {
          this.#kbdintAttempts++;
          this.#current = "keyboard-interactive";
          this.#noteTried(method);
          this.#sendRequest(
            method,
            new SSHWriter().writeStringUtf8("").writeStringUtf8(this.#o.kbdintSubmethods ?? "")
              .toBytes(),
          );
          return;
        }
      } else if (method === "password") {
        if (this.#o.password && this.#passwordAttempts < maxPw) {
          this.#passwordAttempts++;
          this.#current = "password";
          this.#noteTried(method);
          const id = this.#nextId++;
          this.#pending = { kind: "password", id };
          this.#host.emit({ type: "authPasswordRequest", id, attempt: this.#passwordAttempts });
          return;
        }
      }
    }
    this.#giveUp(
      `the server accepts ${this.#allowed.join(",") || "nothing more"}`,
      "auth-methods-exhausted",
    );
  }

  /**
   * Whether the connection has had its MAX_CLIENT_AUTH_REQUESTS; then authentication ends
   * (before a signature or password is asked for a request that could not go out).
   */
  #overBudget(): boolean {
    if (this.#requests < MAX_CLIENT_AUTH_REQUESTS) return false;
    this.#giveUp(
      `${MAX_CLIENT_AUTH_REQUESTS} authentication requests sent without success`,
      "too-many-requests",
    );
    return true;
  }

  /** Ends authentication with ERR_PERMISSION_DENIED: what was tried, then `why`. */
  #giveUp(why: string, detail: "auth-methods-exhausted" | "too-many-requests"): void {
    this.#state = "done";
    this.#pending = null;
    this.#awaiting = null;
    const tried = this.#tried?.join(", ") ?? "none";
    this.#host.onFailure(
      new DisconnectError(
        "ERR_PERMISSION_DENIED",
        DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
        `Permission denied for user "${this.#o.username}": tried ${tried}; ${why}`,
        { detail },
      ),
    );
  }

  /** Reports the outcome of a password change request in flight, if any. */
  #changeOutcome(accepted: boolean): void {
    if (!this.#changeSent) return;
    this.#changeSent = false;
    this.#host.emit(
      accepted
        ? { type: "authPasswordChanged" }
        : { type: "authPasswordChangeFailed", reason: "refused", prompt: "" },
    );
  }

  #noteTried(method: string): void {
    const tried = this.#tried ??= [];
    if (!tried.includes(method)) tried.push(method);
  }

  /**
   * Drops what only authentication needed (every request and answer after SUCCESS is refused
   * or ignored by state): an idle connection keeps none of it.
   */
  #release(): void {
    this.#publicKeys = NO_KEYS as never[];
    this.#hostKeys = NO_KEYS as never[];
    this.#tried = undefined;
  }

  /** The signature algorithm for a key type, honouring server-sig-algs for RSA (RFC 8332 §3.3). */
  /**
   * Whether the first method to try is a public key signed at once (not staged, no hostbased
   * key, publickey preferred first, the first key needs no query): then "none" is not sent.
   */
  #publickeyFirst(): boolean {
    if (this.#o.staged || this.#hostKeys.length > 0) return false;
    const order = this.#o.preferredMethods ?? DEFAULT_METHODS;
    if (order.find((m) => m !== "hostbased") !== "publickey") return false;
    const key = this.#publicKeys[0];
    return key !== undefined && !key.query && this.#signatureAlgorithm(key.keyType) !== undefined;
  }

  #signatureAlgorithm(keyType: string): string | undefined {
    const serverAlgs = this.#host.serverSigAlgs();
    const allow = this.#o.signatureAlgorithms;
    const ok = (plain: string) => !allow || allow.includes(plain);
    const isRsaCert = keyType === "ssh-rsa-cert-v01@openssh.com";
    if (keyType !== "ssh-rsa" && !isRsaCert) {
      return ok(keyType.replace("-cert-v01@openssh.com", "")) || allow?.includes(keyType)
        ? keyType
        : undefined;
    }
    const candidates = isRsaCert
      ? ["rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", keyType]
      : ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
    // server-sig-algs names plain signature algorithms even for certificates.
    const plain = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
    // SHA-1 only when the caller named it: a server listing just ssh-rsa must not get it by
    // default (a downgrade; OpenSSH 8.8+ refuses too).
    const sha1 = allow?.includes("ssh-rsa") || (isRsaCert && allow?.includes(keyType));
    // Without server-sig-algs, rsa-sha2-256 is the safest guess (RFC 8332 §3.3).
    const order = serverAlgs ? [0, 1, 2] : [1, 0, 2];
    for (const i of order) {
      if (serverAlgs && !serverAlgs.includes(plain[i]!)) continue;
      // A certificate's own algorithm named alone allows it too (as for the other key types).
      if (i === 2 ? sha1 : ok(plain[i]!) || (isRsaCert && allow?.includes(candidates[i]!))) {
        return candidates[i];
      }
    }
    return undefined;
  }

  #requestSignature(method: "publickey" | "hostbased", index: number, algorithm: string): void {
    const id = this.#nextId++;
    this.#pending = { kind: "sign", id, method, index, algorithm };
    const hostKey = method === "publickey" ? this.#host.hostBoundKey?.() : undefined;
    const w = new SSHWriter(512).writeString(this.#host.sessionId()).writeByte(Msg.USERAUTH_REQUEST)
      .writeStringUtf8(this.#o.username).writeStringUtf8("ssh-connection")
      .writeStringUtf8(hostKey ? PUBLICKEY_HOSTBOUND : method);
    if (method === "publickey") {
      w.writeBoolean(true).writeStringUtf8(algorithm).writeString(
        this.#publicKeys[index]!.publicKeyBlob,
      );
      if (hostKey) w.writeString(hostKey);
    } else {
      const hk = this.#hostKeys[index]!;
      w.writeStringUtf8(algorithm).writeString(hk.publicKeyBlob).writeStringUtf8(hk.clientHostname)
        .writeStringUtf8(hk.clientUsername);
    }
    this.#host.emit({
      type: "authSignRequest",
      id,
      method,
      keyIndex: index,
      algorithm,
      data: w.toBytes(),
    });
  }

  #hostbasedBody(hk: ClientHostKey, algorithm: string, signature: Uint8Array): Uint8Array {
    return new SSHWriter().writeStringUtf8(algorithm).writeString(hk.publicKeyBlob)
      .writeStringUtf8(hk.clientHostname).writeStringUtf8(hk.clientUsername).writeString(signature)
      .toBytes();
  }

  /**
   * Sends a request for `method`; `hostBound` sends publickey as its host-bound form,
   * `credential` says it carries a signature or password (see `authSuccess.trivial`).
   */
  #sendRequest(
    method: string,
    body: Uint8Array,
    { hostBound = false, credential = false }: { hostBound?: boolean; credential?: boolean } = {},
  ): void {
    if (this.#overBudget()) return;
    this.#requests++;
    this.#current = method;
    this.#lastSent = method;
    this.#awaiting = method;
    if (credential) this.#credentialSent = true;
    if (method === "keyboard-interactive") this.#kbdintRounds = 0;
    this.#host.send(
      new SSHWriter(128 + body.length).writeByte(Msg.USERAUTH_REQUEST).writeStringUtf8(
        this.#o.username,
      )
        .writeStringUtf8("ssh-connection").writeStringUtf8(hostBound ? PUBLICKEY_HOSTBOUND : method)
        .writeBytes(body).toBytes(),
    );
  }
}
