/**
 * The channels of one connection, for either role: channels we open (waiting
 * for the peer's answer), channels we accept, and the routing of every
 * per-channel engine event to its {@link ChannelIO}. The client and the server
 * connection each hold one, so opening, refusal ({@link ChannelOpenError}),
 * routing and failing everything on close behave the same on both sides.
 *
 * @module
 */

import {
  type ChannelOptions,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
} from "../../core/connection/channels.ts";
import type { ConnectionEvent } from "../../core/connection/events.ts";
import { type ChannelEngine, ChannelIO, type ChannelPump } from "./channel.ts";
import { ChannelOpenError } from "./errors.ts";

/** The engine operations the table needs (both client and server engines have them). */
export interface ChannelTableEngine extends ChannelEngine {
  /** Sends CHANNEL_OPEN; returns our channel id. */
  openChannel(channelType: string, data?: Uint8Array, options?: ChannelOptions): number;
  /** Confirms a channel the peer opened. */
  acceptChannel(channelId: number, options?: ChannelOptions): void;
  /** Refuses a channel the peer opened. */
  rejectChannel(channelId: number, reason: number, description?: string): void;
}

/** Per-channel flow-control settings of a connection. */
export interface ChannelTableOptions {
  /** Window we grant per channel (bytes); default {@link DEFAULT_WINDOW}. */
  readonly windowSize?: number | undefined;
  /** Largest data packet we accept per channel; default {@link DEFAULT_MAX_PACKET}. */
  readonly maxPacketSize?: number | undefined;
}

interface Opening {
  readonly ch: ChannelIO;
  readonly resolve: (ch: ChannelIO) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Channels of one connection, by our channel id.
 *
 * @example
 * ```ts ignore
 * const table = new ChannelTable(engine, () => driver, { windowSize: 2 * 1024 * 1024 });
 * const ch = await table.open("session"); // ChannelOpenError if the peer refuses
 * for (let e; (e = engine.pollEvent());) if (!table.route(e)) handleOther(e);
 * ```
 */
export class ChannelTable {
  readonly #engine: ChannelTableEngine;
  readonly #driver: () => ChannelPump;
  readonly #window: number;
  readonly #maxPacket: number;
  readonly #channels = new Map<number, ChannelIO>();
  readonly #opening = new Map<number, Opening>();

  /**
   * A table for `engine`, pumped by the driver `driver()` returns (late-bound: the
   * driver may deliver events as soon as it exists, so the table comes first).
   */
  constructor(
    engine: ChannelTableEngine,
    driver: () => ChannelPump,
    options: ChannelTableOptions = {},
  ) {
    this.#engine = engine;
    this.#driver = driver;
    this.#window = options.windowSize ?? DEFAULT_WINDOW;
    this.#maxPacket = options.maxPacketSize ?? DEFAULT_MAX_PACKET;
  }

  /** Whether channel `id` is open here (accepted, or confirmed by the peer). */
  has(id: number): boolean {
    return this.#channels.has(id);
  }

  /**
   * Opens a channel and resolves once the peer confirms it; rejects with
   * {@link ChannelOpenError} when the peer refuses. `streams`: readable streams
   * to keep (2 for sessions: stdout and stderr; 1 for forwarding). `sizes`
   * overrides the table's window and largest packet for this channel (SFTP
   * wants a bigger window).
   */
  open(
    channelType: string,
    data?: Uint8Array,
    streams: 1 | 2 = 2,
    sizes: { readonly window?: number | undefined; readonly maxPacket?: number | undefined } = {},
  ): Promise<ChannelIO> {
    const window = sizes.window ?? this.#window;
    let id: number;
    try {
      id = this.#engine.openChannel(channelType, data, {
        window,
        maxPacket: sizes.maxPacket ?? this.#maxPacket,
      });
    } catch (e) {
      // What the engine refuses (misuse before authentication, a NUL in the type) rejects
      // like every other failure: never a throw from a promise's method.
      return Promise.reject(e);
    }
    const pump = this.#driver();
    const ch = new ChannelIO(id, this.#engine, pump, window, streams);
    const opened = new Promise<ChannelIO>((resolve, reject) =>
      this.#opening.set(id, { ch, resolve, reject })
    );
    pump.pump();
    return opened;
  }

  /** Confirms a channel the peer opened and returns it. */
  accept(id: number, streams: 1 | 2 = 2): ChannelIO {
    this.#engine.acceptChannel(id, this.#channelOptions());
    const pump = this.#driver();
    const ch = new ChannelIO(id, this.#engine, pump, this.#window, streams);
    this.#channels.set(id, ch);
    pump.pump();
    return ch;
  }

  /** Refuses a channel the peer opened (nothing once the engine is closed). */
  reject(id: number, reason: number, description: string): void {
    if (this.#engine.closed) return;
    this.#engine.rejectChannel(id, reason, description);
    this.#driver().pump();
  }

  /**
   * Handles an engine event that belongs to a channel: the peer's answer to an
   * open, data, EOF, requests and their replies, window growth and close (the
   * channel is forgotten once closed); after a key exchange, wakes every
   * channel's blocked writers. Returns false for events it does not handle.
   */
  route(e: { readonly type: string }): boolean {
    const ev = e as ConnectionEvent | { readonly type: "kexComplete" };
    switch (ev.type) {
      case "channelOpen": {
        const o = this.#opening.get(ev.channelId);
        if (!o) return true;
        this.#opening.delete(ev.channelId);
        this.#channels.set(ev.channelId, o.ch);
        o.resolve(o.ch);
        return true;
      }
      case "channelOpenFailure": {
        const o = this.#opening.get(ev.channelId);
        this.#opening.delete(ev.channelId);
        o?.reject(new ChannelOpenError(ev.reason, ev.description));
        return true;
      }
      case "channelClose": {
        const ch = this.#channels.get(ev.channelId);
        this.#channels.delete(ev.channelId);
        ch?.handleEvent(ev);
        return true;
      }
      case "channelData":
      case "channelEof":
      case "channelCloseReceived":
      case "channelRequest":
      case "channelRequestReply":
      case "channelWritable":
        this.#channels.get(ev.channelId)?.handleEvent(ev);
        return true;
      case "kexComplete":
        for (const ch of this.#channels.values()) ch.wakeWriters();
        return true;
      default:
        return false;
    }
  }

  /**
   * The connection is gone: every channel fails with `channelError`, and every
   * open still waiting for the peer rejects with `openError`.
   */
  failAll(channelError: Error, openError: Error = channelError): void {
    for (const o of this.#opening.values()) {
      o.ch.abort(channelError);
      o.reject(openError);
    }
    this.#opening.clear();
    for (const ch of this.#channels.values()) ch.abort(channelError);
    this.#channels.clear();
  }

  #channelOptions(): ChannelOptions {
    return { window: this.#window, maxPacket: this.#maxPacket };
  }
}
