/**
 * The client's side of the handshake that needs the outside world: checking
 * the server's host key, and answering the engine's authentication requests
 * (signatures, passwords, password changes, keyboard-interactive prompts,
 * banners) from the connect options. Also who waits for "authenticated".
 *
 * @module
 */

import type { ClientConnection, ClientEvent } from "../../core/client/client_connection.ts";
import {
  DisconnectError,
  DisconnectReason,
  LocalProtocolError,
  SSHError,
} from "../../core/errors.ts";
import type { StagedAuthAttempt } from "../../core/auth/client_auth.ts";
import type { ClientKeyPair, HostKeyInfo } from "../keys/types.ts";
import type { ResolvedConnectOptions } from "./options.ts";
import type {
  HostBasedCredentials,
  KbdintResponder,
  StagedAuth,
  StagedAuthResult,
} from "./staged_auth.ts";

/**
 * The error to reject a connect with: the signal's reason when it fired (an
 * ERR_TIMEOUT `SSHError` for a timeout), else a lost connection saying `message`.
 *
 * @example
 * ```ts ignore
 * await openTcpSocket(host, port, signal).catch((e) => { throw timeoutOr(e, signal, "Cannot connect"); });
 * ```
 */
export function timeoutOr(e: unknown, signal: AbortSignal | undefined, message: string): Error {
  if (signal?.aborted) {
    const r = signal.reason;
    if (r instanceof Error && r.name === "TimeoutError") {
      return new SSHError("ERR_TIMEOUT", "Connect timed out", { cause: r });
    }
    return r instanceof Error ? r : new SSHError("ERR_TIMEOUT", "Connect aborted");
  }
  return new DisconnectError("ERR_CONNECTION_LOST", DisconnectReason.CONNECTION_LOST, message, {
    cause: e,
  });
}

/** The methods list once authentication is over (shared, never written). */
const NO_METHODS: readonly string[] = Object.freeze([]);

/** What the authenticator needs from its connection. */
export interface ClientAuthHost {
  /** The host as given to connect(). */
  readonly host: string;
  /** The port connected to. */
  readonly port: number;
  /** The engine being authenticated. */
  readonly engine: ClientConnection;
  /** The resolved connect options (keys, password, hooks). */
  readonly options: ResolvedConnectOptions;
  /** Lets the engine's answers go out. */
  pump(): void;
  /** The user name the engine logs in as. */
  readonly engineUsername: string;
  /** The server's IP address, when the socket knows it. */
  readonly address?: string | undefined;
  /** True once the host key was let through though it changed (see `markHostKeyUntrusted`). */
  hostKeyUntrusted?(): boolean;
  /** Says something worth a warning in the connection's log. */
  warn?(message: string): void;
}

/** Signing failures kept for the final "permission denied" (a list of keys could be long). */
const MAX_SIGN_FAILURES = 4;

/**
 * What the host key verifier is asked: the host (or `hostKeyAlias`, port 22,
 * no address) and the server's address unless `checkHostIP` is false.
 *
 * @example
 * ```ts ignore
 * verify(hostKeyLookup({ host, port, options, address }, "ssh-ed25519", blob));
 * ```
 */
export function hostKeyLookup(
  h: Pick<ClientAuthHost, "host" | "port" | "options" | "address">,
  algorithm: string,
  keyBlob: Uint8Array,
): HostKeyInfo {
  const alias = h.options.hostKeyAlias;
  if (alias !== undefined) return { host: alias, port: 22, algorithm, keyBlob };
  const address = h.options.checkHostIP === false ? undefined : h.address;
  return { host: h.host, port: h.port, algorithm, keyBlob, ...(address ? { address } : {}) };
}

/**
 * The engine's form of hostbased credentials: the host key's public half, the
 * host name with the trailing dot OpenSSH sends, and the local user.
 *
 * @example
 * ```ts ignore
 * const hk = clientHostKey({ hostKey, localHostname: "client.example" }, "me");
 * ```
 */
export function clientHostKey(
  c: HostBasedCredentials,
  username: string,
): { keyType: string; publicKeyBlob: Uint8Array; clientHostname: string; clientUsername: string } {
  return {
    keyType: c.hostKey.keyType,
    publicKeyBlob: c.hostKey.publicKeyBlob,
    clientHostname: c.localHostname.endsWith(".") ? c.localHostname : c.localHostname + ".",
    clientUsername: c.localUsername ?? username,
  };
}

/**
 * Answers one client engine's host key and authentication events.
 *
 * @example
 * ```ts ignore
 * const auth = new ClientAuth({ host, port, engine, options, pump: () => driver.pump() });
 * for (let e; (e = engine.pollEvent());) if (!auth.handleEvent(e)) other(e);
 * await auth.whenAuthenticated();
 * ```
 */
export class ClientAuth {
  readonly #h: ClientAuthHost;
  /** Made by the first wait; gone once settled. */
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] | undefined;
  #error: Error | undefined;
  /** Why signatures could not be made (see MAX_SIGN_FAILURES). */
  readonly #signFailures: string[] = [];
  /** Set when the server let us in trivially and `disableTrivialAuth` refuses that. */
  #refused: Error | undefined;
  /** Times the keyboard-interactive fallback asked the `password` option (its attempt number). */
  #kbdintPasswordAttempts = 0;
  // Staged authentication (the `authenticate` option).
  #stagedStarted = false;
  #methods: readonly string[] = NO_METHODS;
  #partial = false;
  #attempt:
    | { resolve: (r: StagedAuthResult) => void; reject: (e: Error) => void }
    | undefined;
  /** Keys of staged publickey / hostbased attempts, by the engine's key index. */
  // Made by a staged attempt only.
  #stagedKeys: ClientKeyPair[] | undefined;
  #stagedHostKeys: ClientKeyPair[] | undefined;
  #stagedPassword: string | null = null;
  #stagedChange:
    | ((prompt: string) => { oldPassword: string; newPassword: string } | null)
    | undefined;
  #stagedKbdint: KbdintResponder | undefined;
  /** Why the key of the staged attempt running could not sign. */
  #stagedSigningError: string | undefined;

  /** An authenticator for `host`'s engine. */
  constructor(host: ClientAuthHost) {
    this.#h = host;
  }

  /** Resolves once authenticated; rejects with why the connection failed or `signal`'s reason. */
  whenAuthenticated(signal?: AbortSignal): Promise<void> {
    if (this.#refused) return Promise.reject(this.#refused);
    if (this.#h.engine.authenticated) return Promise.resolve();
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(timeoutOr(signal!.reason, signal, "Connect aborted"));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      (this.#waiters ??= []).push({
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
    });
  }

  /**
   * The connection failed: every waiter rejects with `error` (the first error is kept); a
   * "permission denied" says which signatures failed, if any did.
   */
  fail(error: Error): void {
    this.#error ??= this.#signFailures.length > 0 && error instanceof DisconnectError &&
        error.code === "ERR_PERMISSION_DENIED"
      ? new DisconnectError(
        error.code,
        error.reason,
        `${error.message}; ${this.#signFailures.join("; ")}`,
        {
          cause: error,
          fromPeer: error.fromPeer,
          ...(error.detail ? { detail: error.detail } : {}),
        },
      )
      : error;
    const a = this.#attempt;
    this.#attempt = undefined;
    a?.reject(this.#error);
    const w = this.#waiters;
    this.#waiters = undefined;
    for (const x of w ?? []) x.reject(this.#error);
  }

  /** Handles a host key or authentication event; false for any other event. */
  handleEvent(e: ClientEvent): boolean {
    const { engine, options } = this.#h;
    switch (e.type) {
      case "hostKey":
        this.#verifyHostKey(e.id, e.algorithm, e.keyBlob);
        return true;
      case "authSignRequest": {
        const staged = options.authenticate !== undefined;
        const key = e.method === "hostbased"
          ? (staged
            ? this.#stagedHostKeys ?? []
            : options.hostBasedResolved
            ? [options.hostBasedResolved.hostKey]
            : [])[
              e.keyIndex
            ]
          : staged
          ? this.#stagedKeys?.[e.keyIndex]
          : options.clientKeys?.[e.keyIndex];
        this.#answerLater(
          async () => key ? await key.sign(e.data, e.algorithm) : null,
          (sig) => engine.provideSignature(e.id, sig),
          (err) => {
            // The key goes unused, as ssh goes on after "signing failed"; why is kept for
            // the error if nothing else gets in (an agent that refused, an HSM offline).
            const what = `${e.method === "hostbased" ? "host key" : "key"} ${key?.keyType ?? ""}`;
            const why = `signing with the ${what} failed: ${
              err instanceof Error ? err.message : String(err)
            }`;
            this.#h.warn?.(why);
            if (this.#signFailures.length < MAX_SIGN_FAILURES) this.#signFailures.push(why);
            if (staged) this.#stagedSigningError = why;
            engine.provideSignature(e.id, null);
          },
        );
        return true;
      }
      case "authPasswordRequest": {
        // Never to a server whose changed key was let through: it may be an impostor.
        const pw = this.#h.hostKeyUntrusted?.()
          ? null
          : options.authenticate
          ? this.#stagedPassword
          : options.password;
        this.#answerLater(
          async () =>
            typeof pw === "function"
              ? await pw(e.attempt)
              : e.attempt === 1 || options.authenticate
              ? pw ?? null
              : null,
          (p) => engine.providePassword(e.id, p),
          () => engine.providePassword(e.id, null),
        );
        return true;
      }
      case "authPasswordChangeRequest": {
        const f = options.authenticate ? this.#stagedChange : options.passwordChange;
        this.#answerLater(
          // Old and new password, never to a server whose changed key was let through.
          async () => f && !this.#h.hostKeyUntrusted?.() ? await f(e.prompt) : null,
          (c) => engine.providePasswordChange(e.id, c),
          () => engine.providePasswordChange(e.id, null),
        );
        return true;
      }
      case "authPasswordChanged":
        try {
          options.onPasswordChanged?.();
        } catch { /* a callback's error must not break authentication */ }
        return true;
      case "authPasswordChangeFailed":
        try {
          options.onPasswordChangeFailed?.({ reason: e.reason, prompt: e.prompt });
        } catch { /* a callback's error must not break authentication */ }
        return true;
      case "authKbdintRequest": {
        const f = options.authenticate ? this.#stagedKbdint : options.kbdintResponses;
        const pw = options.authenticate ? undefined : options.password;
        this.#answerLater(
          async () => {
            if (this.#h.hostKeyUntrusted?.()) return null; // no answers for a possible impostor
            if (f) return await f(e.name, e.instruction, e.prompts);
            if (e.prompts.length === 0) return [];
            // Without a handler, answer "Password:" prompts with the password (as AsyncSSH does).
            if (
              pw === undefined || !e.prompts.every((p) => /password/i.test(p.prompt) && !p.echo)
            ) return null;
            // Each round is an attempt of its own: a callback counting attempts (as ssh_config's
            // NumberOfPasswordPrompts does) can stop a server that asks again and again.
            const attempt = ++this.#kbdintPasswordAttempts;
            // A fixed password goes out once, as to the password method: sent again after
            // the server refused it, it can only fail again (and count against lockouts).
            const value = typeof pw === "function" ? await pw(attempt) : attempt === 1 ? pw : null;
            return value === null ? null : e.prompts.map(() => value);
          },
          (r) => {
            // The server would fail (sshd disconnects on) a wrong count: say whose fault it is.
            if (r && r.length !== e.prompts.length) {
              throw new LocalProtocolError(
                `Keyboard-interactive: ${r.length} answer(s) for ${e.prompts.length} prompt(s) ` +
                  `(${e.prompts.map((p) => JSON.stringify(p.prompt)).join(", ")}); ` +
                  "return one answer per prompt, or null to skip keyboard-interactive",
              );
            }
            engine.provideKbdintResponses(e.id, r);
          },
          () => engine.provideKbdintResponses(e.id, null),
        );
        return true;
      }
      case "authBanner":
        try {
          options.onBanner?.(e.message);
        } catch { /* a callback's error must not break authentication */ }
        return true;
      case "authReady":
        this.#methods = e.allowedMethods;
        this.#partial = e.partialSuccess;
        if (!this.#stagedStarted) this.#runStaged();
        else {this.#settle({
            success: false,
            partialSuccess: e.partialSuccess,
            methods: e.allowedMethods,
          });}
        return true;
      case "authFailure":
        return true;
      case "authSuccess": {
        // As AsyncSSH's disable_trivial_auth: a success before any credential went out
        // ("none", or keyboard-interactive that asked nothing) proves nothing about the
        // server (a server that lets anyone in). The engine knows what was sent.
        if (options.disableTrivialAuth && e.trivial) {
          this.#refused = new SSHError(
            "ERR_PERMISSION_DENIED",
            `Server accepted trivial authentication (${e.method}); refused by disableTrivialAuth`,
          );
          this.fail(this.#refused);
          return true;
        }
        this.#methods = NO_METHODS;
        this.#partial = false;
        this.#settle({ success: true, partialSuccess: false, methods: NO_METHODS });
        const w = this.#waiters;
        this.#waiters = undefined;
        for (const x of w ?? []) x.resolve();
        return true;
      }
      default:
        return false;
    }
  }

  #settle(r: StagedAuthResult): void {
    const a = this.#attempt;
    this.#attempt = undefined;
    const signingError = this.#stagedSigningError;
    this.#stagedSigningError = undefined;
    a?.resolve(signingError === undefined ? r : { ...r, signingError });
  }

  /** Runs the `authenticate` option with a {@link StagedAuth} for this connection. */
  #runStaged(): void {
    this.#stagedStarted = true;
    const { engine } = this.#h;
    const authenticate = this.#h.options.authenticate!;
    const attempt = (a: StagedAuthAttempt, setup: () => void): Promise<StagedAuthResult> => {
      if (this.#error) return Promise.reject(this.#error);
      if (engine.authenticated) {
        return Promise.resolve({ success: true, partialSuccess: false, methods: [] });
      }
      if (this.#attempt) {
        return Promise.reject(new SSHError("ERR_LOCAL_PROTOCOL", "An attempt is in progress"));
      }
      return new Promise<StagedAuthResult>((resolve, reject) => {
        setup();
        this.#attempt = { resolve, reject };
        try {
          engine.tryAuthMethod(a);
        } catch (e) {
          this.#attempt = undefined;
          reject(e as Error);
        }
        this.#h.pump();
      });
    };
    const methods = () => this.#methods;
    const partial = () => this.#partial;
    const auth: StagedAuth = {
      get methods() {
        return methods();
      },
      get partialSuccess() {
        return partial();
      },
      get authenticated() {
        return engine.authenticated;
      },
      none: () => attempt({ method: "none" }, () => {}),
      password: (password, onChange) =>
        attempt({ method: "password" }, () => {
          this.#stagedPassword = password;
          this.#stagedChange = onChange;
        }),
      publicKey: (key) =>
        attempt(
          { method: "publickey", key: { keyType: key.keyType, publicKeyBlob: key.publicKeyBlob } },
          () => (this.#stagedKeys ??= []).push(key),
        ),
      keyboardInteractive: (respond) =>
        attempt({ method: "keyboard-interactive" }, () => {
          this.#stagedKbdint = respond;
        }),
      hostBased: (c: HostBasedCredentials) =>
        attempt(
          {
            method: "hostbased",
            key: clientHostKey(c, this.#h.engineUsername),
          },
          () => (this.#stagedHostKeys ??= []).push(c.hostKey),
        ),
    };
    Promise.resolve()
      .then(() => authenticate(auth))
      .then(
        () => {
          if (engine.authenticated) return;
          this.#giveUp(
            new DisconnectError(
              "ERR_PERMISSION_DENIED",
              DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
              `Permission denied: authenticate() ended without success; the server accepts ${
                this.#methods.join(",") || "nothing more"
              }`,
            ),
          );
        },
        (e) => this.#giveUp(e instanceof Error ? e : new Error(String(e))),
      );
  }

  #giveUp(error: Error): void {
    const { engine } = this.#h;
    this.fail(error);
    if (!engine.closed) {
      engine.disconnect(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, "Authentication ended");
    }
    this.#h.pump();
  }

  #verifyHostKey(id: number, algorithm: string, keyBlob: Uint8Array): void {
    const { engine, host, port } = this.#h;
    const verify = this.#h.options.hostKeyVerifier;
    if (!verify) {
      engine.acceptHostKey(id);
      return;
    }
    Promise.resolve()
      .then(() => verify(hostKeyLookup(this.#h, algorithm, keyBlob)))
      .then(
        (ok) =>
          ok ? engine.acceptHostKey(id) : engine.rejectHostKey(
            id,
            `Host key verification failed for ${host}:${port} (${algorithm})`,
          ),
        // Whatever was thrown (a string, undefined): a TypeError here would go unhandled.
        (err) =>
          engine.rejectHostKey(
            id,
            `Host key verifier failed: ${err instanceof Error ? err.message : String(err)}`,
          ),
      )
      .finally(() => this.#h.pump());
  }

  /**
   * Runs `get` (a callback, a signer) and hands its value to the engine with `answer`, or
   * calls `giveUp` when it fails.
   */
  #answerLater<T>(
    get: () => Promise<T>,
    answer: (v: T) => void,
    giveUp: (error: unknown) => void,
  ): void {
    get().then(
      (v) => this.#deliver(() => answer(v)),
      (e) => this.#deliver(() => giveUp(e)),
    ).finally(() => this.#h.pump());
  }

  /**
   * Hands an answer to the engine, unless the connection ended meanwhile. An error there (an
   * answer the engine refuses) fails the connection with it: thrown in this promise chain it
   * would be an unhandled rejection, which ends a Node process.
   */
  #deliver(f: () => void): void {
    if (this.#h.engine.closed) return;
    try {
      f();
    } catch (e) {
      this.#giveUp(
        e instanceof SSHError
          ? e
          : new LocalProtocolError(`Authentication answer failed: ${String(e)}`, { cause: e }),
      );
    }
  }
}
