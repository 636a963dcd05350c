/**
 * The client's side of the handshake that needs the outside world: checking
 * the server's host key, and answering the engine's authentication requests
 * (signatures, passwords, password changes, keyboard-interactive prompts,
 * banners) from the connect options. Also who waits for "authenticated".
 *
 * @module
 */

import type { ClientConnection, ClientEvent } from "../../core/client/client_connection.ts";
import { DisconnectError, DisconnectReason, SSHError } from "../../core/errors.ts";
import type { ResolvedConnectOptions } from "./options.ts";

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
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #error: Error | undefined;
  /** Set when the server let us in trivially and `disableTrivialAuth` refuses that. */
  #refused: Error | undefined;
  /** A keyboard-interactive round with at least one prompt was answered. */
  #kbdintPrompted = false;

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
      this.#waiters.push({
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

  /** The connection failed: every waiter rejects with `error` (the first error is kept). */
  fail(error: Error): void {
    this.#error ??= error;
    const w = this.#waiters;
    this.#waiters = [];
    for (const x of w) x.reject(error);
  }

  /** Handles a host key or authentication event; false for any other event. */
  handleEvent(e: ClientEvent): boolean {
    const { engine, options } = this.#h;
    switch (e.type) {
      case "hostKey":
        this.#verifyHostKey(e.id, e.algorithm, e.keyBlob);
        return true;
      case "authSignRequest": {
        const key = options.clientKeys?.[e.keyIndex];
        this.#answerLater(
          async () => key ? await key.sign(e.data, e.algorithm) : null,
          (sig) => engine.provideSignature(e.id, sig),
          () => engine.provideSignature(e.id, null),
        );
        return true;
      }
      case "authPasswordRequest": {
        const pw = options.password;
        this.#answerLater(
          async () =>
            typeof pw === "function" ? await pw(e.attempt) : e.attempt === 1 ? pw ?? null : null,
          (p) => engine.providePassword(e.id, p),
          () => engine.providePassword(e.id, null),
        );
        return true;
      }
      case "authPasswordChangeRequest": {
        const f = options.passwordChange;
        this.#answerLater(
          async () => f ? await f(e.prompt) : null,
          (c) => engine.providePasswordChange(e.id, c),
          () => engine.providePasswordChange(e.id, null),
        );
        return true;
      }
      case "authKbdintRequest": {
        if (e.prompts.length > 0) this.#kbdintPrompted = true;
        const f = options.kbdintResponses;
        const pw = options.password;
        this.#answerLater(
          async () => {
            if (f) return await f(e.name, e.instruction, e.prompts);
            if (e.prompts.length === 0) return [];
            // Without a handler, answer "Password:" prompts with the password (as AsyncSSH does).
            if (
              pw === undefined || !e.prompts.every((p) => /password/i.test(p.prompt) && !p.echo)
            ) return null;
            const value = typeof pw === "function" ? await pw(1) : pw;
            return value === null ? null : e.prompts.map(() => value);
          },
          (r) => engine.provideKbdintResponses(e.id, r),
          () => engine.provideKbdintResponses(e.id, null),
        );
        return true;
      }
      case "authBanner":
        options.onBanner?.(e.message);
        return true;
      case "authSuccess": {
        // As AsyncSSH's disable_trivial_auth: "none", or keyboard-interactive that asked
        // nothing, proves nothing about the server (a server that lets anyone in).
        const trivial = e.method === "none" ||
          (e.method === "keyboard-interactive" && !this.#kbdintPrompted);
        if (options.disableTrivialAuth && trivial) {
          this.#refused = new SSHError(
            "ERR_PERMISSION_DENIED",
            `Server accepted trivial authentication (${e.method}); refused by disableTrivialAuth`,
          );
          this.fail(this.#refused);
          return true;
        }
        const w = this.#waiters;
        this.#waiters = [];
        for (const x of w) x.resolve();
        return true;
      }
      default:
        return false;
    }
  }

  #verifyHostKey(id: number, algorithm: string, keyBlob: Uint8Array): void {
    const { engine, host, port } = this.#h;
    const verify = this.#h.options.hostKeyVerifier;
    if (!verify) {
      engine.acceptHostKey(id);
      return;
    }
    Promise.resolve()
      .then(() => verify({ host, port, algorithm, keyBlob }))
      .then(
        (ok) =>
          ok ? engine.acceptHostKey(id) : engine.rejectHostKey(
            id,
            `Host key verification failed for ${host}:${port} (${algorithm})`,
          ),
        (err) => engine.rejectHostKey(id, `Host key verifier failed: ${(err as Error).message}`),
      )
      .finally(() => this.#h.pump());
  }

  #answerLater<T>(get: () => Promise<T>, answer: (v: T) => void, giveUp: () => void): void {
    get().then(
      (v) => {
        if (!this.#h.engine.closed) answer(v);
      },
      () => {
        if (!this.#h.engine.closed) giveUp();
      },
    ).finally(() => this.#h.pump());
  }
}
