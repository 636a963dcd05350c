/**
 * Helpers for connect_give_up_test.ts: a peer that accepts and never closes, and a hold on the
 * grace timers, so that what closes a given-up connection is seen to be its socket's own
 * close, not a timer.
 */
import * as net from "node:net";
import { FAILED_CONNECT_GRACE_MS, SOCKET_CLOSE_GRACE_MS } from "../limits.ts";

/** A listener whose connections stay open after the client's end. */
export interface StallingPeer {
  readonly port: number;
  /** Resolves with the bytes a connection sent once the client ended it (our FIN). */
  readonly ended: Promise<Uint8Array>[];
  close(): void;
}

/**
 * Listens on a loopback port; each connection gets `banner` (if any), then nothing, and is
 * never closed from this side until `close()`.
 */
export async function stallingPeer(banner?: string): Promise<StallingPeer> {
  const held: net.Socket[] = [];
  const ended: Promise<Uint8Array>[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    held.push(s);
    s.on("error", () => {});
    if (banner !== undefined) s.write(banner);
    const chunks: Uint8Array[] = [];
    s.on("data", (d: Uint8Array) => chunks.push(new Uint8Array(d)));
    ended.push(new Promise((r) => s.on("end", () => r(concat(chunks)))));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    ended,
    close() {
      for (const s of held) s.destroy();
      server.close();
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

/**
 * From now until `release()`, the timers that close a connection after a grace never fire: of
 * {@link FAILED_CONNECT_GRACE_MS} (`shutdown()` after a failed connect) and of
 * {@link SOCKET_CLOSE_GRACE_MS} (after the engine's disconnect). Other timers run as usual;
 * `held` lists the delays held back.
 */
export function holdGraceTimers(): { readonly held: readonly number[]; release(): void } {
  const real = globalThis.setTimeout;
  const held: number[] = [];
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    if (ms !== FAILED_CONNECT_GRACE_MS && ms !== SOCKET_CLOSE_GRACE_MS) return real(fn, ms);
    held.push(ms);
    const t = real(() => {}, 0);
    clearTimeout(t);
    return t;
  }) as typeof setTimeout;
  return { held, release: () => void (globalThis.setTimeout = real) };
}
