/**
 * Staged authentication on one connection (libssh2's `userauth_*` calls, one
 * at a time): `connect(host, { authenticate: async (auth) => { ... } })` gets
 * an {@link StagedAuth} whose methods each try one authentication method and
 * resolve with the server's answer, partial success included.
 *
 * @module
 */

import type { ClientKeyPair } from "../keys/types.ts";

/** The server's answer to one staged attempt. */
export interface StagedAuthResult {
  /** Authentication is complete: the connection is usable. */
  readonly success: boolean;
  /** The method was accepted but the server wants another (RFC 4252 §5.1). */
  readonly partialSuccess: boolean;
  /** The methods that can continue (empty after success). */
  readonly methods: readonly string[];
  /**
   * Why the key could not sign, when it could not (an agent that refused, a token
   * unplugged): the attempt went no further than asking the server whether it accepts
   * the key.
   */
  readonly signingError?: string;
}

/** Answers keyboard-interactive prompts: one response per prompt, or null to give up. */
export type KbdintResponder = (
  name: string,
  instruction: string,
  prompts: readonly { readonly prompt: string; readonly echo: boolean }[],
) => readonly string[] | null | Promise<readonly string[] | null>;

/** A host key to authenticate with by "hostbased" (RFC 4252 §9). */
export interface HostBasedCredentials {
  /** The client host's private key (it signs; the server checks it against its known hosts). */
  readonly hostKey: ClientKeyPair;
  /** The client host's name as the server knows it (FQDN; a trailing dot is added as OpenSSH does). */
  readonly localHostname: string;
  /** The user on the client host (default: the user logging in). */
  readonly localUsername?: string;
}

/**
 * One connection's authentication, step by step: the `authenticate` option of
 * `connect()` receives it once the server answered the first "none" request.
 * Each method tries once and resolves with the server's answer; run them one
 * after another. If `authenticate` returns without success, `connect()`
 * rejects with ERR_PERMISSION_DENIED.
 *
 * @example
 * ```ts ignore
 * await using conn = await connect("host", {
 *   username: "me",
 *   authenticate: async (auth) => {
 *     if (auth.methods.includes("publickey")) {
 *       const r = await auth.publicKey(myKey);
 *       if (r.success) return;
 *       if (r.partialSuccess) console.log("now also:", r.methods);
 *     }
 *     await auth.password("secret");
 *   },
 * });
 * ```
 */
export interface StagedAuth {
  /** The methods the server said can continue, after the last answer. */
  readonly methods: readonly string[];
  /** Whether the last answer was a partial success. */
  readonly partialSuccess: boolean;
  /** Whether authentication is complete. */
  readonly authenticated: boolean;
  /** Tries "none" (a server may let the user in without credentials). */
  none(): Promise<StagedAuthResult>;
  /** Tries a password; `onChange` answers a password change request (default: refuse). */
  password(
    password: string,
    onChange?: (prompt: string) => { oldPassword: string; newPassword: string } | null,
  ): Promise<StagedAuthResult>;
  /** Tries a key (an `SSHKey` with its private part, an agent key, ...). */
  publicKey(key: ClientKeyPair): Promise<StagedAuthResult>;
  /** Tries keyboard-interactive; `respond` answers each round of prompts. */
  keyboardInteractive(respond: KbdintResponder): Promise<StagedAuthResult>;
  /** Tries hostbased authentication with the client host's key. */
  hostBased(credentials: HostBasedCredentials): Promise<StagedAuthResult>;
}
