/**
 * Fuzzing the connection layer's parsers: mutated and random channel and global
 * messages, and random bytes into every session-request and host-key decoder.
 * Bad input may only ever produce a typed error (DisconnectError or WireError),
 * never another exception, and the channel table stays within its limits.
 */
import { test } from "node:test";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import assert from "node:assert/strict";
import { DisconnectError, WireError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import { SSHWriter } from "../wire.ts";
import { LayerPair } from "./_layer_pair.ts";
import { ConnectionLayer } from "./channels.ts";
import {
  decodeBreak,
  decodeEnv,
  decodeExitSignal,
  decodeExitStatus,
  decodePtyRequest,
  decodeStringArg,
  decodeTcpipOpen,
  decodeWindowChange,
  decodeX11Request,
  decodeXonXoff,
  encodeEnv,
  encodeExitSignal,
  encodePtyRequest,
  encodeTcpipOpen,
  encodeX11Request,
} from "./session_requests.ts";
import { decodeHostKeysAnnouncement, verifyHostKeyProofs } from "./hostkeys.ts";

/** xorshift32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function mutate(msg: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 5);
  const m = msg.slice();
  switch (kind) {
    case 0: // flip bytes
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) {
        const at = Math.floor(r() * m.length);
        m[at] = Math.floor(r() * 256);
      }
      return m;
    case 1: // truncate
      return m.subarray(0, Math.floor(r() * m.length));
    case 2: { // extend with junk
      const out = new Uint8Array(m.length + 1 + Math.floor(r() * 16));
      out.set(m);
      for (let i = m.length; i < out.length; i++) out[i] = Math.floor(r() * 256);
      return out;
    }
    case 3: { // a huge length field somewhere after the type
      if (m.length < 6) return m;
      const at = 1 + Math.floor(r() * (m.length - 4));
      new DataView(m.buffer).setUint32(at, 0xfffffff0);
      return m;
    }
    default: { // another message type
      m[0] = 80 + Math.floor(r() * 21);
      return m;
    }
  }
}

/** Valid messages a peer might send to a layer with channels 0 and 1 open. */
function corpus(): Uint8Array[] {
  const w = () => new SSHWriter(64);
  return [
    w().writeByte(Msg.GLOBAL_REQUEST).writeStringUtf8("tcpip-forward").writeBoolean(true)
      .writeStringUtf8("").writeUint32(0).toBytes(),
    w().writeByte(Msg.GLOBAL_REQUEST).writeStringUtf8("keepalive@openssh.com").writeBoolean(
      false,
    ).toBytes(),
    w().writeByte(Msg.CHANNEL_OPEN).writeStringUtf8("forwarded-tcpip").writeUint32(9)
      .writeUint32(65536).writeUint32(32768).writeBytes(encodeTcpipOpen("h", 1, "o", 2))
      .toBytes(),
    w().writeByte(Msg.CHANNEL_OPEN_CONFIRMATION).writeUint32(2).writeUint32(3).writeUint32(100)
      .writeUint32(100).toBytes(),
    w().writeByte(Msg.CHANNEL_OPEN_FAILURE).writeUint32(2).writeUint32(2).writeStringUtf8("no")
      .writeStringUtf8("").toBytes(),
    w().writeByte(Msg.CHANNEL_WINDOW_ADJUST).writeUint32(0).writeUint32(1000).toBytes(),
    w().writeByte(Msg.CHANNEL_DATA).writeUint32(0).writeString(new Uint8Array(10)).toBytes(),
    w().writeByte(Msg.CHANNEL_EXTENDED_DATA).writeUint32(1).writeUint32(1).writeString(
      new Uint8Array(3),
    ).toBytes(),
    w().writeByte(Msg.CHANNEL_EOF).writeUint32(0).toBytes(),
    w().writeByte(Msg.CHANNEL_CLOSE).writeUint32(1).toBytes(),
    w().writeByte(Msg.CHANNEL_REQUEST).writeUint32(0).writeStringUtf8("exit-status")
      .writeBoolean(false).writeUint32(3).toBytes(),
    w().writeByte(Msg.CHANNEL_REQUEST).writeUint32(1).writeStringUtf8("pty-req").writeBoolean(
      true,
    ).writeBytes(encodePtyRequest({ term: "xterm", columns: 80, rows: 24 })).toBytes(),
    w().writeByte(Msg.CHANNEL_SUCCESS).writeUint32(0).toBytes(),
    w().writeByte(Msg.CHANNEL_FAILURE).writeUint32(1).toBytes(),
    new Uint8Array([Msg.REQUEST_SUCCESS]),
    new Uint8Array([Msg.REQUEST_FAILURE]),
  ];
}

/** A layer (side a of a pair) with channels 0 and 1 open and one of ours (2) opening. */
function primedLayer(): { layer: ConnectionLayer; events: number } {
  let events = 0;
  const p = new LayerPair({
    maxChannels: 8,
    onA: () => events++,
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") pair.b.layer.acceptChannel(e.channelId);
      if (e.type === "channelRequest" && e.wantReply) {
        pair.b.layer.replyChannelRequest(e.channelId, true);
      }
    },
  });
  p.a.layer.openChannel("session");
  p.a.layer.openChannel("session");
  p.run();
  p.a.layer.sendRequest(0, "exec", true);
  p.a.layer.sendGlobalRequest("x", true);
  p.b.outbox.length = 0; // b's replies stay undelivered: a still expects them
  p.a.layer.openChannel("direct-tcpip"); // id 2, never confirmed
  return { layer: p.a.layer, events };
}

function assertTyped(e: unknown, what: string): void {
  assert.ok(
    e instanceof DisconnectError || e instanceof WireError,
    `${what}: expected a typed error, got ${(e as Error)?.stack ?? e}`,
  );
}

test("ConnectionLayer.handleMessage() throws only typed errors for mutated messages", () => {
  const r = rng(fuzzSeed(0xc0ffee));
  const base = corpus();
  let thrown = 0;
  const runs = fuzzRuns(400);
  for (let run = 0; run < runs; run++) {
    const { layer } = primedLayer();
    for (let i = 0; i < 30; i++) {
      const msg = mutate(base[Math.floor(r() * base.length)]!, r);
      if (msg.length === 0) continue;
      try {
        layer.handleMessage(msg[0]!, msg);
      } catch (e) {
        assertTyped(e, `run ${run} message ${i}`);
        thrown++;
        break; // a disconnect ends the connection
      }
      assert.ok(layer.size <= 8, "the channel table stays within maxChannels");
    }
  }
  assert.ok(thrown > runs / 8, `mutations should hit the checks (${thrown} of ${runs})`);
});

test("ConnectionLayer.handleMessage() survives random bytes of every connection type", () => {
  const r = rng(fuzzSeed(42));
  for (let run = 0; run < fuzzRuns(3000); run++) {
    const { layer } = primedLayer();
    const len = 1 + Math.floor(r() * 40);
    const msg = new Uint8Array(len);
    for (let i = 0; i < len; i++) msg[i] = Math.floor(r() * 256);
    msg[0] = 80 + (run % 21);
    // Small channel ids make the random messages hit real channels.
    if (len >= 5 && msg[0] !== Msg.GLOBAL_REQUEST && msg[0] !== Msg.CHANNEL_OPEN) {
      msg[1] = msg[2] = msg[3] = 0;
      msg[4] = msg[4]! % 4;
    }
    try {
      layer.handleMessage(msg[0]!, msg);
    } catch (e) {
      assertTyped(e, `run ${run}`);
    }
  }
});

test("session request and host key decoders throw only WireError on random and mutated input", () => {
  const r = rng(fuzzSeed(7));
  const decoders: [string, (d: Uint8Array) => unknown, Uint8Array][] = [
    ["pty-req", decodePtyRequest, encodePtyRequest({ term: "vt100", columns: 1, rows: 2 })],
    ["window-change", decodeWindowChange, new Uint8Array(16)],
    ["env", decodeEnv, encodeEnv("A", "b")],
    ["exit-status", decodeExitStatus, new Uint8Array(4)],
    [
      "exit-signal",
      decodeExitSignal,
      encodeExitSignal({ signal: "TERM", coreDumped: false, message: "", language: "" }),
    ],
    ["break", decodeBreak, new Uint8Array(4)],
    ["xon-xoff", decodeXonXoff, new Uint8Array(1)],
    [
      "x11-req",
      decodeX11Request,
      encodeX11Request({
        singleConnection: false,
        authProtocol: "MIT-MAGIC-COOKIE-1",
        authCookie: "00",
        screen: 0,
      }),
    ],
    ["tcpip", decodeTcpipOpen, encodeTcpipOpen("a", 1, "b", 2)],
    ["string", (d) => decodeStringArg(d, "command"), new Uint8Array([0, 0, 0, 1, 65])],
    ["hostkeys-00", decodeHostKeysAnnouncement, new Uint8Array([0, 0, 0, 1, 65])],
  ];
  for (const [name, decode, valid] of decoders) {
    decode(valid);
    for (let i = 0; i < fuzzRuns(500); i++) {
      const input = i % 2 ? mutate(valid, r) : Uint8Array.from(
        { length: Math.floor(r() * 24) },
        () => Math.floor(r() * 256),
      );
      try {
        decode(input);
      } catch (e) {
        assert.ok(e instanceof WireError, `${name}: ${(e as Error)?.stack ?? e}`);
      }
    }
  }
});

test("verifyHostKeyProofs() never throws on random replies", () => {
  const r = rng(fuzzSeed(99));
  const keys = [{ keyType: "ssh-ed25519", keyBlob: new Uint8Array(51) }];
  for (let i = 0; i < fuzzRuns(500); i++) {
    const reply = Uint8Array.from({ length: Math.floor(r() * 80) }, () => Math.floor(r() * 256));
    const out = verifyHostKeyProofs(new Uint8Array(32), keys, reply, "rsa-sha2-256");
    assert.equal(out.proven.length + out.failed.length, 1);
  }
});
