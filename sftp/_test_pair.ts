/**
 * Test helper: our client engine wired to our server engine in memory, with a
 * promise per request.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { SFTPBackend } from "./backend.ts";
import { SFTPClientEngine, type SFTPClientEvent, type SFTPResult } from "./client_engine.ts";
import type { SFTPRequest } from "./messages.ts";
import { SFTPServerEngine, type SFTPServerEngineOptions } from "./server_engine.ts";

/** A client engine and a server engine talking through memory. */
export class EnginePair<H> {
  readonly client = new SFTPClientEngine();
  readonly server: SFTPServerEngine<H>;
  readonly #waiting = new Map<number, (r: SFTPResult) => void>();
  /** Events other than replies, in order. */
  readonly events: SFTPClientEvent[] = [];
  /** Bytes the server sent, in total. */
  serverBytes = 0;

  constructor(backend: SFTPBackend<H>, options: Omit<SFTPServerEngineOptions, "send"> = {}) {
    this.server = new SFTPServerEngine(backend, {
      ...options,
      send: (chunks) => {
        for (const c of chunks) {
          this.serverBytes += c.length;
          this.client.receiveData(c);
        }
        this.#drain();
      },
    });
  }

  /** Sends INIT and waits for VERSION. */
  async start(): Promise<ReadonlyMap<string, string>> {
    this.client.start();
    await this.flush();
    const e = this.events.shift();
    if (e?.type !== "version") throw new Error(`expected version, got ${e?.type}`);
    return e.extensions;
  }

  /** Moves the client's output to the server and waits until it answered. */
  async flush(): Promise<void> {
    for (const c of this.client.takeOutgoing()) this.server.receiveData(c);
    await this.server.idle();
    await this.server.idle();
  }

  /** Sends one request and returns its result. */
  async call(req: SFTPRequest): Promise<SFTPResult> {
    const id = this.client.request(req);
    const p = new Promise<SFTPResult>((r) => this.#waiting.set(id, r));
    await this.flush();
    return await p;
  }

  #drain(): void {
    for (let e; (e = this.client.pollEvent());) {
      if (e.type === "reply") {
        const w = this.#waiting.get(e.id);
        this.#waiting.delete(e.id);
        w?.(e.result);
      } else {
        this.events.push(e);
      }
    }
  }
}

/** `r` as a result of `kind`, or an assertion error saying what came instead. */
export function expect<K extends SFTPResult["kind"]>(
  r: SFTPResult,
  kind: K,
): Extract<SFTPResult, { kind: K }> {
  if (r.kind !== kind) {
    throw new assert.AssertionError({
      message: `expected ${kind}, got ${r.kind}${r.kind === "error" ? `: ${r.error.message}` : ""}`,
    });
  }
  return r as Extract<SFTPResult, { kind: K }>;
}
