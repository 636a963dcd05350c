/**
 * Agent protocol numbers (RFC 9987 and OpenSSH's PROTOCOL.agent) and framing:
 * every message travels as `uint32 length || byte type || contents`.
 *
 * @module
 */

import { AgentError } from "./errors.ts";

/** Message numbers, requests (`*_AGENTC_*` in the RFC) and replies. */
export const AgentMessage = {
  FAILURE: 5,
  SUCCESS: 6,
  /** Protocol 1's remove-all; OpenSSH's ssh-add -D still sends it after 19. */
  REMOVE_ALL_RSA_IDENTITIES: 9,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  ADD_SMARTCARD_KEY: 20,
  REMOVE_SMARTCARD_KEY: 21,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  EXTENSION: 27,
  EXTENSION_FAILURE: 28,
  EXTENSION_RESPONSE: 29,
  /** Failure codes older agents send (ssh.com's ssh-agent2, SSH2_AGENT_FAILURE). */
  SSH2_FAILURE: 30,
  SSH_COM_FAILURE: 102,
} as const;

/** Key constraint identifiers. */
export const AgentConstraint = {
  LIFETIME: 1,
  CONFIRM: 2,
  /**
   * The extension constraint of the early drafts (draft-miller-ssh-agent-00..02).
   * OpenSSH never sent it (it used 3 for its XMSS `maxsign`, removed in 10.1); we
   * accept it as an extension only when an extension name follows.
   */
  EXTENSION_DRAFT: 3,
  /** The extension constraint of RFC 9987, and what OpenSSH 8.1+ sends. */
  EXTENSION: 255,
} as const;

/** Sign request flags. */
export const AgentSignFlag = {
  /** Obsolete (ssh.com's old signature format); never set by us. */
  OLD_SIGNATURE: 0x01,
  RSA_SHA2_256: 0x02,
  RSA_SHA2_512: 0x04,
} as const;

const EMPTY = new Uint8Array(0);

/** Largest frame accepted either way: 256 KiB, OpenSSH's AGENT_MAX_LEN and MAX_AGENT_REPLY_LEN. */
export const AGENT_MAX_FRAME = 256 * 1024;

/**
 * Wraps a message body (type byte first) in its length prefix.
 *
 * @example
 * ```ts
 * import { AgentMessage, encodeAgentFrame } from "./protocol.ts";
 * console.log(encodeAgentFrame(Uint8Array.of(AgentMessage.REQUEST_IDENTITIES))); // 0,0,0,1,11
 * ```
 */
export function encodeAgentFrame(body: Uint8Array): Uint8Array {
  if (body.length === 0 || body.length > AGENT_MAX_FRAME) {
    throw new AgentError(
      "frame",
      `Cannot send an agent message of ${body.length} bytes (1..${AGENT_MAX_FRAME})`,
    );
  }
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * Splits a byte stream into agent message bodies. Bytes go in as they arrive;
 * whole bodies come out. A length over {@link AGENT_MAX_FRAME} (or 0) throws
 * {@link AgentError} at once, before the body arrives: the stream is then unusable.
 *
 * @example
 * ```ts
 * import { AgentFrameReader } from "./protocol.ts";
 * const r = new AgentFrameReader();
 * r.push(Uint8Array.of(0, 0, 0, 1));
 * console.log(r.next()); // undefined: the body has not arrived
 * r.push(Uint8Array.of(11));
 * console.log(r.next()); // Uint8Array [ 11 ]
 * ```
 */
export class AgentFrameReader {
  #chunks: Uint8Array[] = [];
  /** Index of the first chunk not yet consumed (the ones before it are dead). */
  #head = 0;
  #buffered = 0;
  readonly #maxFrame: number;

  /** `maxFrame` lowers the cap (it cannot exceed {@link AGENT_MAX_FRAME}). */
  constructor(maxFrame = AGENT_MAX_FRAME) {
    this.#maxFrame = Math.min(maxFrame, AGENT_MAX_FRAME);
  }

  /** Bytes received and not yet returned as bodies. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Adds received bytes. They are copied into a plain `Uint8Array`: callers may
   * reuse their buffer (Bun does), and a Node buffer's `slice()` would not copy.
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(new Uint8Array(bytes));
    this.#buffered += bytes.length;
  }

  /** The next whole body, or undefined when more bytes are needed. Throws on a bad length. */
  next(): Uint8Array | undefined {
    if (this.#buffered < 4) return undefined;
    const head = this.#peek(4);
    const n = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    if (n === 0 || n > this.#maxFrame) {
      throw new AgentError(
        "frame",
        n === 0
          ? "Agent message with length 0 (a message has at least a type byte)"
          : `Agent message of ${n} bytes exceeds the ${this.#maxFrame}-byte limit`,
      );
    }
    if (this.#buffered < 4 + n) return undefined;
    const all = this.#peek(4 + n);
    this.#consume(4 + n);
    return all.slice(4);
  }

  #peek(n: number): Uint8Array {
    const chunks = this.#chunks;
    const first = chunks[this.#head]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let o = 0, i = this.#head;
    for (;;) {
      const c = chunks[i]!;
      const take = Math.min(c.length, n - o);
      out.set(c.subarray(0, take), o);
      o += take;
      if (take < c.length) {
        chunks[i] = c.subarray(take);
        break;
      }
      chunks[i++] = EMPTY; // dropped now, not kept until the list is compacted
      if (o === n) break;
    }
    // Keep the merged prefix so later peeks do not merge again: it takes the place of the last
    // chunk wholly merged (the first one at least is, being shorter than n).
    this.#head = i - 1;
    chunks[this.#head] = out;
    return out;
  }

  #consume(n: number): void {
    const chunks = this.#chunks;
    let left = n;
    while (left > 0) {
      const c = chunks[this.#head]!;
      if (c.length <= left) {
        left -= c.length;
        chunks[this.#head++] = EMPTY;
      } else {
        chunks[this.#head] = c.subarray(left);
        left = 0;
      }
    }
    this.#buffered -= n;
    // Consumed chunks go in one slice once they are half the list: a shift() or splice() per
    // frame would be quadratic in the chunks buffered, and a peer can send a byte at a time.
    if (this.#head === chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > chunks.length) {
      this.#chunks = chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
