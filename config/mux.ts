/**
 * OpenSSH's connection multiplexing protocol (PROTOCOL.mux), the client side
 * that proxy mode needs: the hello exchange, `MUX_C_PROXY`, `MUX_C_ALIVE_CHECK`,
 * and the framing of the SSH connection messages that follow in proxy mode
 * (unencrypted, unpadded transport packets). Pure: bytes in, bytes out.
 *
 * @module
 */

import { SSHReader, SSHWriter } from "../core/wire.ts";

/** Message numbers of PROTOCOL.mux. */
export const MuxMsg = {
  HELLO: 0x00000001,
  C_NEW_SESSION: 0x10000002,
  C_ALIVE_CHECK: 0x10000004,
  C_TERMINATE: 0x10000005,
  C_OPEN_FWD: 0x10000006,
  C_CLOSE_FWD: 0x10000007,
  C_NEW_STDIO_FWD: 0x10000008,
  C_STOP_LISTENING: 0x10000009,
  C_PROXY: 0x1000000f,
  S_OK: 0x80000001,
  S_PERMISSION_DENIED: 0x80000002,
  S_FAILURE: 0x80000003,
  S_EXIT_MESSAGE: 0x80000004,
  S_ALIVE: 0x80000005,
  S_SESSION_OPENED: 0x80000006,
  S_REMOTE_PORT: 0x80000007,
  S_TTY_ALLOC_FAIL: 0x80000008,
  S_PROXY: 0x8000000f,
} as const;

/** The mux protocol version we speak (OpenSSH's current one). */
export const MUX_PROTOCOL_VERSION = 4;

/** Largest mux control message we accept (OpenSSH's own limit is 256 KiB). */
export const MAX_MUX_MESSAGE = 256 * 1024;

/** Largest proxied SSH packet we accept (OpenSSH's PACKET_MAX_SIZE). */
export const MAX_MUX_PROXY_PACKET = 256 * 1024;

/** A malformed or unexpected message from the mux master. */
export class MuxProtocolError extends Error {
  /** Machine-readable code. */
  readonly code = "ERR_MUX_PROTOCOL";
  /** An error saying what was wrong with the master's message. */
  constructor(message: string) {
    super(message);
    this.name = "MuxProtocolError";
  }
}

/** A decoded control message from the master. */
export type MuxMessage =
  | {
    readonly type: "hello";
    readonly version: number;
    readonly extensions: readonly [string, string][];
  }
  | { readonly type: "proxy"; readonly requestId: number }
  | { readonly type: "alive"; readonly requestId: number; readonly pid: number }
  | { readonly type: "ok"; readonly requestId: number }
  | { readonly type: "denied" | "failure"; readonly requestId: number; readonly reason: string }
  | { readonly type: "other"; readonly msgType: number };

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * The client's hello.
 *
 * @example
 * ```ts
 * import { encodeMuxHello } from "@sshts/ssh/config";
 * console.log(encodeMuxHello().length); // 12
 * ```
 */
export function encodeMuxHello(): Uint8Array {
  return frame(
    new SSHWriter(16).writeUint32(MuxMsg.HELLO).writeUint32(MUX_PROTOCOL_VERSION).toBytes(),
  );
}

/**
 * A request to put the control connection into proxy mode.
 *
 * @example
 * ```ts
 * import { encodeMuxProxy } from "@sshts/ssh/config";
 * console.log(encodeMuxProxy(1).length); // 12
 * ```
 */
export function encodeMuxProxy(requestId: number): Uint8Array {
  return frame(new SSHWriter(16).writeUint32(MuxMsg.C_PROXY).writeUint32(requestId).toBytes());
}

/**
 * A health check (the master answers with its pid).
 *
 * @example
 * ```ts
 * import { encodeMuxAliveCheck } from "@sshts/ssh/config";
 * console.log(encodeMuxAliveCheck(2).length); // 12
 * ```
 */
export function encodeMuxAliveCheck(requestId: number): Uint8Array {
  return frame(
    new SSHWriter(16).writeUint32(MuxMsg.C_ALIVE_CHECK).writeUint32(requestId).toBytes(),
  );
}

/**
 * Decodes one control message body (without its length).
 *
 * @example
 * ```ts
 * import { decodeMuxMessage, encodeMuxHello } from "@sshts/ssh/config";
 * console.log(decodeMuxMessage(encodeMuxHello().subarray(4)).type); // "hello"
 * ```
 */
export function decodeMuxMessage(body: Uint8Array): MuxMessage {
  try {
    const r = new SSHReader(body);
    const type = r.readUint32();
    switch (type) {
      case MuxMsg.HELLO: {
        const version = r.readUint32();
        const extensions: [string, string][] = [];
        while (r.remaining > 0) {
          extensions.push([
            r.readStringUtf8("extension name", 1024),
            r.readStringUtf8("extension value", MAX_MUX_MESSAGE),
          ]);
        }
        return { type: "hello", version, extensions };
      }
      case MuxMsg.S_PROXY:
        return { type: "proxy", requestId: r.readUint32() };
      case MuxMsg.S_ALIVE:
        return { type: "alive", requestId: r.readUint32(), pid: r.readUint32() };
      case MuxMsg.S_OK:
        return { type: "ok", requestId: r.readUint32() };
      case MuxMsg.S_PERMISSION_DENIED:
      case MuxMsg.S_FAILURE:
        return {
          type: type === MuxMsg.S_FAILURE ? "failure" : "denied",
          requestId: r.readUint32(),
          reason: r.readStringUtf8("reason", MAX_MUX_MESSAGE),
        };
      default:
        return { type: "other", msgType: type };
    }
  } catch (e) {
    if (e instanceof MuxProtocolError) throw e;
    throw new MuxProtocolError(`Malformed mux message: ${(e as Error).message}`);
  }
}

/**
 * Splits a byte stream into length-prefixed frames (the control messages, or
 * the proxied packets), with a size cap. Feed bytes with `push`; take frames
 * with `next`.
 *
 * @example
 * ```ts
 * import { encodeMuxHello, MuxFrameReader } from "@sshts/ssh/config";
 * const r = new MuxFrameReader(1024);
 * r.push(encodeMuxHello());
 * console.log(r.next()?.length); // 8
 * ```
 */
export class MuxFrameReader {
  // One buffer grown by doubling, read from #start: bytes arriving a few at a time cost a
  // copy each only when it grows (appending to a fresh copy per read was quadratic: 4 s
  // of CPU for a 256 KiB frame sent byte by byte).
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  readonly #max: number;
  /** Frames larger than `maxFrame` bytes are refused. */
  constructor(maxFrame: number) {
    this.#max = maxFrame;
  }
  /** Appends received bytes. */
  push(data: Uint8Array): void {
    if (this.#end + data.length > this.#buf.length) {
      const held = this.#end - this.#start;
      const need = held + data.length;
      if (need <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end); // room at the front: compact
      } else {
        const grown = new Uint8Array(Math.max(need, 2 * this.#buf.length, 256));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(data, this.#end);
    this.#end += data.length;
  }
  /** The next complete frame's body, or undefined until one has arrived. Throws on an oversized frame. */
  next(): Uint8Array | undefined {
    if (this.#end - this.#start < 4) return undefined;
    const len = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#start).getUint32(0);
    if (len > this.#max) {
      throw new MuxProtocolError(`Mux frame of ${len} bytes exceeds ${this.#max}`);
    }
    if (this.#end - this.#start < 4 + len) return undefined;
    const body = this.#buf.slice(this.#start + 4, this.#start + 4 + len);
    this.#start += 4 + len;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return body;
  }
  /** Bytes received but not yet part of a frame (handed on after a mode switch). */
  rest(): Uint8Array {
    const r = this.#buf.slice(this.#start, this.#end);
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
    return r;
  }
}

/**
 * Frames an SSH message (type byte first) as proxy mode wants it: uint32
 * length, a zero padding length, the payload.
 *
 * @example
 * ```ts
 * import { encodeProxyPacket } from "@sshts/ssh/config";
 * console.log([...encodeProxyPacket(new Uint8Array([80]))]); // [0, 0, 0, 2, 0, 80]
 * ```
 */
export function encodeProxyPacket(head: Uint8Array, body?: Uint8Array): Uint8Array {
  const n = head.length + (body?.length ?? 0);
  const out = new Uint8Array(5 + n);
  new DataView(out.buffer).setUint32(0, n + 1);
  out[4] = 0;
  out.set(head, 5);
  if (body) out.set(body, 5 + head.length);
  return out;
}

/**
 * The payload of a proxied packet body (after its length): checks the padding
 * length and returns the message, type byte first.
 *
 * @example
 * ```ts
 * import { decodeProxyPacket } from "@sshts/ssh/config";
 * console.log([...decodeProxyPacket(new Uint8Array([0, 80, 1]))]); // [80, 1]
 * ```
 */
export function decodeProxyPacket(body: Uint8Array): Uint8Array {
  if (body.length < 2) throw new MuxProtocolError("Proxied packet too short");
  const pad = body[0]!;
  if (pad + 2 > body.length) {
    throw new MuxProtocolError("Proxied packet padding exceeds its length");
  }
  return body.subarray(1, body.length - pad);
}
