/**
 * Rekeying around user authentication, with and without delayed compression
 * (`zlib@openssh.com`, which each side starts right after the USERAUTH_SUCCESS):
 * - a client whose KEXINIT reaches the server while it answers an authentication request
 *   makes the server hold its USERAUTH_SUCCESS until the exchange ends; compression starts
 *   when that message goes out, not before (the client starts only once it reads it);
 * - `rekey()` before authentication waits for it (sshd 9.2 leaves a KEXINIT sent during
 *   authentication unanswered, so the exchange would never end);
 * - the rekey limits cap what the options ask: never more than 2^31 packets under one key
 *   (the sequence number is chacha20-poly1305's nonce), nor more than 1 GiB under a cipher
 *   with 8-byte blocks (as OpenSSH).
 * Two bare transports run the handshake, each message handed over by the test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { createDefaultSuite, defaultAlgorithmPreferences } from "../suite/default_suite.ts";
import { ed25519Key, hostKeyMap } from "../testing/fixtures.ts";
import { Msg } from "./messages.ts";
import type { PayloadCompressor, PayloadDecompressor } from "./packet.ts";
import { MAX_REKEY_PACKETS, RekeyPolicy, SMALL_BLOCK_REKEY_BYTES } from "./rekey.ts";
import type { TransportSuite } from "./suite.ts";
import { Transport, type TransportEvent } from "./transport.ts";

interface Side {
  readonly t: Transport;
  readonly events: TransportEvent[];
  /** Message numbers handed to the layers above. */
  readonly got: number[];
  onMessage?: (type: number) => void;
}

function side(role: "client" | "server", compression: string[], suite?: TransportSuite): Side {
  const events: TransportEvent[] = [];
  const got: number[] = [];
  const s: { t?: Transport; onMessage?: (type: number) => void } = {};
  const t = new Transport(
    {
      role,
      suite: suite ?? createDefaultSuite({ provider: "noble" }),
      algorithms: { ...defaultAlgorithmPreferences(), compression },
      random: seededRandom(role === "client" ? 11 : 12),
      softwareVersion: role,
      ...(role === "server"
        ? { hostKeys: hostKeyMap([ed25519Key(7)]), serverSigAlgs: ["ssh-ed25519"] }
        : {}),
    },
    {
      emit: (e) => events.push(e),
      handleMessage: (type) => {
        got.push(type);
        s.onMessage?.(type);
      },
      onTransportReady: () => {},
      onExtInfo: () => {},
    },
  );
  t.start();
  return Object.assign(s, { t, events, got }) as Side;
}

/** Moves bytes both ways until neither side has anything to say. */
function settle(a: Side, b: Side): void {
  for (let round = 0; round < 50; round++) {
    let moved = false;
    for (const x of a.t.takeOutgoing()) {
      moved = true;
      b.t.receive(x);
    }
    for (const x of b.t.takeOutgoing()) {
      moved = true;
      a.t.receive(x);
    }
    for (const s of [a, b]) {
      const ask = s.events.find((e) => e.type === "hostKey");
      if (ask?.type === "hostKey" && s.t.phase.startsWith("hostKey")) {
        s.t.answerHostKey(ask.id, true);
        moved = true;
      }
    }
    if (!moved) return;
  }
  throw new Error("the transports never settle");
}

function errors(s: Side): string[] {
  return s.events.flatMap((e) => e.type === "disconnect" ? [e.error.message] : []);
}

/**
 * A suite whose compression runs only while `on()` says so: a client other than ours that
 * rekeys during authentication and starts `zlib@openssh.com` once it reads USERAUTH_SUCCESS.
 */
function switchableCompression(on: () => boolean): TransportSuite {
  const inner = createDefaultSuite({ provider: "noble" });
  return {
    ...inner,
    createCompressor(name: string): PayloadCompressor | null {
      let real: PayloadCompressor | null = null;
      return {
        compress: (p) => on() ? (real ??= inner.createCompressor(name)!).compress(p) : p.slice(),
      };
    },
    createDecompressor(name: string): PayloadDecompressor | null {
      let real: PayloadDecompressor | null = null;
      return {
        decompress: (d, max) =>
          on() ? (real ??= inner.createDecompressor(name)!).decompress(d, max) : d.slice(),
      };
    },
  };
}

const GLOBAL_REQUEST = new Uint8Array([Msg.GLOBAL_REQUEST, 0, 0, 0, 1, 0x78, 0]);

test("a server's USERAUTH_SUCCESS held by the client's rekey starts zlib@openssh.com when it goes out", () => {
  let clientCompresses = false;
  const client = side(
    "client",
    ["zlib@openssh.com"],
    switchableCompression(() => clientCompresses),
  );
  const server = side("server", ["zlib@openssh.com"]);
  settle(client, server);
  assert.equal(server.t.phase, "idle");
  // The client rekeys during authentication: only its own transport's rule stops that, so the
  // test lifts it (its compression stays off until it reads USERAUTH_SUCCESS, by the switch).
  client.t.onAuthenticated();
  client.t.rekey();
  for (const b of client.t.takeOutgoing()) server.t.receive(b);
  assert.equal(server.t.phase, "rekey");
  // The application answers the authentication request now: the success waits for the keys.
  server.t.send(new Uint8Array([Msg.USERAUTH_SUCCESS]));
  server.t.onAuthenticated();
  client.onMessage = (type) => {
    if (type === Msg.USERAUTH_SUCCESS) clientCompresses = true;
  };
  settle(client, server);
  assert.deepEqual([errors(client), errors(server)], [[], []]);
  assert.deepEqual(client.got, [Msg.USERAUTH_SUCCESS]);
  assert.equal(client.t.kexCount, 2);
  // Both directions compressed from here on, on both sides.
  client.t.send(GLOBAL_REQUEST);
  server.t.send(GLOBAL_REQUEST);
  settle(client, server);
  assert.deepEqual([errors(client), errors(server)], [[], []]);
  assert.deepEqual(client.got, [Msg.USERAUTH_SUCCESS, Msg.GLOBAL_REQUEST]);
  assert.deepEqual(server.got, [Msg.GLOBAL_REQUEST]);
});

test("rekey() before user authentication waits for it: sshd takes up no KEXINIT then", () => {
  for (const compression of [["none"], ["zlib@openssh.com"]]) {
    const client = side("client", compression);
    const server = side("server", compression);
    settle(client, server);
    client.t.rekey();
    server.t.rekey();
    assert.equal(client.t.phase, "idle", "nothing sent before authentication");
    assert.equal(server.t.phase, "idle");
    assert.deepEqual([client.t.takeOutgoing(), server.t.takeOutgoing()], [[], []]);
    client.onMessage = (type) => {
      if (type === Msg.USERAUTH_SUCCESS) client.t.onAuthenticated();
    };
    server.t.send(new Uint8Array([Msg.USERAUTH_SUCCESS]));
    server.t.onAuthenticated();
    settle(client, server);
    assert.deepEqual([errors(client), errors(server)], [[], []], compression[0]);
    assert.deepEqual(client.got, [Msg.USERAUTH_SUCCESS]);
    // Both asked; one exchange each way is all it takes (the second found one running or
    // already done). Messages flow over the new keys.
    assert.ok(client.t.kexCount >= 2, `kexCount ${client.t.kexCount}`);
    assert.equal(client.t.phase, "idle");
    client.t.send(GLOBAL_REQUEST);
    settle(client, server);
    assert.deepEqual(server.got, [Msg.GLOBAL_REQUEST]);
    assert.deepEqual([errors(client), errors(server)], [[], []]);
  }
});

test("rekey limits never let more than 2^31 packets, or 1 GiB under 8-byte blocks, share a key", () => {
  const p = new RekeyPolicy({ rekeyPackets: 2 ** 40, rekeyBytes: 2 ** 50 });
  const quiet = { packetsSinceKex: 0, bytesSinceKex: 0 };
  assert.equal(MAX_REKEY_PACKETS, 2 ** 31);
  assert.equal(
    p.dueByTraffic({ packetsSinceKex: MAX_REKEY_PACKETS - 1, bytesSinceKex: 0 }, quiet),
    false,
  );
  assert.equal(
    p.dueByTraffic({ packetsSinceKex: MAX_REKEY_PACKETS, bytesSinceKex: 0 }, quiet),
    true,
  );
  assert.equal(
    p.dueByTraffic(quiet, { packetsSinceKex: MAX_REKEY_PACKETS, bytesSinceKex: 0 }),
    true,
  );
  const small = { packetsSinceKex: 1, bytesSinceKex: SMALL_BLOCK_REKEY_BYTES, cipherBlockSize: 8 };
  assert.equal(p.dueByTraffic(small, quiet), true, "3des-cbc, blowfish-cbc, chacha20-poly1305");
  assert.equal(p.dueByTraffic(quiet, small), true);
  assert.equal(p.dueByTraffic({ ...small, cipherBlockSize: 16 }, quiet), false, "AES");
  // A lower limit from the options still applies.
  const low = new RekeyPolicy({ rekeyBytes: 1000 });
  assert.equal(low.dueByTraffic({ ...small, bytesSinceKex: 1000 }, quiet), true);
});
