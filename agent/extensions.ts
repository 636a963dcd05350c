/**
 * Agent extensions (SSH_AGENTC_EXTENSION): `query` (RFC 9987: which extensions
 * the agent supports) and OpenSSH's `session-bind@openssh.com` (PROTOCOL.agent
 * §1: binds an agent connection to an SSH session, for destination constraints).
 *
 * @module
 */

import { SSHReader, SSHWriter } from "../core/wire.ts";
import { AgentError } from "./errors.ts";

/** The extension that lists the agent's extensions. */
export const QUERY_EXTENSION = "query";
/** OpenSSH's session binding extension. */
export const SESSION_BIND_EXTENSION = "session-bind@openssh.com";

/** Longest session identifier accepted (OpenSSH's AGENT_MAX_SID_LEN: a SHA-512 hash is 64). */
export const MAX_SESSION_ID = 128;
/** Most names in a query reply. */
const MAX_QUERY_NAMES = 1024;

/** What `session-bind@openssh.com` carries. */
export interface SessionBind {
  /** The server's host key (or certificate) blob from the first key exchange. */
  readonly hostKeyBlob: Uint8Array;
  /** The session identifier (the first exchange hash). */
  readonly sessionId: Uint8Array;
  /** The server's signature over the session identifier, as sent in its KEX reply. */
  readonly signature: Uint8Array;
  /** True when the connection is bound for forwarding the agent, false for authentication. */
  readonly isForwarding: boolean;
}

/**
 * Encodes the contents of a `session-bind@openssh.com` request (after its name).
 *
 * @example
 * ```ts
 * import { encodeSessionBind } from "./extensions.ts";
 * const b = encodeSessionBind({
 *   hostKeyBlob: new Uint8Array(51), sessionId: new Uint8Array(32),
 *   signature: new Uint8Array(83), isForwarding: false,
 * });
 * console.log(b.length); // 4+51 + 4+32 + 4+83 + 1 = 179
 * ```
 */
export function encodeSessionBind(bind: SessionBind): Uint8Array {
  return new SSHWriter().writeString(bind.hostKeyBlob).writeString(bind.sessionId)
    .writeString(bind.signature).writeBoolean(bind.isForwarding).toBytes();
}

/**
 * Decodes the contents of a `session-bind@openssh.com` request. Throws
 * {@link AgentError} on malformed contents or a session id over
 * {@link MAX_SESSION_ID} bytes. The signature is not checked here.
 *
 * @example
 * ```ts
 * import { decodeSessionBind, encodeSessionBind } from "./extensions.ts";
 * const bind = { hostKeyBlob: Uint8Array.of(1), sessionId: Uint8Array.of(2), signature: Uint8Array.of(3), isForwarding: true };
 * console.log(decodeSessionBind(encodeSessionBind(bind)).isForwarding); // true
 * ```
 */
export function decodeSessionBind(contents: Uint8Array): SessionBind {
  try {
    const r = new SSHReader(contents);
    const hostKeyBlob = r.readString("host key", 64 * 1024).slice();
    const sessionId = r.readString("session identifier", MAX_SESSION_ID).slice();
    const signature = r.readString("signature", 64 * 1024).slice();
    const isForwarding = r.readBoolean("is_forwarding");
    r.assertEnd("session-bind");
    if (sessionId.length === 0) throw new Error("empty session identifier");
    return { hostKeyBlob, sessionId, signature, isForwarding };
  } catch (e) {
    throw new AgentError("malformed", `Bad session-bind request: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Encodes the reply contents of `query` (after the name): one string per extension.
 *
 * @example
 * ```ts
 * import { decodeQueryReply, encodeQueryReply } from "./extensions.ts";
 * console.log(decodeQueryReply(encodeQueryReply(["session-bind@openssh.com"])));
 * ```
 */
export function encodeQueryReply(names: readonly string[]): Uint8Array {
  const w = new SSHWriter();
  for (const n of names) w.writeStringUtf8(n);
  return w.toBytes();
}

/**
 * Decodes a `query` reply's contents: a list of strings (RFC 9987). Throws
 * {@link AgentError} when malformed.
 *
 * @example
 * ```ts
 * import { decodeQueryReply } from "./extensions.ts";
 * console.log(decodeQueryReply(Uint8Array.of(0, 0, 0, 1, 120))); // [ "x" ]
 * ```
 */
export function decodeQueryReply(contents: Uint8Array): string[] {
  try {
    const r = new SSHReader(contents);
    const names: string[] = [];
    while (r.remaining > 0) {
      if (names.length >= MAX_QUERY_NAMES) throw new Error(`more than ${MAX_QUERY_NAMES} names`);
      names.push(r.readStringAscii("extension name", 1024));
    }
    return names;
  } catch (e) {
    throw new AgentError("malformed", `Bad query reply: ${(e as Error).message}`, { cause: e });
  }
}
