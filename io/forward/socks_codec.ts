/**
 * The server side of a SOCKS handshake, as a pure parser: SOCKS 4 (RFC-less,
 * the NEC protocol), 4a (a host name instead of an address) and 5 (RFC 1928)
 * with the CONNECT command and no authentication — what `ssh -D` offers.
 * Bytes in, replies and the request out; no I/O.
 *
 * @module
 */

import { MAX_SOCKS_FIELD } from "../limits.ts";
import { isSendableHost } from "./dest_host.ts";

/**
 * A SOCKS 4a / 5 host name as text, or undefined when it is not valid UTF-8 (a lenient
 * decode would send the server another name) or holds a control character (sshd ends the
 * whole connection over a NUL in a direct-tcpip host).
 */
function hostName(bytes: Uint8Array): string | undefined {
  let host: string;
  try {
    host = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return isSendableHost(host) ? host : undefined;
}

/** A CONNECT request: where the client wants to go. */
export interface SocksRequest {
  readonly version: 4 | 5;
  readonly host: string;
  readonly port: number;
}

/** What one call to {@link SocksHandshake.receive} produced. */
export interface SocksStep {
  /** Bytes to send to the client now (a SOCKS 5 method choice, or a refusal). */
  readonly reply?: Uint8Array;
  /** The request, once complete: connect, then send `successReply()` or `failureReply()`. */
  readonly request?: SocksRequest;
  /** Bytes the client sent after its request (data to forward). */
  readonly rest?: Uint8Array;
  /** The handshake failed: send `reply` (if any) and close. */
  readonly error?: string;
}

/** Why a CONNECT failed, for the reply code. */
export type SocksFailure = "refused" | "unreachable" | "not-allowed" | "general";

const SOCKS5_REPLY: Record<SocksFailure, number> = {
  "general": 1,
  "not-allowed": 2,
  "unreachable": 4,
  "refused": 5,
};

/**
 * Parses a client's SOCKS handshake, whatever way its bytes are split. A host name
 * that is not valid UTF-8 or holds a control character (a NUL) is refused with a
 * failure reply: it is never passed on.
 *
 * @example
 * ```ts
 * import { SocksHandshake } from "./socks_codec.ts";
 * const h = new SocksHandshake();
 * console.log(h.receive(new Uint8Array([5, 1, 0])).reply); // Uint8Array [5, 0]
 * const step = h.receive(new Uint8Array([5, 1, 0, 3, 1, 104, 0, 80]));
 * console.log(step.request); // { version: 5, host: "h", port: 80 }
 * ```
 */
export class SocksHandshake {
  #buf = new Uint8Array(0);
  #state: "start" | "socks5-request" | "done" = "start";
  #version: 4 | 5 | undefined;

  /** Feeds bytes from the client. */
  receive(bytes: Uint8Array): SocksStep {
    if (this.#state === "done") return { rest: bytes };
    const b = new Uint8Array(this.#buf.length + bytes.length);
    b.set(this.#buf);
    b.set(bytes, this.#buf.length);
    this.#buf = b;
    if (this.#state === "start") {
      if (b.length === 0) return {};
      if (b[0] === 4) return this.#socks4();
      if (b[0] === 5) {
        const greeting = this.#socks5Greeting();
        if (greeting.error || !greeting.reply) return greeting;
        // A client may send its request right behind the greeting.
        const next = this.#socks5Request();
        const g = greeting.reply!;
        if (!next.reply) return { ...next, reply: g };
        const both = new Uint8Array(g.length + next.reply.length);
        both.set(g);
        both.set(next.reply, g.length);
        return { ...next, reply: both };
      }
      return this.#fail(`Unsupported SOCKS version ${b[0]}`);
    }
    return this.#socks5Request();
  }

  /** The reply that tells the client its connection is open. */
  successReply(): Uint8Array {
    return this.#version === 4
      ? new Uint8Array([0, 90, 0, 0, 0, 0, 0, 0])
      : new Uint8Array([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  }

  /** The reply that tells the client its connection failed. */
  failureReply(why: SocksFailure = "general"): Uint8Array {
    return this.#version === 4
      ? new Uint8Array([0, 91, 0, 0, 0, 0, 0, 0])
      : new Uint8Array([5, SOCKS5_REPLY[why], 0, 1, 0, 0, 0, 0, 0, 0]);
  }

  #fail(error: string, reply?: Uint8Array): SocksStep {
    this.#state = "done";
    this.#buf = new Uint8Array(0);
    return reply ? { error, reply } : { error };
  }

  #finish(request: SocksRequest, used: number): SocksStep {
    const rest = this.#buf.subarray(used);
    this.#state = "done";
    this.#buf = new Uint8Array(0);
    return rest.length ? { request, rest } : { request };
  }

  /** VN=4 CD DSTPORT(2) DSTIP(4) USERID\0 [HOST\0 when DSTIP is 0.0.0.x, x≠0]. */
  #socks4(): SocksStep {
    this.#version = 4;
    const b = this.#buf;
    if (b.length < 9) return {};
    const userEnd = b.indexOf(0, 8);
    if (userEnd < 0) {
      return b.length > 8 + MAX_SOCKS_FIELD
        ? this.#fail("SOCKS 4 user id too long", this.failureReply())
        : {};
    }
    const port = (b[2]! << 8) | b[3]!;
    let host: string;
    let used = userEnd + 1;
    if (b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0) {
      // SOCKS 4a: the host name follows the user id.
      const hostEnd = b.indexOf(0, used);
      if (hostEnd < 0) {
        return b.length - used > MAX_SOCKS_FIELD
          ? this.#fail("SOCKS 4a host name too long", this.failureReply())
          : {};
      }
      const name = hostName(b.subarray(used, hostEnd));
      used = hostEnd + 1;
      if (name === undefined) {
        return this.#fail("SOCKS 4a host name is not valid text", this.failureReply());
      }
      host = name;
      if (!host) return this.#fail("SOCKS 4a request without a host name", this.failureReply());
    } else {
      host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
    }
    if (b[1] !== 1) {
      return this.#fail(`Unsupported SOCKS 4 command ${b[1]}`, this.failureReply());
    }
    return this.#finish({ version: 4, host, port }, used);
  }

  /** VER=5 NMETHODS METHODS…: we take "no authentication" (0) or nothing. */
  #socks5Greeting(): SocksStep {
    this.#version = 5;
    const b = this.#buf;
    if (b.length < 2 || b.length < 2 + b[1]!) return {};
    const methods = b.subarray(2, 2 + b[1]!);
    if (!methods.includes(0)) {
      return this.#fail("SOCKS 5 client offers no method we accept", new Uint8Array([5, 0xff]));
    }
    this.#buf = b.slice(2 + b[1]!);
    this.#state = "socks5-request";
    return { reply: new Uint8Array([5, 0]) };
  }

  /** VER=5 CMD RSV ATYP DST.ADDR DST.PORT(2). */
  #socks5Request(): SocksStep {
    const b = this.#buf;
    if (b.length < 5) return {};
    if (b[0] !== 5) return this.#fail(`Bad SOCKS 5 request version ${b[0]}`, this.failureReply());
    // RFC 1928: X'00'. OpenSSH's ssh -D refuses a request with anything else.
    if (b[2] !== 0) {
      return this.#fail(`SOCKS 5 request with reserved byte ${b[2]} (not 0)`, this.failureReply());
    }
    let host: string;
    let at: number;
    switch (b[3]) {
      case 1:
        if (b.length < 10) return {};
        host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
        at = 8;
        break;
      case 3: {
        const n = b[4]!;
        if (b.length < 5 + n + 2) return {};
        const name = hostName(b.subarray(5, 5 + n));
        if (name === undefined) {
          return this.#fail("SOCKS 5 host name is not valid text", this.failureReply());
        }
        host = name;
        at = 5 + n;
        if (!host) {
          return this.#fail("SOCKS 5 request with an empty host name", this.failureReply());
        }
        break;
      }
      case 4: {
        if (b.length < 22) return {};
        host = formatIPv6(b.subarray(4, 20));
        at = 20;
        break;
      }
      default:
        return this.#fail(
          `Unsupported SOCKS 5 address type ${b[3]}`,
          new Uint8Array([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]),
        );
    }
    if (b[1] !== 1) {
      return this.#fail(
        `Unsupported SOCKS 5 command ${b[1]}`,
        new Uint8Array([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]),
      );
    }
    const port = (b[at]! << 8) | b[at + 1]!;
    return this.#finish({ version: 5, host, port }, at + 2);
  }
}

/**
 * An IPv6 address in the short form `inet_ntop` writes (RFC 5952: the longest run of two or
 * more zero groups as "::", an IPv4-mapped or -compatible tail as a dotted quad), as
 * OpenSSH's `ssh -D` passes it on: sshd matches PermitOpen against that text.
 *
 * @example
 * ```ts
 * import { formatIPv6 } from "./socks_codec.ts";
 * console.log(formatIPv6(new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])));
 * // "2001:db8::1"
 * ```
 */
export function formatIPv6(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len) best = { base: i, len: j - i };
    i = j;
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  const quad = () => `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  // ::a.b.c.d and ::ffff:a.b.c.d, as glibc's inet_ntop prints them.
  if (best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
    return best.len === 6 ? `::${quad()}` : `::ffff:${quad()}`;
  }
  const hex = (from: number, to: number) =>
    words.slice(from, to).map((w) => w.toString(16)).join(":");
  if (best.base < 0) return hex(0, 8);
  return `${hex(0, best.base)}::${hex(best.base + best.len, 8)}`;
}
