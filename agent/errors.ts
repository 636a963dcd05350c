/**
 * {@link AgentError}: every failure of the agent protocol, from a bad frame to an
 * agent that said no.
 *
 * @module
 */

import { SSHError } from "../core/errors.ts";

/**
 * What went wrong, for code that reacts differently:
 * - `"frame"`: a frame over the size cap or cut short (the stream is unusable);
 * - `"malformed"`: a message that does not decode;
 * - `"failure"`: the agent refused (SSH_AGENT_FAILURE or SSH_AGENT_EXTENSION_FAILURE);
 * - `"unexpected"`: a reply of the wrong type for the request;
 * - `"signature"`: the agent signed with another algorithm than the one asked for;
 * - `"unsupported"`: a key type, constraint or extension we cannot handle;
 * - `"closed"`: the connection to the agent ended;
 * - `"timeout"`: the agent did not answer a request in time (the connection is then closed);
 * - `"unavailable"`: no agent to connect to (no `SSH_AUTH_SOCK`, no socket).
 */
export type AgentErrorKind =
  | "frame"
  | "malformed"
  | "failure"
  | "unexpected"
  | "signature"
  | "unsupported"
  | "closed"
  | "timeout"
  | "unavailable";

/**
 * An agent protocol error (code `ERR_AGENT`); `kind` says which.
 *
 * @example Tell a refusal from a broken stream
 * ```ts
 * import { AgentError } from "./errors.ts";
 * const e = new AgentError("failure", "The agent refused to sign");
 * console.log(e.code, e.kind); // "ERR_AGENT" "failure"
 * ```
 */
export class AgentError extends SSHError {
  /** Which kind of failure. */
  readonly kind: AgentErrorKind;

  /** Creates an agent error; the message says what failed and why. */
  constructor(kind: AgentErrorKind, message: string, options?: ErrorOptions) {
    super("ERR_AGENT", message, options);
    this.name = "AgentError";
    this.kind = kind;
  }
}
