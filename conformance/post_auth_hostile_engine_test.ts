/**
 * Garbage after authentication, in an engine pair: a client and a server engine (real ciphers,
 * in memory) log in and run a session with requests, data, window adjusts and global requests;
 * one connection-layer message the client sends is mutated before it is encrypted: a channel id
 * or length field set to a boundary value, the message cut short or extended, a byte changed, or
 * its type swapped for another connection message. The server must take each as a typed outcome
 * (carry on, refuse, or disconnect with a DisconnectError that has a code), never an exception,
 * a hang or unbounded queues.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeEnv,
  encodePtyRequest,
  encodeStringArg,
} from "../core/connection/session_requests.ts";
import { DisconnectError, LocalProtocolError } from "../core/errors.ts";
import { seededRandom } from "../core/random.ts";
import { makePair } from "../core/testing/fixtures.ts";
import type { EnginePair } from "../core/testing/pair.ts";

const RUNS = 40;
const BOUNDARY = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A logged-in pair whose client runs a session once `start()` is called. */
function sessionPair(): EnginePair {
  const algs = { kex: ["curve25519-sha256"], cipher: ["chacha20-poly1305@openssh.com"] };
  return makePair({
    seed: 3,
    password: "secret",
    clientAlgorithms: algs,
    serverAlgorithms: algs,
    server: { loginTimeoutMs: 0 },
    onServer: (e, p) =>
      harness(() => {
        if (p.server.closed) return;
        if (e.type === "channelOpenRequest") p.server.acceptChannel(e.channelId);
        if (e.type === "channelRequest" && e.wantReply) {
          p.server.replyChannelRequest(e.channelId, e.request !== "env");
        }
        if (e.type === "channelData") {
          p.server.consume(e.channelId, e.data.length);
          p.server.sendData(e.channelId, e.data);
        }
        if (e.type === "channelEof") p.server.closeChannel(e.channelId);
        if (e.type === "globalRequest" && e.wantReply) {
          p.server.replyGlobalRequest(e.requestId, e.name === "keepalive@openssh.com");
        }
      }),
    onClient: (e, p) => {
      if (p.client.closed) return false;
      if (e.type === "channelOpen") {
        const id = e.channelId;
        p.client.sendChannelRequest(id, "env", true, encodeEnv("LANG", "C"));
        p.client.sendChannelRequest(
          id,
          "pty-req",
          true,
          encodePtyRequest({ term: "xterm", columns: 80, rows: 24 }),
        );
        p.client.sendChannelRequest(id, "exec", true, encodeStringArg("cat"));
        p.client.sendData(id, new Uint8Array(5000).fill(7));
        p.client.sendGlobalRequest("keepalive@openssh.com", true);
        p.client.sendGlobalRequest("tcpip-forward", true, encodeStringArg("127.0.0.1"));
        p.client.sendEof(id);
      }
      if (e.type === "channelData") p.client.consume(e.channelId, e.data.length);
      return false;
    },
  });
}

test(`the server engine takes ${RUNS} mutated post-auth channel and global messages with typed outcomes`, () => {
  const rnd = seededRandom(2024);
  const byte = () => rnd(1)[0]!;
  const outcomes = new Map<string, number>();
  for (let run = 0; run < RUNS; run++) {
    const pair = sessionPair();
    pair.run();
    assert.ok(pair.client.authenticated, "logged in");
    // Mutate the n-th connection-layer message the client sends from now on.
    const target = byte() % 9;
    const mode = run % 5;
    let seen = 0;
    const t = pair.client.transport;
    const send = t.send.bind(t);
    t.send = (head: Uint8Array, body?: Uint8Array) => {
      let m = body ? concat(head, body) : head;
      const type = m[0]!;
      if (type >= 80 && type <= 100 && seen++ === target) m = mutate(m, mode, byte);
      send(m);
    };
    pair.client.openChannel("session");
    pair.run(20_000);
    pair.advance(60_000);
    assert.ok(
      pair.serverEvents.length < 5_000 && pair.clientEvents.length < 5_000,
      "event queues stay bounded",
    );
    const d = pair.serverEvents.find((e) => e.type === "disconnect");
    let outcome = "carried on";
    if (d && d.type === "disconnect") {
      assert.ok(d.error instanceof DisconnectError, `run ${run}: typed error`);
      assert.match(d.error.code, /^ERR_[A-Z_]+$/);
      outcome = d.error.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  console.error(
    `mutated post-auth messages: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
  // Most mutations break a rule the server checks; none may escape as an exception.
  const disconnects = RUNS - (outcomes.get("carried on") ?? 0);
  assert.ok(disconnects > RUNS / 3, `only ${disconnects} of ${RUNS} mutations were noticed`);
});

/**
 * Runs a handler's answers. A channel the mutation closed can vanish between an event and the
 * answer: the engine then refuses the call as misuse (LocalProtocolError), which is the
 * harness's problem, not the peer's.
 */
function harness(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof LocalProtocolError)) throw e;
  }
}

function mutate(m: Uint8Array, mode: number, byte: () => number): Uint8Array {
  const c = m.slice();
  switch (mode) {
    case 0: { // a channel id or the first length field set to a boundary value
      if (c.length < 5) return c;
      new DataView(c.buffer).setUint32(1, BOUNDARY[byte() % BOUNDARY.length]!);
      return c;
    }
    case 1: // cut short
      return c.subarray(0, 1 + (byte() % Math.max(1, c.length - 1)));
    case 2: // extended with junk
      return concat(c, new Uint8Array(1 + (byte() % 64)).fill(byte()));
    case 3: // one byte changed (not the type)
      if (c.length > 1) c[1 + (byte() % (c.length - 1))]! ^= 1 + (byte() % 255);
      return c;
    default: // another connection message type with this body
      c[0] = 80 + (byte() % 21);
      return c;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
