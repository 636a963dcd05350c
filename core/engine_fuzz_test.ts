/**
 * Fuzzing the engines with mutated peer traffic. A test suite replaces the
 * cipher with an identity "cipher", so mutations reach the message parsers
 * instead of stopping at the MAC check. Every run must end in a clean state —
 * still connected or disconnected with a typed error — never an exception out
 * of receiveData, a hang, or unbounded growth.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { CipherInfo, PacketOpener, PacketSealer } from "./crypto/types.ts";
import { createDefaultSuite } from "./suite/default_suite.ts";
import { DisconnectError } from "./errors.ts";
import { seededRandom } from "./random.ts";
import { fuzzRuns, fuzzSeed } from "./_fuzz_test_util.ts";
import { makePair } from "./testing/fixtures.ts";
import type { EnginePair } from "./testing/pair.ts";
import type { TransportSuite } from "./transport/suite.ts";
import { encodeEnv, encodePtyRequest, encodeStringArg } from "./connection/session_requests.ts";

const PLAIN: CipherInfo = {
  name: "plain@fuzz",
  keyLength: 0,
  ivLength: 0,
  blockSize: 8,
  aead: true,
  tagLength: 0,
};

/** The default suite with an identity cipher, so mutated bytes reach the parsers. */
function plainSuite(): TransportSuite {
  const base = createDefaultSuite({ provider: "noble" });
  const sealer: PacketSealer = {
    blockSize: 8,
    tagLength: 0,
    lengthInClear: false,
    provider: "plain",
    seal() {},
  };
  const opener: PacketOpener = {
    firstBlockLength: 8,
    tagLength: 0,
    blockSize: 8,
    lengthInClear: false,
    provider: "plain",
    decryptLength: (_seq, first) => new DataView(first.buffer, first.byteOffset).getUint32(0),
    open: () => true,
  };
  return {
    ...base,
    cipher: (n) => (n === PLAIN.name ? PLAIN : base.cipher(n)),
    createSealer: (c, m, k) => (c.name === PLAIN.name ? sealer : base.createSealer(c, m, k)),
    createOpener: (c, m, k) => (c.name === PLAIN.name ? opener : base.createOpener(c, m, k)),
  };
}

/** A pair that authenticates and then exercises sessions, requests and data. */
function scriptedPair(seed: number): EnginePair {
  const suite = plainSuite();
  const algs = { cipher: [PLAIN.name], kex: ["curve25519-sha256"] };
  const pair = makePair({
    seed: 5,
    password: "secret",
    clientAlgorithms: algs,
    serverAlgorithms: algs,
    client: { suite, maxPasswordAttempts: 1 },
    server: { suite, loginTimeoutMs: 0 },
    onServer: (e, p) => {
      if (p.server.closed) return;
      if (e.type === "channelOpenRequest") p.server.acceptChannel(e.channelId);
      if (e.type === "channelRequest" && e.wantReply) {
        p.server.replyChannelRequest(e.channelId, true);
      }
      if (e.type === "channelData") {
        p.server.consume(e.channelId, e.data.length);
        p.server.sendData(e.channelId, e.data);
      }
      if (e.type === "channelEof") p.server.closeChannel(e.channelId);
      if (e.type === "globalRequest" && e.wantReply) {
        p.server.replyGlobalRequest(e.requestId, false);
      }
    },
    onClient: (e, p) => {
      if (p.client.closed) return false;
      if (e.type === "channelOpen") {
        p.client.sendChannelRequest(e.channelId, "env", false, encodeEnv("LANG", "C"));
        p.client.sendChannelRequest(
          e.channelId,
          "pty-req",
          true,
          encodePtyRequest({ term: "xterm", columns: 80, rows: 24 }),
        );
        p.client.sendChannelRequest(e.channelId, "exec", true, encodeStringArg("cat"));
        p.client.sendData(e.channelId, new Uint8Array(3000).fill(seed & 0xff));
        p.client.sendEof(e.channelId);
      }
      if (e.type === "authSuccess") {
        p.client.openChannel("session");
        p.client.sendGlobalRequest("keepalive@openssh.com", true);
      }
      return false;
    },
  });
  return pair;
}

function drive(pair: EnginePair): void {
  pair.run(20_000);
  pair.advance(60_000);
  // Bounded: nothing should have produced runaway event or output queues.
  assert.ok(
    pair.clientEvents.length < 5_000 && pair.serverEvents.length < 5_000,
    "event queues stay bounded",
  );
  for (const e of [...pair.clientEvents, ...pair.serverEvents]) {
    if (e.type === "disconnect") assert.ok(e.error instanceof DisconnectError);
  }
}

test("the scripted session runs cleanly without mutation", () => {
  const pair = scriptedPair(1);
  drive(pair);
  assert.ok(pair.client.authenticated);
  assert.ok(
    pair.clientEvents.some((e) => e.type === "channelClose"),
    "the session ran to its close",
  );
  assert.ok(!pair.clientEvents.some((e) => e.type === "disconnect"));
});

for (const direction of ["client to server", "server to client"] as const) {
  test(`engines survive mutated ${direction} streams with typed errors only`, () => {
    const rnd = seededRandom(fuzzSeed(direction.length));
    const byte = () => rnd(1)[0]!;
    let disconnects = 0;
    const runs = fuzzRuns(600);
    for (let i = 0; i < runs; i++) {
      const pair = scriptedPair(i);
      const target = 2 + (byte() % 14); // which chunk to damage (past the version line)
      const mode = byte() % 5;
      let n = 0;
      const mutate = (b: Uint8Array): Uint8Array => {
        if (++n !== target || b.length === 0) return b;
        const c = b.slice();
        const at = byte() % c.length;
        switch (mode) {
          case 0: // flip a bit
            c[at]! ^= 1 << (byte() % 8);
            return c;
          case 1: // overwrite a run with random bytes
            c.set(rnd(Math.min(8, c.length - at)), at);
            return c;
          case 2: // truncate
            return c.subarray(0, at);
          case 3: // a well-framed packet with a random type and body in front
            return concat(
              frame(rnd(1 + (byte() % 40)).map((x, j) => (j === 0 ? 1 + (x % 126) : x))),
              c,
            );
          default: // duplicate the chunk
            return concat(c, c);
        }
      };
      if (direction === "client to server") pair.tapClientToServer = mutate;
      else pair.tapServerToClient = mutate;
      drive(pair);
      if (
        pair.serverEvents.some((e) => e.type === "disconnect") ||
        pair.clientEvents.some((e) => e.type === "disconnect")
      ) {
        disconnects++;
      }
    }
    // Most damage must be noticed; none may escape as an exception.
    assert.ok(
      disconnects > runs / 3,
      `only ${disconnects} of ${runs} mutations led to a disconnect`,
    );
  });
}

test("a server engine fed random framed messages after authentication answers each with a typed outcome", () => {
  const rnd = seededRandom(fuzzSeed(99));
  for (let i = 0; i < fuzzRuns(300); i++) {
    const pair = scriptedPair(i);
    pair.run();
    assert.ok(pair.client.authenticated);
    // Straight into the server's receive path, bypassing the client engine.
    const type = 80 + (rnd(1)[0]! % 48);
    const body = rnd(rnd(1)[0]! % 64);
    body[0] = type;
    pair.server.receiveData(frame(body));
    pair.run();
    const d = pair.serverEvents.find((e) => e.type === "disconnect");
    if (d && d.type === "disconnect") assert.ok(d.error instanceof DisconnectError);
  }
});

function frame(payload: Uint8Array): Uint8Array {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  const out = new Uint8Array(5 + payload.length + pad);
  new DataView(out.buffer).setUint32(0, 1 + payload.length + pad);
  out[4] = pad;
  out.set(payload, 5);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
