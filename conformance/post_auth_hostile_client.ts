/**
 * A raw SSH client for hostile-peer tests: the core ClientConnection engine driven over a
 * `node:net` socket by hand, so a test can send any well-formed message under the real keys
 * (`raw()`), stop reading (`pause()`), or vanish. It logs in by password and answers nothing else.
 *
 * @module
 */
import * as net from "node:net";
import { ClientConnection, type ClientEvent } from "../core/client/client_connection.ts";
import { createDefaultSuite, defaultAlgorithmPreferences } from "../core/suite/default_suite.ts";

/** Channel window the raw client grants (small, so tests stay cheap). */
export const RAW_WINDOW = 64 * 1024;

/** A logged-in raw client: the core engine on a socket, with its events recorded. */
export class RawClient {
  readonly engine: ClientConnection;
  readonly events: ClientEvent[] = [];
  readonly closed: Promise<void>;
  readonly #sock: net.Socket;
  readonly #password: string;
  #waiters: (() => void)[] = [];

  /** Connects to 127.0.0.1:`port` and logs in as `user` with `password`. */
  constructor(port: number, user: string, password: string) {
    this.#password = password;
    this.engine = new ClientConnection({
      username: user,
      password: true,
      suite: createDefaultSuite(),
      algorithms: { ...defaultAlgorithmPreferences(), kex: ["curve25519-sha256"] },
    });
    this.#sock = net.connect({ host: "127.0.0.1", port, noDelay: true });
    this.#sock.on("data", (b: Uint8Array) => {
      this.engine.receiveData(b);
      this.pump();
    });
    this.#sock.on("end", () => {
      this.engine.receiveEof();
      this.pump();
    });
    this.#sock.on("error", () => {});
    this.closed = new Promise((r) => this.#sock.on("close", () => r()));
    void this.closed.then(() => this.#wake());
    this.pump();
  }

  /** Writes what the engine produced and records (and answers) its events. */
  pump(): void {
    for (let e; (e = this.engine.pollEvent()) !== undefined;) {
      this.events.push(e);
      if (e.type === "hostKey") this.engine.acceptHostKey(e.id);
      if (e.type === "authPasswordRequest") this.engine.providePassword(e.id, this.#password);
    }
    const out = this.engine.takeOutgoing();
    if (out.length && !this.#sock.destroyed) { for (const c of out) this.#sock.write(c); }
    if (this.engine.closed) this.#sock.end();
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds over the events (or the socket closes). */
  async until(pred: (events: readonly ClientEvent[]) => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    let closed = false;
    void this.closed.then(() => (closed = true));
    while (!pred(this.events)) {
      if (closed) return;
      if (Date.now() > deadline) throw new Error("timed out waiting for the server");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a raw connection-layer message under the current keys. */
  raw(payload: Uint8Array): void {
    this.engine.transport.send(payload);
    this.pump();
  }

  /** Opens a session channel properly; resolves our id and the server's id for it. */
  async session(): Promise<{ id: number; remote: number }> {
    const id = this.engine.openChannel("session", undefined, { window: RAW_WINDOW });
    this.pump();
    await this.until((ev) => ev.some((e) => e.type === "channelOpen" && e.channelId === id));
    // The server numbers its channels from 0 on each connection; the error messages the cases
    // expect ("after EOF on channel 0", "past the window") show the id was right.
    return { id, remote: 0 };
  }

  /** Stops reading from the socket (and so stops answering anything). */
  pause(): void {
    this.#sock.pause();
  }

  /** Tears the socket down. */
  destroy(): void {
    this.#sock.destroy();
  }
}
