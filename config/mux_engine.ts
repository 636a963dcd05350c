/**
 * A client engine for an OpenSSH master's proxy mode (`MUX_C_PROXY`): the
 * master already holds an authenticated connection, so this engine skips
 * version exchange, key exchange and user authentication, and carries the
 * connection protocol (channels, global requests) in proxy mode's unencrypted
 * framing. It is a {@link ClientConnection} (same commands, same events), so
 * `io/`'s client connection runs on it unchanged.
 *
 * @module
 */

import {
  ClientConnection,
  type ClientConnectionOptions,
  type ClientEvent,
} from "../core/client/client_connection.ts";
import type { ChannelOptions } from "../core/connection/channels.ts";
import { ConnectionLayer } from "../core/connection/channels.ts";
import type { ConnectionEvent } from "../core/connection/events.ts";
import { DisconnectError, DisconnectReason, LocalProtocolError } from "../core/errors.ts";
import { EventQueue } from "../core/event_queue.ts";
import { Msg } from "../core/transport/messages.ts";
import { totalLength } from "../core/wire.ts";
import {
  decodeProxyPacket,
  encodeProxyPacket,
  MAX_MUX_PROXY_PACKET,
  MuxFrameReader,
} from "./mux.ts";

/**
 * The connection protocol over a mux master in proxy mode. Construct it once
 * the master answered `MUX_C_PROXY`; feed it the bytes that follow.
 *
 * @example
 * ```ts ignore
 * const engine = new MuxProxyEngine(engineOptions);
 * const id = engine.openChannel("session");
 * socket.write(engine.takeOutgoing()[0]);
 * ```
 */
export class MuxProxyEngine extends ClientConnection {
  readonly #layer: ConnectionLayer;
  readonly #frames = new MuxFrameReader(MAX_MUX_PROXY_PACKET);
  readonly #events = new EventQueue<ClientEvent>();
  #out: Uint8Array[] = [];
  #closed = false;
  #now = 0;

  /** A proxy-mode engine; `options` as for a normal client (only maxChannels matters). */
  constructor(options: ClientConnectionOptions) {
    super(options);
    // The base class queued a version line and KEXINIT for a transport we never use.
    super.takeOutgoing();
    this.#layer = new ConnectionLayer(
      (head, body) => {
        if (!this.#closed) this.#out.push(encodeProxyPacket(head, body));
      },
      (e) => this.#onConnectionEvent(e),
      options.maxChannels,
    );
  }

  /** Feeds bytes from the master (proxy framing); a bad frame ends the connection with a `disconnect` event. */
  override receiveData(data: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#frames.push(data);
      for (let body; (body = this.#frames.next()) !== undefined;) {
        const msg = decodeProxyPacket(body);
        const type = msg[0]!;
        if (type === Msg.DISCONNECT) {
          this.#fail("The mux master disconnected", DisconnectReason.BY_APPLICATION);
          return;
        }
        if (type === Msg.IGNORE || type === Msg.DEBUG) continue;
        if (type < 80 || type > 127 || !this.#layer.handleMessage(type, msg)) {
          this.#fail(
            `Unexpected message ${type} from the mux master`,
            DisconnectReason.PROTOCOL_ERROR,
          );
          return;
        }
      }
    } catch (e) {
      this.#fail(
        `Mux proxy stream error: ${(e as Error).message}`,
        DisconnectReason.PROTOCOL_ERROR,
      );
    }
  }

  /** The application drops our proxy connection (the master and its connection stay up). */
  override abandon(description: string): void {
    if (!this.#closed) this.#fail(description, DisconnectReason.BY_APPLICATION);
  }

  /** The master closed the socket. */
  override receiveEof(): void {
    if (!this.#closed) {
      this.#fail("The mux master closed the connection", DisconnectReason.CONNECTION_LOST);
    }
  }

  /** How many bytes {@link takeOutgoing} would return (the driver flushes by it). */
  override get outgoingBytes(): number {
    return totalLength(this.#out);
  }

  /** Framed messages to write to the master. */
  override takeOutgoing(): Uint8Array[] {
    const o = this.#out;
    this.#out = [];
    return o;
  }

  /** The next event (channel and global-request events, or `disconnect`). */
  override pollEvent(): ClientEvent | undefined {
    return this.#events.poll();
  }

  /** Never: timers belong to the master. */
  override nextDeadline(): number | undefined {
    return undefined;
  }

  /** Records the time (nothing here runs on timers). */
  override handleTimeout(now: number): void {
    this.#now = now;
  }

  /** Always true: the master authenticated. */
  override get authenticated(): boolean {
    return true;
  }

  /** Whether the proxy connection ended. */
  override get closed(): boolean {
    return this.#closed;
  }

  /** Unknown here (the master authenticated). */
  override get serverSigAlgs(): readonly string[] | undefined {
    return undefined;
  }

  /** The time last given to `handleTimeout`. */
  override get now(): number {
    return this.#now;
  }

  /** No host key to check: the master did. */
  override acceptHostKey(): void {}
  /** No host key to check: the master did. */
  override rejectHostKey(): void {}
  /** No authentication here. */
  override provideSignature(): void {}
  /** No authentication here. */
  override providePassword(): void {}
  /** No authentication here. */
  override providePasswordChange(): void {}
  /** No authentication here. */
  override provideKbdintResponses(): void {}

  /** Opens a channel through the master. */
  override openChannel(channelType: string, data?: Uint8Array, options?: ChannelOptions): number {
    this.#check("open a channel");
    return this.#layer.openChannel(channelType, data, options);
  }

  /** Accepts a channel the server opened. */
  override acceptChannel(channelId: number, options?: ChannelOptions): void {
    this.#layer.acceptChannel(channelId, options);
  }

  /** Refuses a channel the server opened. */
  override rejectChannel(channelId: number, reason: number, description?: string): void {
    this.#layer.rejectChannel(channelId, reason, description);
  }

  /** Sends a channel request. */
  override sendChannelRequest(
    channelId: number,
    request: string,
    wantReply: boolean,
    data?: Uint8Array,
  ): void {
    this.#layer.sendRequest(channelId, request, wantReply, data);
  }

  /** Answers a channel request. */
  override replyChannelRequest(channelId: number, success: boolean): void {
    this.#layer.replyChannelRequest(channelId, success);
  }

  /** Sends channel data; returns how many bytes the window took (0 on a freed channel). */
  override sendData(channelId: number, data: Uint8Array, stream = 0): number {
    return this.#layer.sendData(channelId, data, stream);
  }

  /** Bytes that may be sent now on a channel. */
  override writableBytes(channelId: number): number {
    return this.#closed ? 0 : this.#layer.writableBytes(channelId);
  }

  /** Reports consumed bytes, reopening the window. */
  override consume(channelId: number, n: number): void {
    this.#layer.consume(channelId, n);
  }

  /** Changes the window kept granted on a channel (see ConnectionLayer.setWindowSize). */
  override setWindowSize(channelId: number, size: number): void {
    this.#layer.setWindowSize(channelId, size);
  }

  /** Sends EOF on a channel. */
  override sendEof(channelId: number): void {
    this.#layer.sendEof(channelId);
  }

  /** Closes a channel. */
  override closeChannel(channelId: number): void {
    this.#layer.close(channelId);
  }

  /** Facts about a channel. */
  override channelInfo(channelId: number): ReturnType<ConnectionLayer["info"]> {
    return this.#layer.info(channelId);
  }

  /** Sends a global request through the master. */
  override sendGlobalRequest(name: string, wantReply: boolean, data?: Uint8Array): number {
    this.#check("send a global request");
    return this.#layer.sendGlobalRequest(name, wantReply, data);
  }

  /** Answers a global request. */
  override replyGlobalRequest(requestId: number, success: boolean, data?: Uint8Array): void {
    this.#layer.replyGlobalRequest(requestId, success, data);
  }

  /** The master owns the connection: other clients may still open sessions on it. */
  override noMoreSessions(): void {}

  /** Key exchange belongs to the master. */
  override rekey(): void {}

  /** The transport belongs to the master, which forwards channel traffic only. */
  override sendDebug(_message: string, _alwaysDisplay?: boolean): void {
    throw new LocalProtocolError(
      "Cannot send a DEBUG message over an OpenSSH master: the master owns the transport",
    );
  }

  /** Ends our proxy connection (the master and its connection stay up). */
  override disconnect(
    reason: number = DisconnectReason.BY_APPLICATION,
    description = "Disconnected by application",
  ): void {
    if (this.#closed) return;
    this.#fail(description, reason);
  }

  #check(what: string): void {
    if (this.#closed) throw new LocalProtocolError(`Cannot ${what}: the connection is closed`);
  }

  #fail(message: string, reason: number): void {
    this.#closed = true;
    const code = reason === DisconnectReason.PROTOCOL_ERROR
      ? "ERR_PROTOCOL"
      : reason === DisconnectReason.BY_APPLICATION
      ? "ERR_BY_APPLICATION"
      : "ERR_CONNECTION_LOST";
    this.#events.push({ type: "disconnect", error: new DisconnectError(code, reason, message) });
  }

  #onConnectionEvent(e: ConnectionEvent): void {
    if (e.type === "globalRequest" && e.name === "keepalive@openssh.com") {
      if (e.wantReply) this.#layer.replyGlobalRequest(e.requestId, false);
      return;
    }
    this.#events.push(e);
  }
}
