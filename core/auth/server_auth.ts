/**
 * Server user authentication (RFC 4252, RFC 4256): the server's half of none,
 * password (with password change), publickey (query and signed), keyboard-
 * interactive and hostbased.
 *
 * The engine checks what it can check alone — message syntax, signatures over the
 * session — and asks the application everything else through events with ids:
 * is this key authorized, is this password right, what to ask next. Failures are
 * capped per connection: as with sshd every refused request counts — a refused
 * publickey query too — but the client's opening "none"; a failed credential (a
 * password, answers, a signature) is also answered after a growing delay.
 *
 * @module
 */

import { DisconnectError, DisconnectReason, LocalProtocolError, protocolError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import type { SignatureCheck, SkSignatureDetails } from "../publickey/verify.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import {
  MAX_KEY_BLOB,
  MAX_NAME,
  MAX_QUEUED_AUTH_REQUESTS,
  MAX_SHORT_NAME,
  MAX_SHORT_TEXT,
  MAX_SIGNATURE,
  MAX_TEXT,
} from "../limits.ts";

/** C0 controls and DEL: never part of a user name a server should look up. */
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/** A keyboard-interactive challenge. */
export interface KbdintChallenge {
  /** A title the client may show; undefined sends "". */
  readonly name?: string;
  /** Instructions the client may show above the prompts; undefined sends "". */
  readonly instruction?: string;
  /** The questions, in order; `echo` false hides the answer as it is typed (passwords). */
  readonly prompts: readonly { readonly prompt: string; readonly echo: boolean }[];
}

/** The application's verdict on an authentication request. */
export type AuthVerdict =
  | { readonly result: "success" }
  | { readonly result: "failure" }
  /** The method succeeded, but more methods are needed. */
  | { readonly result: "partial"; readonly methods?: readonly string[] }
  /** Password methods: the password is expired; ask for a new one. */
  | { readonly result: "changePassword"; readonly prompt: string }
  /** Keyboard-interactive: ask (more) questions. */
  | { readonly result: "challenge"; readonly challenge: KbdintChallenge };

/** Events of server authentication. Answer each with `answerAuth(id, verdict)`. */
export type ServerAuthEvent =
  | { readonly type: "authNone"; readonly id: number; readonly username: string }
  | {
    readonly type: "authPassword";
    readonly id: number;
    readonly username: string;
    readonly password: string;
    /**
     * Present when the client is answering a password change request: only once
     * this connection asked for a new password (a `changePassword` verdict). An
     * unsolicited change is refused before it is emitted, as sshd refuses it.
     */
    readonly newPassword?: string;
  }
  | {
    readonly type: "authPublicKey";
    readonly id: number;
    readonly username: string;
    readonly algorithm: string;
    readonly keyBlob: Uint8Array;
    /**
     * False for a query ("would you accept this key?"): answer success to send PK_OK.
     * True when the signature was checked already: success logs the user in.
     */
    readonly signed: boolean;
    /**
     * A signed request with a FIDO key (`sk-*`, plain or certified): what its
     * authenticator attested, covered by the checked signature. The engine does
     * not judge it: as sshd, refuse unless `userPresent` (the key's options may
     * waive that with `no-touch-required`) and, where they ask for
     * `verify-required`, `userVerified`. `listen()` does this for you.
     */
    readonly sk?: SkSignatureDetails;
  }
  | {
    readonly type: "authKbdint";
    readonly id: number;
    readonly username: string;
    readonly submethods: string;
    /** Undefined for the start of the method; the answers to the last challenge after. */
    readonly responses?: readonly string[];
  }
  | {
    readonly type: "authHostbased";
    readonly id: number;
    readonly username: string;
    readonly algorithm: string;
    readonly keyBlob: Uint8Array;
    readonly clientHostname: string;
    readonly clientUsername: string;
  }
  | { readonly type: "authenticated"; readonly username: string; readonly method: string };

/** Server authentication settings. */
export interface ServerAuthOptions {
  /** Methods offered, in the order listed to the client. */
  readonly methods: readonly string[];
  /** Banner sent before the first answer, if any. */
  readonly banner?: string;
  /**
   * Failed attempts allowed before disconnecting. Default 6, as OpenSSH's MaxAuthTries;
   * as there, each refused request counts (each refused key a client asks about too),
   * except a first "none".
   */
  readonly maxAuthTries?: number;
  /**
   * Delay before the reply to a failed credential (a password, keyboard-interactive answers,
   * a signature), times the number of such failures so far, at most 8 (ms). Default 250 ms.
   * Refused key queries count toward maxAuthTries but are answered at once.
   */
  readonly failureDelayMs?: number;
}

/** Hooks into the engine. */
export interface ServerAuthHost {
  send(payload: Uint8Array): void;
  emit(event: ServerAuthEvent): void;
  sessionId(): Uint8Array;
  /**
   * Verifies a signature made with a key blob: invalid for any problem; a FIDO
   * signature's flags and counter come with a valid one.
   */
  verifySignature(
    algorithm: string,
    keyBlob: Uint8Array,
    signature: Uint8Array,
    data: Uint8Array,
  ): SignatureCheck;
  /** The time last given to the engine (ms). */
  now(): number;
  onSuccess(username: string): void;
  fail(error: DisconnectError): void;
}

type Pending = {
  id: number;
  method: string;
  username: string;
  query?: { algorithm: string; keyBlob: Uint8Array };
  /** A refusal costs nothing: the client's first request, "none" (it asks for the methods). */
  free: boolean;
};

/** The server authentication state machine. */
export class ServerAuth {
  readonly #o: ServerAuthOptions;
  readonly #host: ServerAuthHost;
  #serviceAccepted = false;
  #done = false;
  #username: string | undefined;
  #pending: Pending | null = null;
  #nextId = 1;
  #failures = 0;
  /** Failed credentials (passwords, answers, signatures): what the failure delay grows with. */
  #credentialFailures = 0;
  /** USERAUTH_REQUESTs read so far. */
  #requests = 0;
  #bannerSent = false;
  #methods: string[];
  /** Replies held back until a time (failure rate limiting). */
  #delayed: { at: number; payload: Uint8Array } | null = null;
  /** Requests that arrived while a verdict was pending or a failure was delayed. */
  #queue: Uint8Array[] = [];
  #kbdintExpected = -1;
  /**
   * Whether this connection asked for a new password (PASSWD_CHANGEREQ). Until it
   * has, a change request is refused unasked: an application that handles changes
   * only after its own "expired" answer need not check the old password again.
   */
  #passwordChangeAsked = false;
  /**
   * Whether this state machine failed the connection (too many failures, a bad queued
   * request). The disconnect is only queued then: requests that came with it must not
   * reach the application.
   */
  #failed = false;

  /** Creates the state machine. */
  constructor(options: ServerAuthOptions, host: ServerAuthHost) {
    this.#o = options;
    this.#host = host;
    this.#methods = [...options.methods];
  }

  /** Whether a user is authenticated. */
  get done(): boolean {
    return this.#done;
  }

  /** The authenticated user. */
  get username(): string | undefined {
    return this.#done ? this.#username : undefined;
  }

  /** When a delayed failure reply is due, if one is waiting. */
  nextDeadline(): number | undefined {
    return this.#delayed?.at;
  }

  /** Releases a delayed failure reply when its time has come. */
  handleTimeout(now: number): void {
    if (this.#delayed && now >= this.#delayed.at) {
      this.#host.send(this.#delayed.payload);
      this.#delayed = null;
      this.#drainQueue();
    }
  }

  /** Handles SERVICE_REQUEST and messages 50..79; false for messages it does not own. */
  handleMessage(type: number, payload: Uint8Array): boolean {
    if (type === Msg.SERVICE_REQUEST) {
      const r = new SSHReader(payload, 1);
      const service = r.readStringAscii("service name", MAX_SHORT_NAME);
      if (service !== "ssh-userauth" || this.#done) {
        throw new DisconnectError(
          "ERR_SERVICE_NOT_AVAILABLE",
          DisconnectReason.SERVICE_NOT_AVAILABLE,
          `Service "${service}" is not available`,
        );
      }
      this.#host.send(
        new SSHWriter().writeByte(Msg.SERVICE_ACCEPT).writeStringUtf8(service).toBytes(),
      );
      // Asked again before authentication ended: accepted again, as sshd does. paramiko asks
      // before each method it tries (a key, then a password), and was disconnected.
      if (this.#serviceAccepted) return true;
      this.#serviceAccepted = true;
      const early = this.#earlyBanners;
      this.#earlyBanners = [];
      for (const b of early) this.#host.send(b);
      return true;
    }
    if (type < 50 || type > 79) return false;
    if (!this.#serviceAccepted) {
      throw protocolError(
        "unexpected-message",
        "Authentication request before the ssh-userauth service",
        { got: type, expected: ["SERVICE_REQUEST"] },
      );
    }
    if (this.#done || this.#failed) {
      // RFC 4252 §5.1: requests after success are ignored; after failing, nothing is asked.
      return true;
    }
    if (type !== Msg.USERAUTH_REQUEST && type !== Msg.USERAUTH_INFO_RESPONSE) {
      throw protocolError(
        "unexpected-message",
        `Unexpected authentication message ${type} from a client`,
        { got: type, expected: ["USERAUTH_REQUEST", "USERAUTH_INFO_RESPONSE"] },
      );
    }
    if (this.#pending || this.#delayed) {
      if (this.#queue.length >= MAX_QUEUED_AUTH_REQUESTS) {
        throw protocolError(
          "too-many-requests",
          "Client sent too many authentication requests at once",
        );
      }
      this.#queue.push(payload.slice());
      return true;
    }
    this.#handle(type, payload);
    return true;
  }

  #drainQueue(): void {
    while (
      !this.#pending && !this.#delayed && !this.#done && !this.#failed && this.#queue.length
    ) {
      const p = this.#queue.shift()!;
      try {
        this.#handle(p[0]!, p);
      } catch (e) {
        // Queued requests are parsed outside receive(), whose handler turns peer errors into
        // a disconnect; here that is our job (a LocalProtocolError is a bug and goes up).
        if (e instanceof LocalProtocolError) throw e;
        this.#fail(
          e instanceof DisconnectError ? e : protocolError(
            "malformed-request",
            `Malformed authentication request: ${(e as Error).message}`,
            { cause: e },
          ),
        );
        return;
      }
    }
  }

  #handle(type: number, payload: Uint8Array): void {
    const r = new SSHReader(payload, 1);
    if (type === Msg.USERAUTH_INFO_RESPONSE) {
      if (this.#kbdintExpected < 0) {
        throw protocolError("unexpected-message", "USERAUTH_INFO_RESPONSE without a challenge", {
          got: Msg.USERAUTH_INFO_RESPONSE,
          expected: ["USERAUTH_REQUEST"],
        });
      }
      const n = r.readUint32("number of responses");
      if (n !== this.#kbdintExpected) {
        throw protocolError(
          "wrong-response-count",
          `Expected ${this.#kbdintExpected} keyboard-interactive responses, got ${n}`,
        );
      }
      const responses: string[] = [];
      for (let i = 0; i < n; i++) responses.push(r.readStringUtf8("response", MAX_TEXT));
      r.assertEnd("USERAUTH_INFO_RESPONSE");
      this.#kbdintExpected = -1;
      this.#ask("keyboard-interactive", {
        type: "authKbdint",
        id: this.#nextId,
        username: this.#username!,
        submethods: "",
        responses,
      });
      return;
    }
    const username = r.readStringUtf8("user name", MAX_SHORT_TEXT);
    const service = r.readStringAscii("service name", MAX_SHORT_NAME);
    const method = r.readStringAscii("method name", MAX_SHORT_NAME);
    if (service !== "ssh-connection") {
      throw new DisconnectError(
        "ERR_SERVICE_NOT_AVAILABLE",
        DisconnectReason.SERVICE_NOT_AVAILABLE,
        `Service "${service}" is not available after authentication`,
      );
    }
    if (this.#username !== undefined && this.#username !== username) {
      // As OpenSSH: a client may not switch users mid-authentication.
      throw protocolError(
        "username-changed",
        `Client changed the user name from "${this.#username}" to "${username}"`,
      );
    }
    this.#username = username;
    this.#kbdintExpected = -1;
    this.#requests++;
    // A control character (a newline, NUL) names no account, and would reach every hook and
    // every file path an application builds from the name: each method fails, unasked.
    if (CONTROL_CHARACTER.test(username)) return this.#failure("delayed");
    // As sshd: a method we do not offer is a failed attempt like any other.
    if (method !== "none" && !this.#methods.includes(method)) return this.#failure("counted");
    switch (method) {
      case "none":
        r.assertEnd("none request");
        return this.#ask(method, { type: "authNone", id: this.#nextId, username });
      case "password": {
        const change = r.readBoolean("change flag");
        const password = r.readStringUtf8("password", MAX_SHORT_TEXT);
        const newPassword = change ? r.readStringUtf8("new password", MAX_SHORT_TEXT) : undefined;
        r.assertEnd("password request");
        // A failed password, as sshd counts one ("password change not supported").
        if (change && !this.#passwordChangeAsked) return this.#failure("delayed");
        return this.#ask(method, {
          type: "authPassword",
          id: this.#nextId,
          username,
          password,
          ...(newPassword !== undefined ? { newPassword } : {}),
        });
      }
      case "publickey": {
        const signed = r.readBoolean("has signature");
        const algorithm = r.readStringAscii("algorithm", MAX_NAME);
        const keyBlob = r.readString("key blob", MAX_KEY_BLOB).slice();
        if (!signed) {
          r.assertEnd("publickey query");
          this.#pendingQuery = { algorithm, keyBlob };
          return this.#ask(method, {
            type: "authPublicKey",
            id: this.#nextId,
            username,
            algorithm,
            keyBlob,
            signed,
          });
        }
        const sigStart = r.position;
        const signature = r.readString("signature", MAX_SIGNATURE);
        r.assertEnd("publickey request");
        const data = new SSHWriter(256 + payload.length).writeString(this.#host.sessionId())
          .writeBytes(payload.subarray(0, sigStart)).toBytes();
        const check = this.#host.verifySignature(algorithm, keyBlob, signature, data);
        if (!check.valid) return this.#failure("delayed");
        return this.#ask(method, {
          type: "authPublicKey",
          id: this.#nextId,
          username,
          algorithm,
          keyBlob,
          signed,
          ...(check.sk ? { sk: check.sk } : {}),
        });
      }
      case "keyboard-interactive": {
        r.readStringAscii("language tag", MAX_NAME);
        const submethods = r.readStringUtf8("submethods", MAX_SHORT_TEXT);
        r.assertEnd("keyboard-interactive request");
        return this.#ask(method, { type: "authKbdint", id: this.#nextId, username, submethods });
      }
      case "hostbased": {
        const algorithm = r.readStringAscii("algorithm", MAX_NAME);
        const keyBlob = r.readString("key blob", MAX_KEY_BLOB).slice();
        const clientHostname = r.readStringUtf8("client host name", MAX_SHORT_TEXT);
        const clientUsername = r.readStringUtf8("client user name", MAX_SHORT_TEXT);
        const sigStart = r.position;
        const signature = r.readString("signature", MAX_SIGNATURE);
        r.assertEnd("hostbased request");
        // As for the user name: a control character (a NUL, a newline) names no host or
        // account, and would reach the hook, logs and any .shosts-style lookup built on them.
        if (CONTROL_CHARACTER.test(clientHostname) || CONTROL_CHARACTER.test(clientUsername)) {
          return this.#failure("delayed");
        }
        const data = new SSHWriter(256 + payload.length).writeString(this.#host.sessionId())
          .writeBytes(payload.subarray(0, sigStart)).toBytes();
        if (!this.#host.verifySignature(algorithm, keyBlob, signature, data).valid) {
          return this.#failure("delayed");
        }
        return this.#ask(method, {
          type: "authHostbased",
          id: this.#nextId,
          username,
          algorithm,
          keyBlob,
          clientHostname,
          clientUsername,
        });
      }
      default:
        return this.#failure("counted");
    }
  }

  #pendingQuery: { algorithm: string; keyBlob: Uint8Array } | undefined;

  #ask(method: string, event: ServerAuthEvent & { id: number }): void {
    this.#sendBanner();
    this.#pending = {
      id: event.id,
      method,
      username: this.#username!,
      free: method === "none" && this.#requests === 1,
      ...(method === "publickey" && event.type === "authPublicKey" && !event.signed &&
          this.#pendingQuery
        ? { query: this.#pendingQuery }
        : {}),
    };
    this.#pendingQuery = undefined;
    this.#nextId++;
    this.#host.emit(event);
  }

  /** The application's answer to an auth event. */
  answerAuth(id: number, verdict: AuthVerdict): void {
    const p = this.#pending;
    if (!p || p.id !== id) {
      // Issued but overtaken (the connection failed or moved on): drop the late answer.
      if (id > 0 && id < this.#nextId) return;
      throw new LocalProtocolError(`No authentication request with id ${id} was issued`);
    }
    this.#pending = null;
    switch (verdict.result) {
      case "success":
        if (p.query) {
          this.#host.send(
            new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8(p.query.algorithm)
              .writeString(p.query.keyBlob).toBytes(),
          );
          break;
        }
        this.#done = true;
        this.#queue = [];
        this.#host.send(new Uint8Array([Msg.USERAUTH_SUCCESS]));
        this.#host.emit({ type: "authenticated", username: p.username, method: p.method });
        this.#host.onSuccess(p.username);
        return;
      case "partial": {
        if (p.query) {
          throw new LocalProtocolError("A publickey query can only be accepted or refused");
        }
        if (verdict.methods) this.#methods = [...verdict.methods];
        this.#methods = this.#methods.filter((m) => m !== p.method);
        this.#host.send(
          new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(this.#methods).writeBoolean(
            true,
          ).toBytes(),
        );
        break;
      }
      case "changePassword":
        if (p.method !== "password") {
          throw new LocalProtocolError("changePassword answers only password requests");
        }
        this.#passwordChangeAsked = true;
        this.#host.send(
          new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8(verdict.prompt)
            .writeStringUtf8("").toBytes(),
        );
        break;
      case "challenge": {
        if (p.method !== "keyboard-interactive") {
          throw new LocalProtocolError("A challenge answers only keyboard-interactive requests");
        }
        const c = verdict.challenge;
        const w = new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8(c.name ?? "")
          .writeStringUtf8(c.instruction ?? "").writeStringUtf8("").writeUint32(c.prompts.length);
        for (const q of c.prompts) w.writeStringUtf8(q.prompt).writeBoolean(q.echo);
        this.#kbdintExpected = c.prompts.length;
        this.#host.send(w.toBytes());
        break;
      }
      case "failure":
        // As sshd, every refusal counts but a first "none": a refused publickey query too,
        // or one connection could test any number of keys against the user's. Only a failed
        // credential (a password, answers, a signature) waits: a client offering its keys one
        // by one is not slowed down, and maxAuthTries still caps them.
        this.#failure(
          p.free ? "free" : p.query !== undefined || p.method === "none" ? "counted" : "delayed",
        );
        return;
    }
    this.#drainQueue();
  }

  /**
   * Answers a refused request. "free": nothing counts (the opening "none"); "counted": it
   * counts toward maxAuthTries (a refused key query, a method not offered, a later "none");
   * "delayed": a failed credential, which also waits out a delay growing with each one.
   */
  #failure(cost: "free" | "counted" | "delayed"): void {
    const payload = new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(this.#methods)
      .writeBoolean(false).toBytes();
    if (cost === "free") {
      this.#host.send(payload);
      this.#drainQueue();
      return;
    }
    this.#failures++;
    const max = this.#o.maxAuthTries ?? 6;
    if (this.#failures >= max) {
      this.#fail(
        new DisconnectError(
          "ERR_PERMISSION_DENIED",
          DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
          `Too many authentication failures for "${this.#username}" (${this.#failures})`,
          { detail: "too-many-auth-failures" },
        ),
      );
      return;
    }
    if (cost === "delayed") this.#credentialFailures++;
    const delay = cost === "delayed"
      ? (this.#o.failureDelayMs ?? 250) * Math.min(this.#credentialFailures, 8)
      : 0;
    if (delay <= 0) {
      this.#host.send(payload);
      this.#drainQueue();
      return;
    }
    this.#delayed = { at: this.#host.now() + delay, payload };
  }

  /** Fails the connection, dropping the requests queued behind the one that failed it. */
  #fail(error: DisconnectError): void {
    this.#failed = true;
    this.#queue = [];
    this.#host.fail(error);
  }

  /** Banners asked for before the ssh-userauth service was accepted. */
  #earlyBanners: Uint8Array[] = [];

  /**
   * Sends a USERAUTH_BANNER (held until the service is accepted if asked
   * earlier). Misuse after authentication succeeded throws.
   */
  sendBanner(message: string, language = ""): void {
    if (this.#done) {
      throw new LocalProtocolError("An auth banner can only be sent before authentication ends");
    }
    const payload = new SSHWriter().writeByte(Msg.USERAUTH_BANNER).writeStringUtf8(message)
      .writeStringUtf8(language).toBytes();
    if (this.#serviceAccepted) this.#host.send(payload);
    else this.#earlyBanners.push(payload);
  }

  #sendBanner(): void {
    if (this.#bannerSent || !this.#o.banner) return;
    this.#bannerSent = true;
    this.#host.send(
      new SSHWriter().writeByte(Msg.USERAUTH_BANNER).writeStringUtf8(this.#o.banner)
        .writeStringUtf8("").toBytes(),
    );
  }
}
