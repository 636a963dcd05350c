/**
 * {@link AgentServerConnection}: the server side of one agent connection, bytes
 * in and bytes out, over any stream (a UNIX socket, a forwarded
 * `auth-agent@openssh.com` channel, an in-memory pipe). Requests are answered
 * one at a time, in order, as ssh-agent does.
 *
 * @module
 */

import { AgentError } from "./errors.ts";
import { AgentConnectionState, type AgentKeyring } from "./keyring.ts";
import { decodeAgentRequest, encodeAgentReply } from "./messages.ts";
import { AGENT_MAX_FRAME, AgentFrameReader, AgentMessage, encodeAgentFrame } from "./protocol.ts";

/**
 * Serves one agent connection from a keyring. Feed it the bytes the client
 * sends; it returns the framed replies. A frame over the size cap throws
 * {@link AgentError} (close the connection then, as ssh-agent does); a
 * malformed request gets SSH_AGENT_FAILURE and the connection carries on.
 *
 * @example Serve a request
 * ```ts
 * import { AgentKeyring } from "./keyring.ts";
 * import { AgentServerConnection } from "./server.ts";
 * const conn = new AgentServerConnection(new AgentKeyring());
 * const out = await conn.receive(Uint8Array.of(0, 0, 0, 1, 11)); // REQUEST_IDENTITIES
 * console.log(out); // Uint8Array [ 0, 0, 0, 5, 12, 0, 0, 0, 0 ]
 * ```
 */
export class AgentServerConnection {
  readonly #keyring: AgentKeyring;
  readonly #reader = new AgentFrameReader();
  /** This connection's session bindings. */
  readonly state: AgentConnectionState = new AgentConnectionState();
  #queue: Promise<unknown> = Promise.resolve();

  /** Serves `keyring` on a new connection. */
  constructor(keyring: AgentKeyring) {
    this.#keyring = keyring;
  }

  /** Bytes received and not yet answered (whole requests waiting or a partial one). */
  get buffered(): number {
    return this.#reader.buffered;
  }

  /**
   * Takes bytes from the client; resolves with the replies to every request
   * they complete (framed, in order; empty when none completed). Calls are
   * queued: each resolves after the ones before it. Rejects with
   * {@link AgentError} on a bad frame length.
   */
  receive(bytes: Uint8Array): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#receive(bytes));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Takes bytes from the client without answering them yet: a caller that must not
   * let replies pile up (a peer can ask for kilobytes of identities with five bytes)
   * then takes the answers one at a time with {@link nextReply}, writing each out
   * before asking for the next. Throws {@link AgentError} on a bad frame length.
   *
   * @example
   * ```ts
   * import { AgentKeyring } from "./keyring.ts";
   * import { AgentServerConnection } from "./server.ts";
   * const conn = new AgentServerConnection(new AgentKeyring());
   * conn.push(Uint8Array.of(0, 0, 0, 1, 11, 0, 0, 0, 1, 11)); // two REQUEST_IDENTITIES
   * let replies = 0;
   * while (await conn.nextReply()) replies++;
   * console.log(replies); // 2
   * ```
   */
  push(bytes: Uint8Array): void {
    this.#reader.push(bytes);
  }

  /**
   * The framed reply to the next whole request pushed, or undefined when none is
   * complete. Calls are queued with {@link receive}'s.
   */
  nextReply(): Promise<Uint8Array | undefined> {
    const run = this.#queue.then(() => {
      const body = this.#reader.next();
      return body === undefined ? undefined : this.handle(body);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #receive(bytes: Uint8Array): Promise<Uint8Array> {
    this.#reader.push(bytes);
    const out: Uint8Array[] = [];
    for (let body; (body = this.#reader.next());) out.push(await this.handle(body));
    if (out.length === 1) return out[0]!;
    let n = 0;
    for (const o of out) n += o.length;
    const all = new Uint8Array(n);
    n = 0;
    for (const o of out) {
      all.set(o, n);
      n += o.length;
    }
    return all;
  }

  /**
   * Answers one request body (no length prefix) with a framed reply.
   *
   * @example
   * ```ts
   * import { AgentKeyring } from "./keyring.ts";
   * import { AgentServerConnection } from "./server.ts";
   * const reply = await new AgentServerConnection(new AgentKeyring()).handle(Uint8Array.of(99));
   * console.log(reply); // Uint8Array [ 0, 0, 0, 1, 5 ]: failure
   * ```
   */
  async handle(body: Uint8Array): Promise<Uint8Array> {
    let reply;
    try {
      reply = await this.#keyring.handleRequest(decodeAgentRequest(body), this.state);
    } catch (e) {
      if (!(e instanceof AgentError)) throw e;
      return encodeAgentFrame(Uint8Array.of(AgentMessage.FAILURE));
    }
    const out = encodeAgentReply(reply);
    // A reply no frame can carry (an identity list of long comments, a large extension
    // response) is refused: the connection stays usable, and no client would take it.
    if (out.length > AGENT_MAX_FRAME) return encodeAgentFrame(Uint8Array.of(AgentMessage.FAILURE));
    return encodeAgentFrame(out);
  }
}
