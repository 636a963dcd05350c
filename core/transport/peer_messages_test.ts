/**
 * What a peer's generic messages may do to the transport: EXT_INFO only where RFC 8308
 * §2.4 puts it (a client's right after its first NEWKEYS; a server's then and once more
 * before USERAUTH_SUCCESS), and DISCONNECT or DEBUG text that is not UTF-8 (OpenSSH,
 * PuTTY and libssh read it as bytes) neither hides the peer's reason nor ends the connection.
 * Two bare transports run the handshake; the test seals the peer's extra packets itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { createDefaultSuite, defaultAlgorithmPreferences } from "../suite/default_suite.ts";
import { ed25519Key, hostKeyMap } from "../testing/fixtures.ts";
import { SSHWriter } from "../wire.ts";
import { Msg } from "./messages.ts";
import { PacketSender } from "./packet.ts";
import { Transport, type TransportEvent } from "./transport.ts";

interface Side {
  readonly t: Transport;
  readonly events: TransportEvent[];
  readonly extInfos: ReadonlyMap<string, Uint8Array>[];
  /** Message numbers sent through the layers-above path (`send`), UNIMPLEMENTED included. */
  readonly sent: number[];
}

function side(role: "client" | "server", strictKex: boolean): Side {
  const events: TransportEvent[] = [];
  const extInfos: ReadonlyMap<string, Uint8Array>[] = [];
  const sent: number[] = [];
  const t = new Transport(
    {
      role,
      suite: createDefaultSuite({ provider: "noble" }),
      algorithms: defaultAlgorithmPreferences(),
      random: seededRandom(role === "client" ? 1 : 2),
      softwareVersion: role,
      strictKex,
      ...(role === "server"
        ? { hostKeys: hostKeyMap([ed25519Key(7)]), serverSigAlgs: ["ssh-ed25519"] }
        : {}),
    },
    {
      emit: (e) => events.push(e),
      handleMessage: () => {},
      onTransportReady: () => {},
      onExtInfo: (ext) => extInfos.push(ext),
    },
  );
  t.packetObserver = (direction, type) => {
    if (direction === "out") sent.push(type);
  };
  t.start();
  return { t, events, extInfos, sent };
}

/** A client and a server transport after their first key exchange. */
function handshake(strictKex = true): { client: Side; server: Side } {
  const client = side("client", strictKex), server = side("server", strictKex);
  for (let round = 0; round < 20; round++) {
    for (const b of client.t.takeOutgoing()) server.t.receive(b);
    for (const b of server.t.takeOutgoing()) client.t.receive(b);
    const ask = client.events.find((e) => e.type === "hostKey");
    if (ask?.type === "hostKey" && client.t.phase.startsWith("hostKey")) {
      client.t.answerHostKey(ask.id, true);
    }
    if (client.t.phase === "idle" && server.t.phase === "idle") {
      for (const b of client.t.takeOutgoing()) server.t.receive(b);
      for (const b of server.t.takeOutgoing()) client.t.receive(b);
      return { client, server };
    }
  }
  throw new Error("no handshake");
}

/** Seals packets as `from` would, from sequence number `seq` on, for its peer to read. */
function forger(from: Side, seq: number): (payload: Uint8Array) => Uint8Array {
  const tx = new PacketSender((n) => new Uint8Array(n));
  tx.setSealer(from.t.sealer);
  tx.seq = seq;
  return (payload) => tx.seal(payload);
}

function extInfo(sigAlgs: string): Uint8Array {
  return new SSHWriter().writeByte(Msg.EXT_INFO).writeUint32(1).writeStringUtf8("server-sig-algs")
    .writeStringUtf8(sigAlgs).toBytes();
}

const sigAlgs = (ext: ReadonlyMap<string, Uint8Array>) =>
  new TextDecoder().decode(ext.get("server-sig-algs"));

test("a client takes a server's EXT_INFO after NEWKEYS and one more before authentication, not after", () => {
  const { client, server } = handshake();
  assert.deepEqual(client.extInfos.map(sigAlgs), ["ssh-ed25519"], "the one after NEWKEYS");
  const forge = forger(server, client.t.currentSequence + 1);
  // The second one RFC 8308 allows: just before USERAUTH_SUCCESS.
  client.t.receive(forge(extInfo("rsa-sha2-512")));
  assert.deepEqual(client.extInfos.map(sigAlgs), ["ssh-ed25519", "rsa-sha2-512"]);
  assert.deepEqual(client.sent, []);
  // A third: not taken, answered with UNIMPLEMENTED as OpenSSH does; the connection goes on.
  client.t.receive(forge(extInfo("ssh-dss")));
  assert.equal(client.extInfos.length, 2);
  assert.deepEqual(client.sent, [Msg.UNIMPLEMENTED]);
  assert.equal(client.t.closed, false);
});

test("a client does not take a server's EXT_INFO once authentication succeeded", () => {
  const { client, server } = handshake();
  client.t.onAuthenticated();
  const forge = forger(server, client.t.currentSequence + 1);
  client.t.receive(forge(extInfo("ssh-dss")));
  client.t.receive(forge(extInfo("ssh-dss")));
  assert.deepEqual(client.extInfos.map(sigAlgs), ["ssh-ed25519"]);
  assert.deepEqual(client.sent, [Msg.UNIMPLEMENTED, Msg.UNIMPLEMENTED]);
  assert.equal(client.t.closed, false);
});

test("a server takes a client's EXT_INFO only as its first packet after NEWKEYS, once", () => {
  for (const strict of [true, false]) {
    const { client, server } = handshake(strict);
    // Strict kex restarts the client's numbers at its NEWKEYS.
    const forge = forger(client, strict ? 0 : server.t.currentSequence + 1);
    server.t.receive(forge(extInfo("x")));
    assert.equal(server.extInfos.length, 1, `strict ${strict}: the first packet`);
    server.t.receive(forge(extInfo("y")));
    assert.equal(server.extInfos.length, 1, `strict ${strict}: a second one`);
    assert.deepEqual(server.sent, [Msg.UNIMPLEMENTED]);
  }
  const { client, server } = handshake();
  const forge = forger(client, 0);
  server.t.receive(forge(new Uint8Array([Msg.IGNORE, 0, 0, 0, 0])));
  server.t.receive(forge(extInfo("x")));
  assert.equal(server.extInfos.length, 0, "after another packet");
  assert.deepEqual(server.sent, [Msg.UNIMPLEMENTED]);
  assert.equal(server.t.closed, false);
});

test("a peer's DISCONNECT whose text is not UTF-8 is still its DISCONNECT, reason and text kept", () => {
  const { client, server } = handshake();
  const forge = forger(server, client.t.currentSequence + 1);
  const text = new Uint8Array([0x41, 0xe9, 0x1b, 0x42]); // Latin-1 "Aé", ESC, "B"
  client.t.receive(
    forge(
      new SSHWriter().writeByte(Msg.DISCONNECT).writeUint32(11).writeString(text)
        .writeStringUtf8("").toBytes(),
    ),
  );
  const d = client.events.find((e) => e.type === "disconnect");
  assert.ok(d?.type === "disconnect");
  assert.ok(d.error instanceof DisconnectError);
  assert.equal(d.error.code, "ERR_PEER_DISCONNECTED");
  assert.equal(d.error.reason, 11);
  assert.equal(d.error.fromPeer, true);
  assert.match(d.error.message, /A\\xe9\\x1bB/);
  assert.deepEqual(client.t.takeOutgoing(), [], "no DISCONNECT back to a peer that left");
});

test("a DEBUG whose text is not UTF-8, or longer than any log line, does not end the connection", () => {
  const { client, server } = handshake();
  const forge = forger(server, client.t.currentSequence + 1);
  const debug = (text: Uint8Array) =>
    new SSHWriter().writeByte(Msg.DEBUG).writeBoolean(false).writeString(text).writeStringUtf8("")
      .toBytes();
  client.t.receive(forge(debug(new Uint8Array([0x63, 0x61, 0x66, 0xe9]))));
  client.t.receive(forge(debug(new Uint8Array(100 * 1024).fill(0x61))));
  assert.equal(client.t.closed, false);
  const texts = client.events.flatMap((e) => e.type === "debug" ? [e.message] : []);
  assert.deepEqual(texts.map((t) => t.length), [4, 64 * 1024]);
  assert.equal(texts[0], "caf\uDCE9");
});
