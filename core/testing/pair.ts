/**
 * A client engine and a server engine wired back to back in memory, on a virtual
 * clock: the harness for deterministic engine tests (handshakes, rekeying,
 * timeouts) without sockets or sleeps.
 *
 * @module
 */

import type { ClientConnection, ClientEvent } from "../client/client_connection.ts";
import type { ServerConnection, ServerEvent } from "../server/server_connection.ts";

/** Handles one event; the pair calls it for every event each side raises. */
export type EventHandler<E> = (e: E) => void;

/**
 * Runs two engines against each other. Bytes move only when `run()` is called,
 * so tests can inspect or tamper with traffic in between (`tapClientToServer`).
 *
 * @example
 * ```ts ignore
 * const pair = new EnginePair(client, server, onClient, onServer);
 * pair.run();             // until both sides are idle
 * pair.advance(60_000);   // move the virtual clock and fire deadlines
 * ```
 */
export class EnginePair {
  /** The client engine. */
  readonly client: ClientConnection;
  /** The server engine. */
  readonly server: ServerConnection;
  /** Virtual time, ms. */
  now = 1_000;
  /** Every event raised, in order, for assertions. */ readonly clientEvents: ClientEvent[] = [];
  /** Every event the server raised, in order. */
  readonly serverEvents: ServerEvent[] = [];
  /** Bytes sent each way so far. */ bytesClientToServer = 0;
  /** Bytes sent from the server to the client so far. */
  bytesServerToClient = 0;
  /** Rewrites (or drops, by returning an empty array) bytes in flight. */ tapClientToServer:
    | ((b: Uint8Array) => Uint8Array)
    | undefined;
  /** Rewrites (or drops) bytes from the server to the client. */
  tapServerToClient: ((b: Uint8Array) => Uint8Array) | undefined;
  /**
   * Rewrites each round's batch of chunks as a whole, before the taps (reordering,
   * holding back). Called every round, with an empty batch too.
   */ transformClientToServer: ((chunks: readonly Uint8Array[]) => Uint8Array[]) | undefined;
  /** Rewrites each round's batch from the server to the client. */
  transformServerToClient: ((chunks: readonly Uint8Array[]) => Uint8Array[]) | undefined;
  readonly #onClient: EventHandler<ClientEvent>;
  readonly #onServer: EventHandler<ServerEvent>;

  /** Wires the engines; handlers answer their events (host key, auth, ...). */
  constructor(
    client: ClientConnection,
    server: ServerConnection,
    onClient: EventHandler<ClientEvent>,
    onServer: EventHandler<ServerEvent>,
  ) {
    this.client = client;
    this.server = server;
    this.#onClient = onClient;
    this.#onServer = onServer;
    client.handleTimeout(this.now);
    server.handleTimeout(this.now);
  }

  /** Moves bytes and events until neither side has anything left to do. Returns rounds run. */
  run(maxRounds = 100_000): number {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      let fromClient = this.client.takeOutgoing();
      if (this.transformClientToServer) fromClient = this.transformClientToServer(fromClient);
      for (const chunk of fromClient) {
        const b = this.tapClientToServer ? this.tapClientToServer(chunk) : chunk;
        this.bytesClientToServer += b.length;
        if (b.length) this.server.receiveData(b);
        moved = true;
      }
      let fromServer = this.server.takeOutgoing();
      if (this.transformServerToClient) fromServer = this.transformServerToClient(fromServer);
      for (const chunk of fromServer) {
        const b = this.tapServerToClient ? this.tapServerToClient(chunk) : chunk;
        this.bytesServerToClient += b.length;
        if (b.length) this.client.receiveData(b);
        moved = true;
      }
      for (let e; (e = this.client.pollEvent()) !== undefined;) {
        this.clientEvents.push(e);
        this.#onClient(e);
        moved = true;
      }
      for (let e; (e = this.server.pollEvent()) !== undefined;) {
        this.serverEvents.push(e);
        this.#onServer(e);
        moved = true;
      }
      if (!moved) return round;
    }
    throw new Error(`EnginePair did not settle within ${maxRounds} rounds`);
  }

  /**
   * Opens a session channel from the client and accepts it on the server, then runs:
   * returns the channel's id on each side.
   */
  openSession(options?: { readonly window?: number }): { client: number; server: number } {
    const client = this.client.openChannel("session", undefined, options);
    this.run();
    const open = [...this.serverEvents].reverse().find((e) => e.type === "channelOpenRequest");
    if (open?.type !== "channelOpenRequest") throw new Error("The server saw no channel open");
    this.server.acceptChannel(open.channelId);
    this.run();
    return { client, server: open.channelId };
  }

  /** Advances the virtual clock by `ms`, firing each deadline on the way, then runs. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      this.run();
      const next = [this.client.nextDeadline(), this.server.nextDeadline()]
        .filter((d): d is number => d !== undefined && d <= end)
        .sort((a, b) => a - b)[0];
      if (next === undefined) break;
      this.now = Math.max(this.now, next);
      this.client.handleTimeout(this.now);
      this.server.handleTimeout(this.now);
    }
    this.now = end;
    this.client.handleTimeout(this.now);
    this.server.handleTimeout(this.now);
    this.run();
  }
}
