/**
 * EngineDriver with deferred (asynchronous) packet protection: a client and a server
 * engine on WebCrypto AES-GCM, each under its own driver, over an in-memory socket pair
 * that delivers bytes late and in random slices. Data goes both ways (512 KiB each), hash-checked,
 * while both sides rekey every 64 KiB: pending seals keep their order, input framed
 * ahead of the engine is re-routed when the keys change, and a corrupted byte ends the
 * connection with a MAC error instead of accepted data.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { makePair } from "../../core/testing/fixtures.ts";
import { createDefaultSuite } from "../../core/suite/default_suite.ts";
import type { TransportSuite } from "../../core/transport/suite.ts";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { createWebCryptoGcmProtection } from "../crypto/webcrypto_gcm.ts";
import { EngineDriver } from "./driver.ts";

const GCM = "aes128-gcm@openssh.com";

function webCryptoSuite(): TransportSuite {
  const base = createDefaultSuite({ provider: "noble" });
  const web = createWebCryptoGcmProtection({ threshold: 256 });
  return {
    ...base,
    createSealer: (
      c,
      m,
      k,
    ) => (c.name === GCM ? web.createSealer(c, m, k) : base.createSealer(c, m, k)),
    createOpener: (
      c,
      m,
      k,
    ) => (c.name === GCM ? web.createOpener(c, m, k) : base.createOpener(c, m, k)),
  };
}

/** A seeded generator for slice sizes and delays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** One end of an in-memory pipe pair: bytes arrive later, in random slices. */
class MemorySocket implements ByteSocket {
  peer: MemorySocket | undefined;
  h: SocketHandlers | undefined;
  tap: ((b: Uint8Array) => Uint8Array) | undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #rand: () => number;
  constructor(seed: number) {
    this.#rand = rng(seed);
  }
  write(data: Uint8Array): boolean {
    const copy = this.tap ? this.tap(data.slice()) : data.slice();
    for (let off = 0; off < copy.length;) {
      const n = Math.min(copy.length - off, 1 + Math.floor(this.#rand() * 40_000));
      const piece = copy.subarray(off, off + n);
      off += n;
      const late = this.#rand() < 0.3;
      this.#queue = this.#queue.then(async () => {
        if (late) await new Promise((r) => setTimeout(r, 0));
        this.peer!.h?.data(piece);
      });
    }
    return true;
  }
  end(): void {
    this.#queue = this.#queue.then(() => this.peer!.h?.end());
  }
  destroy(): void {
    this.#queue = this.#queue.then(() => {
      this.h?.close();
      this.peer!.h?.close();
    });
  }
  pause(): void {}
  resume(): void {}
  setHandlers(h: SocketHandlers): void {
    this.h = h;
  }
}

function pattern(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

interface Side {
  readonly driver: EngineDriver<{ type: string }>;
  readonly received: Uint8Array[];
  channel: number;
  error: Error | undefined;
}

async function run(corrupt: boolean): Promise<{ client: Side; server: Side; kex: number }> {
  const suite = webCryptoSuite();
  const algorithms = { cipher: [GCM] };
  const pair = makePair({
    password: "secret",
    clientAlgorithms: algorithms,
    serverAlgorithms: algorithms,
    client: { suite, rekeyBytes: 64 * 1024 },
    server: { suite, rekeyBytes: 64 * 1024 },
  });
  pair.run();
  assert.ok(pair.client.authenticated);
  const a = new MemorySocket(1), b = new MemorySocket(2);
  a.peer = b;
  b.peer = a;
  const done = { client: false, server: false };
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const make = (role: "client" | "server", sock: MemorySocket): Side => {
    const engine = role === "client" ? pair.client : pair.server;
    const side: Side = {
      driver: undefined as unknown as Side["driver"],
      received: [],
      channel: -1,
      error: undefined,
    };
    const onEvent = (e: { type: string }) => {
      const ev = e as { type: string; channelId: number; data: Uint8Array; error: Error };
      if (ev.type === "channelOpenRequest") {
        pair.server.acceptChannel(ev.channelId);
        side.channel = ev.channelId;
      }
      if (ev.type === "channelData") {
        side.received.push(ev.data.slice());
        engine.consume(ev.channelId, ev.data.length);
      }
      if (ev.type === "disconnect") side.error = ev.error;
    };
    (side as { driver: Side["driver"] }).driver = new EngineDriver(
      engine as unknown as ConstructorParameters<typeof EngineDriver<{ type: string }>>[0],
      sock,
      onEvent,
      () => {
        done[role] = true;
        if (done.client || done.server) finish();
      },
    );
    return side;
  };
  const client = make("client", a);
  const server = make("server", b);
  client.channel = pair.client.openChannel("session");
  client.driver.pump();
  // Both sides send 1 MiB as the windows allow.
  const up = pattern(512 * 1024, 7), down = pattern(512 * 1024, 8);
  if (corrupt) {
    let seen = 0;
    b.tap = (bytes) => { // what the server writes
      seen += bytes.length;
      if (seen > 300_000 && seen - bytes.length <= 300_000) bytes[bytes.length >> 1]! ^= 0x40;
      return bytes;
    };
  }
  const send = async (role: "client" | "server", data: Uint8Array) => {
    const side = role === "client" ? client : server;
    const engine = role === "client" ? pair.client : pair.server;
    let off = 0;
    while (off < data.length && !engine.closed) {
      if (
        side.channel < 0 || engine.writableBytes(side.channel) === 0 || side.driver.socketFull ||
        !engine.transport.canSendNow // let each rekey finish: more of them per MiB
      ) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      off += engine.sendData(side.channel, data.subarray(off, off + 50_000));
      side.driver.pump();
      await Promise.resolve();
    }
  };
  const total = (s: Side) => s.received.reduce((n, x) => n + x.length, 0);
  const deadline = Date.now() + 30_000;
  await Promise.race([
    Promise.all([send("client", up), send("server", down)]).then(async () => {
      while (
        (total(server) < up.length || total(client) < down.length) && !pair.client.closed &&
        Date.now() < deadline
      ) await new Promise((r) => setTimeout(r, 5));
    }),
    finished,
  ]);
  if (!corrupt) {
    assert.equal(sha(Buffer.concat(server.received)), sha(up), "client → server intact");
    assert.equal(sha(Buffer.concat(client.received)), sha(down), "server → client intact");
  }
  return { client, server, kex: pair.client.transport.kexCount };
}

test("EngineDriver keeps data intact with WebCrypto AES-GCM through rekeys, sliced input", async () => {
  const r = await run(false);
  assert.equal(r.client.error, undefined);
  assert.equal(r.server.error, undefined);
  assert.ok(r.kex > 5, `rekeyed ${r.kex - 1} times`);
  assert.equal(r.client.driver.blockDirections.outbound, false);
});

test("EngineDriver with WebCrypto AES-GCM ends on a corrupted byte with a MAC error", async () => {
  const r = await run(true);
  // The byte was flipped on its way from the server to the client.
  const err = r.client.error as { code?: string } | undefined;
  assert.ok(err, "the client saw the corruption");
  assert.ok(err.code === "ERR_MAC" || err.code === "ERR_PACKET_LENGTH", String(err.code));
});
