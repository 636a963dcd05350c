/**
 * The strict-kex state walk (issue #19): for each handshake phase of each engine,
 * every message number 1-255 is injected as the peer's next packet, and the engine's
 * answer is checked against the transport's table (`phases.ts`), which is itself
 * checked against the rules written out below from RFC 4253 and OpenSSH's
 * PROTOCOL (strict kex):
 * - where strict kex forbids a message: ERR_STRICT_KEX, and a DISCONNECT goes out;
 * - where the message is unexpected otherwise: ERR_PROTOCOL, and a DISCONNECT;
 * - where it is allowed: the transport or the layer above takes it, and a number no
 *   layer knows gets UNIMPLEMENTED with its sequence number (RFC 4253 §11.4);
 * - while the client decides on the host key: nothing is read;
 * - once closed: nothing is read.
 *
 * The engines run a stand-in key exchange method (one message each way, fixed
 * secret) so that reaching a phase costs microseconds; the phases, the table and the
 * packet protection (real ciphers, real key derivation) are the production ones.
 * Packets are moved one at a time through `PacketResequencer`, so the walk stops in
 * every phase, reads each engine's output in clear and seals the injected packet
 * with the peer's current keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { ClientConnection, type ClientEvent } from "../client/client_connection.ts";
import { DisconnectError } from "../errors.ts";
import type { KexMethod, KexResult, KexStep } from "../kex/types.ts";
import type { RandomSource } from "../random.ts";
import { ServerConnection, type ServerEvent } from "../server/server_connection.ts";
import { createDefaultSuite } from "../suite/default_suite.ts";
import { ed25519Key, hostKeyMap } from "../testing/fixtures.ts";
import { type HeldPacket, PacketResequencer } from "../testing/resequence.ts";
import { concatBytes, SSHReader, SSHWriter } from "../wire.ts";
import { Msg } from "./messages.ts";
import {
  expectedIn,
  messageClass,
  TRANSPORT_PHASES,
  type TransportPhase,
  verdict,
} from "./phases.ts";
import type { TransportSuite } from "./suite.ts";

// ---- the rules, written from the RFCs (independent of the table) ----

type Answer = "ok" | "protocol" | "strict" | "hold" | "drop";
const within = (t: number, lo: number, hi: number) => t >= lo && t <= hi;
const GENERIC = (t: number) => within(t, 2, 4); // IGNORE, UNIMPLEMENTED, DEBUG
const KEX_METHOD = (t: number) => within(t, 30, 49);
const CONNECTION = (t: number) => within(t, 80, 127);

/** What RFC 4253 (and OpenSSH's strict kex) say a message gets in a phase. */
function rule(phase: TransportPhase, t: number): Answer {
  if (phase === "closed") return "drop";
  if (phase === "hostKey" || phase === "hostKeyStrict") return "hold";
  // The exchange waits for asynchronous crypto: nothing is read until it goes on.
  if (phase === "kexWait" || phase === "kexWaitStrict" || phase === "rekeyWait") return "hold";
  if (t === Msg.DISCONNECT) return "ok";
  switch (phase) {
    // Strict kex: only the exchange's own messages; even IGNORE and DEBUG are violations.
    // A kex message out of turn stays a plain protocol error, as OpenSSH reports it.
    case "kexStrict":
      return KEX_METHOD(t) ? "ok" : t === Msg.NEWKEYS ? "protocol" : "strict";
    case "awaitNewKeysStrict":
      return t === Msg.NEWKEYS ? "ok" : KEX_METHOD(t) ? "protocol" : "strict";
    // RFC 4253 §7.1: until the exchange ends, only transport messages of the exchange.
    case "awaitKexInit":
      return GENERIC(t) || t === Msg.KEXINIT ? "ok" : "protocol";
    case "kex":
      return GENERIC(t) || KEX_METHOD(t) ? "ok" : "protocol";
    case "awaitNewKeys":
      return GENERIC(t) || t === Msg.NEWKEYS ? "ok" : "protocol";
    // No exchange running: NEWKEYS and kex messages are out of place; all else flows.
    case "idle":
    case "rekeyAwaitKexInit":
      return t === Msg.NEWKEYS || KEX_METHOD(t) ? "protocol" : "ok";
    // A rekey: the exchange's messages, plus connection messages the peer sent before
    // its NEWKEYS (AsyncSSH; OpenSSH accepts them).
    case "rekey":
      return GENERIC(t) || KEX_METHOD(t) || CONNECTION(t) ? "ok" : "protocol";
    case "rekeyAwaitNewKeys":
      return GENERIC(t) || t === Msg.NEWKEYS || CONNECTION(t) ? "ok" : "protocol";
  }
}

/** Numbers no layer of ours implements: they must get UNIMPLEMENTED where allowed. */
function unknownNumber(t: number, authenticated: boolean): boolean {
  const c = messageClass(t);
  return c === "transportOther" || c === "algorithmOther" || c === "clientProtocols" ||
    c === "localExtensions" || (authenticated && within(t, 101, 127));
}

// ---- a stand-in key exchange: one message each way, a fixed secret ----

const STAND_IN_KEX = "walk-kex@sshts.invalid";

function standInResult(
  ctx: { clientKexInit: Uint8Array; serverKexInit: Uint8Array },
  blob: Uint8Array,
): KexResult {
  return {
    sharedSecret: new SSHWriter().writeMpint(42n).toBytes(),
    exchangeHash: sha256(concatBytes(ctx.clientKexInit, ctx.serverKexInit)),
    hostKeyBlob: blob,
    signature: new Uint8Array(0),
  };
}

/** A step that waits (for a transport that allows it) before it is `step`. */
function maybeWait(ctx: { allowWait?: boolean }, step: KexStep): KexStep {
  return ctx.allowWait
    ? { send: [], wait: { ready: Promise.resolve(), resume: () => step } }
    : step;
}

const standInKex: KexMethod = {
  name: STAND_IN_KEX,
  hash: "sha256",
  createClient(ctx) {
    let done = false;
    return {
      start: () => maybeWait(ctx, { send: [new Uint8Array([30])] }),
      receive(payload) {
        if (done || payload[0] !== 31) throw new Error(`stand-in kex: unexpected ${payload[0]}`);
        done = true;
        const blob = new SSHReader(payload, 1).readString("host key").slice();
        return { send: [], result: standInResult(ctx, blob) };
      },
    };
  },
  createServer(ctx, options) {
    let done = false;
    return {
      receive(payload) {
        if (done || payload[0] !== 30) throw new Error(`stand-in kex: unexpected ${payload[0]}`);
        done = true;
        const blob = options.hostKey.publicKeyBlob;
        const reply = new SSHWriter().writeByte(31).writeString(blob).toBytes();
        return maybeWait(ctx, { send: [reply], result: standInResult(ctx, blob) });
      },
    };
  },
};

const INNER_SUITE = createDefaultSuite({ provider: "noble" });

function standInSuite(): TransportSuite {
  const inner = INNER_SUITE;
  return {
    ...inner,
    kex: (name) => (name === STAND_IN_KEX ? standInKex : inner.kex(name)),
    verifyHostKeySignature: () => true,
  };
}

// ---- driving two engines one packet at a time ----

const HOST_KEYS = hostKeyMap([ed25519Key(7)]);
const ALGORITHMS = {
  kex: [STAND_IN_KEX],
  hostKey: ["ssh-ed25519"],
  // Sealing depends on the sequence number alone: a packet can be sealed for any position.
  cipher: ["chacha20-poly1305@openssh.com"],
  mac: ["hmac-sha2-256"],
  compression: ["none"],
};

type Side = "client" | "server";
type Engine = ClientConnection | ServerConnection;
const other = (s: Side): Side => (s === "client" ? "server" : "client");

/** Deterministic and cheap (an xorshift): the walk needs repeatable bytes, not secrecy. */
function walkRandom(seed: number): RandomSource {
  let x = seed;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

const WAIT_PHASES: readonly TransportPhase[] = ["kexWait", "kexWaitStrict", "rekeyWait"];

function newEngine(side: Side, strict: boolean, suite: TransportSuite, asyncKex: boolean): Engine {
  return side === "client"
    ? new ClientConnection({
      username: "walker",
      password: true,
      suite,
      algorithms: ALGORITHMS,
      random: walkRandom(19),
      strictKex: strict,
      asyncKex,
    })
    : new ServerConnection({
      suite,
      algorithms: ALGORITHMS,
      random: walkRandom(20),
      hostKeys: HOST_KEYS,
      methods: ["password"],
      failureDelayMs: 0,
      strictKex: strict,
      asyncKex,
    });
}

/**
 * Answers an engine's events as a walk does: the host key and a key exchange's wait
 * (its work is done at once) unless the walk holds the engine in that phase, a password,
 * auth.
 */
function answer(engine: Engine, hold: TransportPhase | undefined): (ClientEvent | ServerEvent)[] {
  const events: (ClientEvent | ServerEvent)[] = [];
  for (let e; (e = engine.pollEvent()) !== undefined;) {
    events.push(e);
    if (e.type === "kexWait" && engine.transport.phase !== hold) engine.resumeKex(e.id);
    if (engine instanceof ClientConnection) {
      const holdHostKey = hold === "hostKey" || hold === "hostKeyStrict";
      if (e.type === "hostKey" && !holdHostKey) engine.acceptHostKey(e.id);
      if (e.type === "authPasswordRequest") engine.providePassword(e.id, "pw");
    } else {
      if (e.type === "authNone") engine.answerAuth(e.id, { result: "failure" });
      if (e.type === "authPassword") engine.answerAuth(e.id, { result: "success" });
    }
  }
  return events;
}

/** One step of what an engine went through: bytes from the peer, or a call on it. */
type Step = Uint8Array | "rekey" | "disconnect";

/**
 * How one engine reached a phase: everything it was fed, and the peer's packet
 * sealer, to make the peer's next packet. Replaying the steps into a fresh engine
 * (same seed, same answers) brings it to the same phase in a fraction of the time.
 */
interface Recording {
  readonly side: Side;
  readonly strict: boolean;
  /** Both engines let their key exchange wait (to reach the wait phases). */
  readonly asyncKex: boolean;
  /** The phase the engine is held in (a host key question or a key exchange's wait). */
  readonly hold: TransportPhase | undefined;
  readonly steps: readonly Step[];
  readonly peer: PacketResequencer;
  /** Keys the engine reads the peer's next packet under. */
  readonly readEpoch: number;
}

/** Runs a client and a server one packet at a time until `side` is in `target`. */
function record(side: Side, strict: boolean, target: TransportPhase): Recording {
  const asyncKex = WAIT_PHASES.includes(target);
  const reseq = {
    client: new PacketResequencer(standInSuite(), { strictKex: strict }),
    server: new PacketResequencer(standInSuite(), { strictKex: strict }),
  };
  const engines = {
    client: newEngine("client", strict, reseq.client.suite, asyncKex),
    server: newEngine("server", strict, reseq.server.suite, asyncKex),
  };
  const queue: Record<Side, HeldPacket[]> = { client: [], server: [] };
  const steps: Step[] = [];
  let readEpoch = 0;
  const hold = target === "hostKey" || target === "hostKeyStrict" || asyncKex ? target : undefined;
  const e = engines[side];
  const client = engines.client as ClientConnection;
  const flowing = target === "idle" || target === "closed" || target.startsWith("rekey");
  let rekeyStarted = false;
  const done = (): Recording => ({
    side,
    strict,
    hold,
    asyncKex,
    steps,
    peer: reseq[other(side)],
    readEpoch,
  });
  for (let step = 0; step < 1_000; step++) {
    for (const s of ["client", "server"] as const) {
      answer(engines[s], s === side ? hold : undefined);
    }
    for (const s of ["client", "server"] as const) {
      queue[other(s)].push(...reseq[s].split(engines[s].takeOutgoing()));
    }
    assert.ok(!e.closed || target === "closed", `${side} closed on the way to ${target}`);
    const settled = queue.client.length === 0 && queue.server.length === 0;
    if (flowing && e.transport.phase === "idle" && client.authenticated && settled) {
      if (target === "idle") return done();
      steps.push(target === "closed" ? "disconnect" : "rekey");
      if (target === "closed") {
        e.disconnect();
        return done();
      }
      assert.ok(!rekeyStarted);
      rekeyStarted = true;
      e.rekey();
      continue;
    }
    const versionRead = e.transport.peerVersion !== null;
    if ((!flowing && versionRead || rekeyStarted) && e.transport.phase === target) return done();
    const to = queue[side].length ? side : other(side);
    const p = queue[to].shift();
    assert.ok(p, `${side} never reaches ${target}`);
    const [bytes] = reseq[other(to)].seal([p]);
    if (to === side) {
      steps.push(bytes!);
      if (p.type !== -1) readEpoch = p.epoch + (p.type === Msg.NEWKEYS ? 1 : 0);
    }
    engines[to].receiveData(bytes!);
  }
  assert.fail(`${side} never reaches ${target}`);
}

/** A fresh engine brought to the recorded phase; its output comes back in clear. */
function replay(rec: Recording): { engine: Engine; reseq: PacketResequencer } {
  const reseq = new PacketResequencer(standInSuite(), { strictKex: rec.strict });
  const engine = newEngine(rec.side, rec.strict, reseq.suite, rec.asyncKex);
  for (const step of rec.steps) {
    engine.takeOutgoing();
    if (step === "rekey") engine.rekey();
    else if (step === "disconnect") engine.disconnect();
    else engine.receiveData(step);
    answer(engine, rec.hold);
  }
  engine.takeOutgoing();
  return { engine, reseq };
}

/** The phases each engine goes through: strict pairs for most, a plain pair for the others. */
const PLAN: readonly { side: Side; strict: boolean; phases: readonly TransportPhase[] }[] = [
  ...(["client", "server"] as const).map((side) => ({
    side,
    strict: true,
    phases: [
      "awaitKexInit",
      "kexStrict",
      "kexWaitStrict",
      ...(side === "client" ? ["hostKeyStrict" as const] : []),
      "awaitNewKeysStrict",
      "idle",
      "rekeyAwaitKexInit",
      "rekey",
      "rekeyWait",
      "rekeyAwaitNewKeys",
      "closed",
    ] as TransportPhase[],
  })),
  ...(["client", "server"] as const).map((side) => ({
    side,
    strict: false,
    phases: [
      "kex",
      "kexWait",
      ...(side === "client" ? ["hostKey" as const] : []),
      "awaitNewKeys",
    ] as TransportPhase[],
  })),
];

const PAYLOAD_TAIL = new Uint8Array(12); // zeros: empty strings, false, 0

test("strict kex state walk: every message number in every phase of both engines gets the table's answer", () => {
  // The table says what the RFCs say.
  for (const phase of TRANSPORT_PHASES) {
    for (let t = 1; t <= 255; t++) {
      const v = verdict(t, phase);
      const answer = v === "transport" || v === "up" ? "ok" : v === "reject" ? "protocol" : v;
      assert.equal(answer, rule(phase, t), `table: message ${t} in ${phase}`);
    }
  }
  // The engines do what the table says.
  const walked = new Set<TransportPhase>();
  let checks = 0;
  for (const { side, strict, phases } of PLAN) {
    for (const phase of phases) {
      const rec = record(side, strict, phase);
      const baseSeq = rec.peer.nextSeq(rec.readEpoch);
      let current: { engine: Engine; reseq: PacketResequencer; injected: number } | undefined;
      for (let t = 1; t <= 255; t++) {
        const where = `${side} in ${phase}, message ${t}`;
        current ??= { ...replay(rec), injected: 0 };
        const { engine, reseq } = current;
        assert.equal(engine.transport.phase, phase, where);
        const authenticated = engine instanceof ClientConnection
          ? engine.authenticated
          : engine.username !== undefined && phase !== "awaitKexInit";
        const seq = baseSeq + current.injected++;
        const payload = concatBytes(new Uint8Array([t]), PAYLOAD_TAIL);
        engine.receiveData(rec.peer.sealAt(rec.peer.build(rec.readEpoch, payload), seq));
        const out = reseq.split(engine.takeOutgoing());
        const events = answer(engine, rec.hold);
        const v = verdict(t, phase);
        const gateError = events.find((e): e is Extract<typeof e, { type: "disconnect" }> =>
          e.type === "disconnect" && e.error.detail === "unexpected-message" &&
          JSON.stringify(e.error.expected) === JSON.stringify(expectedIn(phase))
        );
        if (v === "reject" || v === "strict") {
          assert.ok(gateError, `${where}: refused by the table`);
          const err = gateError.error;
          assert.ok(err instanceof DisconnectError);
          assert.equal(err.code, v === "strict" ? "ERR_STRICT_KEX" : "ERR_PROTOCOL", where);
          assert.equal(err.got, t, where);
          const disconnect = out.find((p) => p.type === Msg.DISCONNECT);
          assert.ok(disconnect, `${where}: DISCONNECT sent`);
          const reason = new DataView(disconnect.bytes.buffer).getUint32(6);
          assert.equal(reason, 2, `${where}: PROTOCOL_ERROR`);
          assert.equal(engine.closed, true, where);
        } else if (v === "hold" || v === "drop") {
          assert.deepEqual(events, [], `${where}: nothing read`);
          assert.deepEqual(out, [], `${where}: nothing sent`);
        } else {
          assert.equal(gateError, undefined, `${where}: passed by the table`);
          if (v === "up" && unknownNumber(t, authenticated)) {
            assert.equal(engine.closed, false, `${where}: an unknown number is no error`);
            const reply = out.find((p) => p.type === Msg.UNIMPLEMENTED);
            if (engine.transport.canSendNow) {
              assert.ok(reply, `${where}: UNIMPLEMENTED sent`);
              const replySeq = new DataView(reply.bytes.buffer).getUint32(6);
              assert.equal(replySeq, seq, `${where}: for its sequence number`);
            } else assert.equal(reply, undefined, `${where}: replies wait for the new keys`);
          }
        }
        checks++;
        walked.add(phase);
        // Keep the engine for the next number only if the message left it in the phase.
        if ((engine.closed && phase !== "closed") || engine.transport.phase !== phase) {
          current = undefined;
        }
      }
    }
  }
  assert.deepEqual(TRANSPORT_PHASES.filter((p) => !walked.has(p)), [], "every phase walked");
  assert.equal(checks, 255 * PLAN.reduce((n, p) => n + p.phases.length, 0));
});
