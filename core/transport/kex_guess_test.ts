/**
 * first_kex_packet_follows (RFC 4253 §7): a peer that guessed the method and sent its
 * first kex packet at once. A wrong guess (first kex or host key algorithms differ) makes
 * that packet one to ignore; a right one makes it the exchange's first. A server
 * transport meets a client written out here, which sends what it likes in clear.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { createDefaultSuite, defaultAlgorithmPreferences } from "../suite/default_suite.ts";
import { ed25519Key, hostKeyMap } from "../testing/fixtures.ts";
import { utf8 } from "../wire.ts";
import { encodeKexInit, type KexInitLists } from "./kexinit.ts";
import { PacketReceiver, PacketSender } from "./packet.ts";
import { Transport, type TransportEvent } from "./transport.ts";

const suite = createDefaultSuite({ provider: "noble" });
const prefs = defaultAlgorithmPreferences();

function server(): { t: Transport; events: TransportEvent[] } {
  const events: TransportEvent[] = [];
  const t = new Transport(
    {
      role: "server",
      suite,
      algorithms: prefs,
      random: seededRandom(5),
      softwareVersion: "srv",
      hostKeys: hostKeyMap([ed25519Key(7)]),
    },
    {
      emit: (e) => events.push(e),
      handleMessage: () => {},
      onTransportReady: () => {},
      onExtInfo: () => {},
    },
  );
  t.start();
  return { t, events };
}

/**
 * Runs a guessing client's exchange with `kex` as its list: its KEXINIT, then the packet
 * `guess` makes of its real first kex packet, then (`thenReal`) that real one.
 */
function exchange(kex: string[], guess: (init: Uint8Array) => Uint8Array, thenReal: boolean) {
  const { t, events } = server();
  const fromServer = new PacketReceiver();
  const tx = new PacketSender(seededRandom(9));
  const lists: KexInitLists = {
    kex,
    hostKey: ["ssh-ed25519"],
    cipherC2S: prefs.cipher,
    cipherS2C: prefs.cipher,
    macC2S: prefs.mac,
    macS2C: prefs.mac,
    compressionC2S: ["none"],
    compressionS2C: ["none"],
    languageC2S: [],
    languageS2C: [],
    firstKexPacketFollows: true,
  };
  const clientKexInit = encodeKexInit(lists, seededRandom(3));
  const out = t.takeOutgoing();
  const serverVersion = new TextDecoder().decode(out[0]!).trim();
  for (const b of out.slice(1)) fromServer.push(b);
  const serverKexInit = fromServer.next()!.slice();
  const flow = suite.kex(kex[0]!)!.createClient({
    clientVersion: "SSH-2.0-guesser",
    serverVersion,
    clientKexInit,
    serverKexInit,
    random: seededRandom(4),
  });
  const init = flow.start().send[0]!;
  t.receive(utf8("SSH-2.0-guesser\r\n"));
  t.receive(tx.seal(clientKexInit));
  t.receive(tx.seal(guess(init)));
  const afterGuess = t.phase;
  if (thenReal) t.receive(tx.seal(init));
  for (const b of t.takeOutgoing()) fromServer.push(b);
  const reply = fromServer.next()?.slice();
  return { t, events, afterGuess, reply, flow };
}

test("a wrong guess: the guessed packet is ignored and the exchange runs on the real one", () => {
  // The server's first method is not curve25519-sha256: the client guessed wrong.
  assert.notEqual(prefs.kex[0], "curve25519-sha256");
  const junk = () => new Uint8Array([30, 0, 0, 0, 3, 1, 2, 3]);
  const { t, events, afterGuess, reply, flow } = exchange(["curve25519-sha256"], junk, true);
  assert.equal(afterGuess, "kex", "the guessed packet did not end the exchange");
  assert.deepEqual(events.filter((e) => e.type === "disconnect"), []);
  assert.equal(t.algorithms?.kex, "curve25519-sha256");
  const step = flow.receive(reply!);
  const r = step.result!;
  assert.ok(
    suite.verifyHostKeySignature("ssh-ed25519", r.hostKeyBlob, r.signature, r.exchangeHash),
  );
});

test("a right guess: the guessed packet is the exchange's first", () => {
  const first = prefs.kex[0]!;
  const { t, events, afterGuess, reply, flow } = exchange([first], (init) => init, false);
  assert.equal(afterGuess, "awaitNewKeys", "the server answered the guessed packet");
  assert.deepEqual(events.filter((e) => e.type === "disconnect"), []);
  assert.equal(t.algorithms?.kex, first);
  const r = flow.receive(reply!).result!;
  assert.ok(
    suite.verifyHostKeySignature("ssh-ed25519", r.hostKeyBlob, r.signature, r.exchangeHash),
  );
});
