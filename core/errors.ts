/**
 * The error family of the library. Two kinds, kept apart on purpose:
 * a caller that misuses the API gets {@link LocalProtocolError} (thrown at once),
 * a peer that breaks the protocol or refuses us produces a {@link DisconnectError}
 * (delivered as an event by the engines, rejected promises in `io/`).
 *
 * @module
 */

/** SSH_DISCONNECT reason codes (RFC 4253 §11.1). */
export const DisconnectReason = {
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  PROTOCOL_ERROR: 2,
  KEY_EXCHANGE_FAILED: 3,
  RESERVED: 4,
  MAC_ERROR: 5,
  COMPRESSION_ERROR: 6,
  SERVICE_NOT_AVAILABLE: 7,
  PROTOCOL_VERSION_NOT_SUPPORTED: 8,
  HOST_KEY_NOT_VERIFIABLE: 9,
  CONNECTION_LOST: 10,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  AUTH_CANCELLED_BY_USER: 13,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
  ILLEGAL_USER_NAME: 15,
} as const;

/** A numeric SSH_DISCONNECT reason code. */
export type DisconnectReasonCode = (typeof DisconnectReason)[keyof typeof DisconnectReason];

/**
 * Machine-readable codes of every error this library raises.
 * They are stable: match on `error.code`, not on the message.
 */
export type SSHErrorCode =
  | "ERR_LOCAL_PROTOCOL"
  | "ERR_WIRE_TRUNCATED"
  | "ERR_WIRE_MALFORMED"
  | "ERR_WIRE_LIMIT"
  | "ERR_PROTOCOL"
  | "ERR_VERSION"
  | "ERR_PACKET_LENGTH"
  | "ERR_PADDING"
  | "ERR_MAC"
  | "ERR_COMPRESSION"
  | "ERR_KEX_FAILED"
  | "ERR_NO_COMMON_ALGORITHM"
  | "ERR_HOST_KEY_NOT_VERIFIABLE"
  | "ERR_HOST_KEY_SIGNATURE"
  | "ERR_STRICT_KEX"
  | "ERR_PERMISSION_DENIED"
  | "ERR_SERVICE_NOT_AVAILABLE"
  | "ERR_CONNECTION_LOST"
  | "ERR_DNS"
  | "ERR_CONNECTION_REFUSED"
  | "ERR_BY_APPLICATION"
  | "ERR_PEER_DISCONNECTED"
  | "ERR_TIMEOUT"
  | "ERR_KEEPALIVE"
  | "ERR_CHANNEL_OPEN"
  | "ERR_CHANNEL"
  | "ERR_PROCESS"
  | "ERR_SFTP"
  | "ERR_SCP"
  | "ERR_KEY_IMPORT"
  | "ERR_KEY_EXPORT"
  | "ERR_KEY_GENERATION"
  | "ERR_SIGNATURE"
  | "ERR_UNSUPPORTED_ALGORITHM"
  | "ERR_AGENT"
  | "ERR_INCOMPLETE_READ"
  | "ERR_READ_LIMIT"
  | "ERR_LOCAL_ACCOUNT";

/**
 * Base class of every error this library raises.
 *
 * @example Match on the code
 * ```ts
 * import { SSHError } from "@sshts/ssh";
 * try {
 *   throw new SSHError("ERR_TIMEOUT", "Connect timed out after 5000 ms");
 * } catch (e) {
 *   if (e instanceof SSHError && e.code === "ERR_TIMEOUT") console.log("retry later");
 * }
 * ```
 */
export class SSHError extends Error {
  /** Stable machine-readable code. */
  readonly code: SSHErrorCode;

  /** Creates an error with a code and a sentence-case message. */
  constructor(code: SSHErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SSHError";
    this.code = code;
  }
}

/**
 * The caller used the API wrongly (wrong state, bad argument). Thrown synchronously;
 * never caused by the peer.
 *
 * @example
 * ```ts
 * import { LocalProtocolError } from "@sshts/ssh";
 * const e = new LocalProtocolError("Cannot send data: the channel is closed");
 * console.log(e.code); // "ERR_LOCAL_PROTOCOL"
 * ```
 */
export class LocalProtocolError extends SSHError {
  /** Creates a misuse error. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_LOCAL_PROTOCOL", message, options);
    this.name = "LocalProtocolError";
  }
}

/**
 * Input from the peer (or a file) could not be decoded: too short, malformed, or over a limit.
 * The engines turn it into a {@link DisconnectError} with reason PROTOCOL_ERROR.
 *
 * @example
 * ```ts
 * import { WireError } from "@sshts/ssh";
 * const e = new WireError("ERR_WIRE_TRUNCATED", "Cannot read uint32: 2 bytes left, 4 needed");
 * console.log(e.code);
 * ```
 */
export class WireError extends SSHError {
  /** Creates a decoding error. */
  constructor(
    code: "ERR_WIRE_TRUNCATED" | "ERR_WIRE_MALFORMED" | "ERR_WIRE_LIMIT",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "WireError";
  }
}

/**
 * What exactly went wrong when a connection ends, as a stable key: tests and callers
 * match on it (with `code`) instead of on the message text.
 */
export type DisconnectDetail =
  // transport
  | "unexpected-message"
  | "kexinit-not-first"
  | "too-many-extensions"
  | "malformed-newkeys"
  // user authentication
  | "unexpected-service"
  | "pk-ok-mismatch"
  | "too-many-prompts"
  | "too-many-requests"
  | "malformed-request"
  | "wrong-response-count"
  | "username-changed"
  | "too-many-auth-failures"
  | "auth-methods-exhausted"
  // connection protocol
  | "unknown-channel"
  | "channel-not-open"
  | "data-after-eof"
  | "message-after-close"
  | "window-exceeded"
  | "packet-too-large"
  | "window-overflow"
  | "reply-without-request"
  | "duplicate-confirmation"
  | "open-failure-after-open";

/** Options of a {@link DisconnectError} beyond the standard `cause`. */
export interface DisconnectErrorOptions extends ErrorOptions {
  /** True when the peer sent the DISCONNECT. */
  readonly fromPeer?: boolean;
  /** What exactly went wrong (see {@link DisconnectDetail}). */
  readonly detail?: DisconnectDetail;
  /** For an unexpected message: the message number that arrived. */
  readonly got?: number;
  /** For an unexpected message: what the protocol allowed at that point (names or ranges). */
  readonly expected?: readonly string[];
}

/**
 * The connection ended, or must end: the peer sent a DISCONNECT, broke the protocol,
 * failed a check (MAC, host key, strict kex) or could not agree on algorithms.
 * `reason` is the SSH_DISCONNECT reason code that was (or will be) sent or received.
 *
 * @example
 * ```ts
 * import { DisconnectError, DisconnectReason } from "@sshts/ssh";
 * const e = new DisconnectError("ERR_MAC", DisconnectReason.MAC_ERROR, "Corrupted MAC on input");
 * console.log(e.reason === DisconnectReason.MAC_ERROR);
 * ```
 */
export class DisconnectError extends SSHError {
  /** The SSH_DISCONNECT reason code. */
  readonly reason: number;
  /**
   * True when the peer ended the connection — its DISCONNECT, or its side of the socket
   * closing or resetting without one (ERR_CONNECTION_LOST); false when we decided to
   * disconnect.
   */
  readonly fromPeer: boolean;
  /** What exactly went wrong, when we decided (see {@link DisconnectDetail}). */
  readonly detail: DisconnectDetail | undefined;
  /** For an unexpected message: its number. */
  readonly got: number | undefined;
  /** For an unexpected message: what was allowed instead. */
  readonly expected: readonly string[] | undefined;

  /** Creates a disconnect error. */
  constructor(
    code: SSHErrorCode,
    reason: number,
    message: string,
    options?: DisconnectErrorOptions,
  ) {
    super(code, message, options);
    this.name = "DisconnectError";
    this.reason = reason;
    this.fromPeer = options?.fromPeer ?? false;
    this.detail = options?.detail;
    this.got = options?.got;
    this.expected = options?.expected;
  }
}

/** Options of {@link protocolError}. */
export interface ProtocolErrorOptions {
  /** The error code; default "ERR_PROTOCOL". */
  readonly code?: "ERR_PROTOCOL" | "ERR_STRICT_KEX" | "ERR_CHANNEL";
  /** The SSH_DISCONNECT reason sent; default PROTOCOL_ERROR. */
  readonly reason?: number;
  /** For an unexpected message: its number. */
  readonly got?: number;
  /** For an unexpected message: what was allowed instead. */
  readonly expected?: readonly string[];
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * The error for a peer that broke the protocol: a {@link DisconnectError} with reason
 * PROTOCOL_ERROR, the given `detail`, and for an unexpected message `got`/`expected`.
 * Every layer of `core/` builds its protocol errors here.
 *
 * @example
 * ```ts
 * import { protocolError } from "@sshts/ssh";
 * const e = protocolError("unexpected-message", "Unexpected message 94 during key exchange", {
 *   got: 94,
 *   expected: ["KEXINIT"],
 * });
 * console.log(e.code, e.detail, e.got); // "ERR_PROTOCOL" "unexpected-message" 94
 * ```
 */
export function protocolError(
  detail: DisconnectDetail,
  message: string,
  options: ProtocolErrorOptions = {},
): DisconnectError {
  return new DisconnectError(
    options.code ?? "ERR_PROTOCOL",
    options.reason ?? DisconnectReason.PROTOCOL_ERROR,
    message,
    {
      detail,
      ...(options.got !== undefined ? { got: options.got } : {}),
      ...(options.expected !== undefined ? { expected: options.expected } : {}),
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
    },
  );
}

/**
 * No algorithm of one kind is offered by both sides. Lists ours and theirs so the
 * user can see which option to change.
 *
 * @example
 * ```ts
 * import { NoCommonAlgorithmError } from "@sshts/ssh";
 * const e = new NoCommonAlgorithmError("cipher (client to server)", ["aes128-ctr"], ["3des-cbc"]);
 * console.log(e.message);
 * ```
 */
export class NoCommonAlgorithmError extends DisconnectError {
  /** Which negotiation failed, e.g. "kex" or "cipher (client to server)". */
  readonly kind: string;
  /** What we offered, in preference order. */
  readonly ours: readonly string[];
  /** What the peer offered. */
  readonly theirs: readonly string[];

  /** Creates the error. */
  constructor(kind: string, ours: readonly string[], theirs: readonly string[]) {
    super(
      "ERR_NO_COMMON_ALGORITHM",
      DisconnectReason.KEY_EXCHANGE_FAILED,
      `No common ${kind} algorithm: we offer ${ours.join(",") || "(none)"}; ` +
        `the peer offers ${theirs.join(",") || "(none)"}`,
    );
    this.name = "NoCommonAlgorithmError";
    this.kind = kind;
    this.ours = ours;
    this.theirs = theirs;
  }
}

/**
 * Makes an error without capturing a stack trace: for one that only records why a connection
 * ended normally (the application closed it), where capturing a stack costs tens of µs and
 * says nothing. Engines without `Error.stackTraceLimit` (or with frozen intrinsics) capture
 * as usual.
 *
 * @example
 * ```ts
 * import { DisconnectError, DisconnectReason, withoutStack } from "@sshts/ssh";
 * const e = withoutStack(() =>
 *   new DisconnectError("ERR_BY_APPLICATION", DisconnectReason.BY_APPLICATION, "Bye")
 * );
 * console.log(e.message); // "Bye"
 * ```
 */
export function withoutStack<T>(make: () => T): T {
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  if (typeof limit !== "number") return make();
  try {
    E.stackTraceLimit = 0;
  } catch {
    return make();
  }
  try {
    return make();
  } finally {
    E.stackTraceLimit = limit;
  }
}

/**
 * The message of a thrown value: an Error's `message`, anything else as text.
 *
 * @example
 * ```ts
 * import { errorMessage } from "@sshts/ssh";
 * console.log(errorMessage(new Error("boom")), errorMessage("plain")); // "boom" "plain"
 * ```
 */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
