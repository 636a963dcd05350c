/**
 * The client engine against the server engine, in memory, on a virtual clock,
 * with seeded randomness: every algorithm, authentication, channels, rekeying,
 * timeouts, strict kex.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519Key, lcgBytes, makePair, p256Key } from "./testing/fixtures.ts";
import { nodeRsaKey } from "./publickey/_test_util.ts";
import { DEFAULT_KEX, INSECURE_KEX } from "./kex/registry.ts";
import { DEFAULT_CIPHERS, DEFAULT_MACS } from "./crypto/registry.ts";
import { DisconnectError, NoCommonAlgorithmError } from "./errors.ts";
import type { ClientEvent } from "./client/client_connection.ts";
import type { ServerEvent } from "./server/server_connection.ts";
import type { EnginePair } from "./testing/pair.ts";
import { Msg } from "./transport/messages.ts";
import { concatBytes, SSHWriter } from "./wire.ts";
import { isTransient } from "./transient_buffers.ts";

function disconnectOf(events: readonly (ClientEvent | ServerEvent)[]): DisconnectError | undefined {
  for (const e of events) if (e.type === "disconnect") return e.error;
  return undefined;
}

function authed(pair: EnginePair): void {
  const d = disconnectOf(pair.clientEvents) ?? disconnectOf(pair.serverEvents);
  assert.equal(d, undefined, d?.message);
  assert.ok(pair.client.authenticated, "client authenticated");
  assert.equal(pair.server.username, "tester");
}

/** Opens a session channel on an authenticated pair, echoes data through it, returns what came back. */
function echoThroughChannel(pair: EnginePair, data: Uint8Array, chunk = Infinity): Uint8Array {
  let serverChannel = -1;
  const received: Uint8Array[] = [];
  const c = pair.client.openChannel("session");
  pair.run();
  for (const e of pair.serverEvents) {
    if (e.type === "channelOpenRequest") serverChannel = e.channelId;
  }
  pair.server.acceptChannel(serverChannel);
  pair.run();
  let off = 0;
  const seenServer = pair.serverEvents.length;
  const seenClient = pair.clientEvents.length;
  let sIdx = seenServer, cIdx = seenClient;
  while (off < data.length || received.reduce((n, b) => n + b.length, 0) < data.length) {
    if (off < data.length) off += pair.client.sendData(c, data.subarray(off, off + chunk));
    pair.run();
    for (; sIdx < pair.serverEvents.length; sIdx++) {
      const e = pair.serverEvents[sIdx]!;
      if (e.type === "channelData") {
        let sent = 0;
        while (sent < e.data.length) {
          const n = pair.server.sendData(serverChannel, e.data.subarray(sent));
          sent += n;
          if (n === 0) pair.run();
        }
        pair.server.consume(serverChannel, e.data.length);
      }
    }
    pair.run();
    for (; cIdx < pair.clientEvents.length; cIdx++) {
      const e = pair.clientEvents[cIdx]!;
      if (e.type === "channelData") {
        received.push(e.data);
        pair.client.consume(c, e.data.length);
      }
    }
    pair.run();
    const d = disconnectOf(pair.clientEvents) ?? disconnectOf(pair.serverEvents);
    if (d) throw d;
  }
  const out = new Uint8Array(data.length);
  let o = 0;
  for (const b of received) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

for (const kex of [...DEFAULT_KEX, ...INSECURE_KEX, "diffie-hellman-group-exchange-sha256"]) {
  test(`engines complete ${kex} and authenticate by password`, () => {
    const pair = makePair({
      clientAlgorithms: { kex: [kex] },
      serverAlgorithms: { kex: [...DEFAULT_KEX, ...INSECURE_KEX] },
      password: "secret",
    });
    pair.run();
    authed(pair);
    assert.equal(pair.client.transport.algorithms?.kex, kex);
    assert.ok(pair.client.transport.strictKex);
  });
}

for (const cipher of DEFAULT_CIPHERS) {
  for (
    const mac of cipher.includes("gcm") || cipher.includes("poly1305")
      ? [DEFAULT_MACS[0]!]
      : DEFAULT_MACS
  ) {
    test(`engines carry channel data with ${cipher} and ${mac}`, () => {
      const pair = makePair({
        clientAlgorithms: { cipher: [cipher], mac: [mac] },
        password: "secret",
      });
      pair.run();
      authed(pair);
      const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
      assert.deepEqual(echoThroughChannel(pair, data), data);
      assert.equal(pair.client.transport.algorithms?.cipherC2S, cipher);
    });
  }
}

for (const compression of ["zlib@openssh.com", "zlib"]) {
  test(`engines carry channel data with ${compression} compression`, () => {
    const pair = makePair({
      clientAlgorithms: { compression: [compression] },
      serverAlgorithms: { compression: ["none", "zlib@openssh.com", "zlib"] },
      password: "secret",
    });
    pair.run();
    authed(pair);
    const text = new TextEncoder().encode(
      "all work and no play makes jack a dull boy\n".repeat(2000),
    );
    const before = pair.bytesClientToServer;
    assert.deepEqual(echoThroughChannel(pair, text), text);
    assert.ok(pair.bytesClientToServer - before < text.length / 4, "compressed on the wire");
  });
}

const rsa = nodeRsaKey(2048).material;
for (
  const [name, hostKey, hostAlg] of [
    ["ed25519", ed25519Key(3), "ssh-ed25519"],
    ["ecdsa-p256", p256Key(4), "ecdsa-sha2-nistp256"],
    ["rsa-sha2-512", rsa, "rsa-sha2-512"],
    ["rsa-sha2-256", rsa, "rsa-sha2-256"],
  ] as const
) {
  test(`engines verify a ${name} host key and log in with a ${name.split("-")[0]} user key`, () => {
    const pair = makePair({
      hostKeys: [hostKey],
      clientAlgorithms: { hostKey: [hostAlg] },
      clientKeys: [hostKey],
    });
    pair.run();
    authed(pair);
    assert.equal(pair.client.transport.algorithms?.hostKey, hostAlg);
    const success = pair.clientEvents.find((e) => e.type === "authSuccess");
    assert.equal(success?.type === "authSuccess" && success.method, "publickey");
  });
}

test("client uses rsa-sha2-512 for an RSA user key when the server lists it in server-sig-algs", () => {
  let used = "";
  const pair = makePair({
    clientKeys: [rsa],
    onClient: (e) => {
      if (e.type === "authSignRequest") used = e.algorithm;
    },
  });
  pair.run();
  authed(pair);
  assert.equal(used, "rsa-sha2-512");
});

test("engines authenticate by keyboard-interactive when password is not offered", () => {
  const pair = makePair({
    serverMethods: ["keyboard-interactive"],
    password: "secret",
    clientAuth: { keyboardInteractive: true },
  });
  pair.run();
  authed(pair);
});

test("client reports PermissionDenied listing what it tried when every method fails", () => {
  const pair = makePair({
    password: "wrong",
    clientKeys: [ed25519Key(9)],
    serverVerdict: (e) => (e.type === "authPublicKey" ? { result: "failure" } : undefined),
  });
  pair.client.handleTimeout(pair.now);
  pair.run();
  const d = disconnectOf(pair.clientEvents);
  assert.ok(d);
  assert.equal(d.code, "ERR_PERMISSION_DENIED");
  assert.equal(d.detail, "auth-methods-exhausted");
  // The message itself is what this test is about: it names what was tried.
  assert.match(d.message, /tried publickey, password/);
});

test("server delays failure replies and disconnects after maxAuthTries", () => {
  // Answer every password request with a wrong password.
  const pair2 = makePair({
    server: { failureDelayMs: 1000, maxAuthTries: 3 },
    clientAuth: { password: true, maxPasswordAttempts: 10 },
    onClient: (e, p) => {
      if (e.type !== "authPasswordRequest") return false;
      p.client.providePassword(e.id, "wrong" + e.attempt);
      return true;
    },
  });
  pair2.run();
  const failuresBefore = pair2.clientEvents.filter((e) => e.type === "authFailure").length;
  assert.equal(failuresBefore, 0, "the first failure is held back");
  pair2.advance(1000);
  assert.equal(pair2.clientEvents.filter((e) => e.type === "authFailure").length, 1);
  pair2.advance(10_000);
  const d = disconnectOf(pair2.serverEvents);
  assert.ok(d, "server gave up");
  assert.equal(d.code, "ERR_PERMISSION_DENIED");
  assert.equal(d.detail, "too-many-auth-failures");
});

test("server cuts an unauthenticated connection at the login timeout", () => {
  // A client that never answers its password prompt.
  const pair = makePair({
    server: { loginTimeoutMs: 30_000 },
    clientAuth: { password: true },
    onClient: (e) => e.type === "authPasswordRequest",
  });
  pair.run();
  assert.ok(!pair.client.authenticated);
  pair.advance(29_000);
  assert.equal(disconnectOf(pair.serverEvents), undefined);
  pair.advance(2_000);
  const d = disconnectOf(pair.serverEvents);
  assert.equal(d?.code, "ERR_TIMEOUT");
  assert.ok(disconnectOf(pair.clientEvents), "client learns of the disconnect");
});

test("engines rekey by bytes while data keeps flowing", () => {
  const pair = makePair({ password: "secret", client: { rekeyBytes: 64 * 1024 } });
  pair.run();
  authed(pair);
  const data = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) & 0xff);
  assert.deepEqual(echoThroughChannel(pair, data, 16 * 1024), data);
  const rekeys = pair.clientEvents.filter((e) => e.type === "kexComplete" && !e.initial).length;
  assert.ok(rekeys >= 10, `rekeyed ${rekeys} times`);
});

test("engines rekey by time on the virtual clock, started by the server", () => {
  const pair = makePair({ password: "secret", server: { rekeyIntervalMs: 60_000 } });
  pair.run();
  authed(pair);
  pair.advance(59_000);
  assert.equal(pair.serverEvents.filter((e) => e.type === "kexComplete").length, 1);
  pair.advance(2_000);
  assert.equal(pair.serverEvents.filter((e) => e.type === "kexComplete").length, 2);
  assert.equal(pair.clientEvents.filter((e) => e.type === "kexComplete").length, 2);
});

test("an Infinity duration is no deadline: nextDeadline() is undefined, not Infinity", () => {
  const pair = makePair({
    password: "secret",
    client: { rekeyIntervalMs: Infinity, keepaliveIntervalMs: Infinity },
    server: { rekeyIntervalMs: Infinity },
  });
  pair.run();
  authed(pair);
  // A sans-IO caller's setTimeout(d - now) with d = Infinity fires at once, then again.
  assert.equal(pair.client.nextDeadline(), undefined);
  assert.equal(pair.server.nextDeadline(), undefined);
});

test("client keepalive detects a server that stopped answering", () => {
  const pair = makePair({
    password: "secret",
    client: { keepaliveIntervalMs: 15_000, keepaliveCountMax: 3 },
  });
  pair.run();
  authed(pair);
  pair.advance(40_000);
  assert.equal(disconnectOf(pair.clientEvents), undefined, "a live server answers keepalives");
  pair.tapServerToClient = () => new Uint8Array(0); // the server goes silent
  pair.advance(15_000 * 5);
  const d = disconnectOf(pair.clientEvents);
  assert.equal(d?.code, "ERR_KEEPALIVE");
});

test("a full handshake replays byte for byte with the same seeds", () => {
  const record = () => {
    const out: number[] = [];
    const pair = makePair({ seed: 42, password: "secret" });
    pair.tapClientToServer = (b) => (out.push(...b), b);
    pair.tapServerToClient = (b) => (out.push(...b), b);
    pair.run();
    authed(pair);
    return out;
  };
  const a = record();
  const b = record();
  assert.ok(a.length > 1000);
  assert.deepEqual(a, b);
});

/**
 * Makes the server send a real IGNORE ahead of its KEXINIT: the IGNORE is queued
 * after the KEXINIT (its sequence number is 1) and the tap swaps the two, so the
 * client sees IGNORE first with both sides' sequence numbers in step afterwards.
 */
function ignoreBeforeKexInit(pair: EnginePair): void {
  pair.server.transport.sendIgnore(new Uint8Array(4));
  let held: Uint8Array | undefined;
  let n = 0;
  pair.tapServerToClient = (b) => {
    n++;
    if (n === 2) {
      held = b; // KEXINIT
      return new Uint8Array(0);
    }
    if (n === 3 && held) {
      const out = new Uint8Array(b.length + held.length);
      out.set(b);
      out.set(held, b.length);
      return out;
    }
    return b;
  };
}

test("client disconnects a server that sends IGNORE before KEXINIT under strict kex", () => {
  const pair = makePair({ password: "secret" });
  ignoreBeforeKexInit(pair);
  pair.run();
  const d = disconnectOf(pair.clientEvents);
  assert.equal(d?.code, "ERR_STRICT_KEX");
  assert.equal(d!.detail, "kexinit-not-first");
});

test("without strict kex, an IGNORE before KEXINIT is accepted", () => {
  const pair = makePair({ password: "secret", client: { strictKex: false } });
  ignoreBeforeKexInit(pair);
  pair.run();
  authed(pair);
  assert.equal(pair.client.transport.strictKex, false);
});

test("requireStrictKex refuses a peer without strict kex", () => {
  const pair = makePair({ client: { requireStrictKex: true }, server: { strictKex: false } });
  pair.run();
  assert.equal(disconnectOf(pair.clientEvents)?.code, "ERR_STRICT_KEX");
});

test("a flipped bit on the wire after NEWKEYS is a MAC error", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  authed(pair);
  pair.tapServerToClient = (b) => {
    const c = b.slice();
    c[c.length - 1]! ^= 1;
    return c;
  };
  pair.server.sendGlobalRequest("test@example", false);
  pair.run();
  assert.equal(disconnectOf(pair.clientEvents)?.code, "ERR_MAC");
});

test("channel data past the window disconnects with a channel error", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  authed(pair);
  const { client: c } = pair.openSession({ window: 1000 });
  // A misbehaving server: the engine refuses to do it, so build the message by hand.
  const msg = new SSHWriter().writeByte(Msg.CHANNEL_DATA).writeUint32(c).writeString(
    new Uint8Array(2000),
  ).toBytes();
  (pair.server.transport as unknown as { send(p: Uint8Array): void }).send(msg);
  pair.run();
  const d = disconnectOf(pair.clientEvents);
  assert.equal(d?.code, "ERR_CHANNEL");
  assert.equal(d!.detail, "window-exceeded");
});

test("no common cipher gives NoCommonAlgorithmError listing both sides", () => {
  const pair = makePair({
    clientAlgorithms: { cipher: ["aes128-ctr"] },
    serverAlgorithms: { cipher: ["aes256-gcm@openssh.com"] },
  });
  pair.run();
  const d = disconnectOf(pair.clientEvents);
  assert.equal(d?.code, "ERR_NO_COMMON_ALGORITHM");
  assert.ok(d instanceof NoCommonAlgorithmError);
  assert.equal(d.kind, "cipher (client to server)");
  assert.deepEqual(d.ours, ["aes128-ctr"]);
  assert.deepEqual(d.theirs, ["aes256-gcm@openssh.com"]);
});

test("borrowChannelData: data decrypted in place is lent until the next receiveData; events still queued then get their own copies; decompressed data is never lent", () => {
  for (const compression of ["none", "zlib@openssh.com"]) {
    const pair = makePair({
      password: "secret",
      client: { borrowChannelData: true },
      // An opener that decrypts in place (no node:crypto detached output in the noble suite).
      clientAlgorithms: {
        cipher: ["aes128-ctr"],
        mac: ["hmac-sha2-256"],
        compression: [compression],
      },
      serverAlgorithms: { compression: [compression] },
    });
    pair.run();
    authed(pair);
    const { client: c, server: sc } = pair.openSession();
    const clientData = () => {
      const out: { data: Uint8Array; borrowed: boolean }[] = [];
      for (let e; (e = pair.client.pollEvent()) !== undefined;) {
        if (e.type !== "channelData") continue;
        out.push({ data: e.data.slice(), borrowed: e.borrowed === true });
        assert.equal(isTransient(e.data), e.borrowed !== true, "lent data is never transient");
        if (e.borrowed !== true) assert.ok(!("borrowed" in e), "an event's shape is as before");
      }
      return out;
    };
    const serverSends = (data: Uint8Array) => {
      assert.equal(pair.server.sendData(sc, data), data.length);
      return concatBytes(...pair.server.takeOutgoing());
    };
    // A large packet first, so the client's receive buffer grows and is reused from now on.
    const big = lcgBytes(20_000, 3);
    pair.client.receiveData(serverSends(big));
    const first = clientData();
    assert.deepEqual(first.map((d) => d.borrowed), [compression === "none"]);
    assert.deepEqual(first[0]!.data, big);
    pair.client.consume(c, big.length);
    pair.run();

    const one = lcgBytes(1000, 1);
    const two = lcgBytes(1000, 2);
    const bytesOne = serverSends(one);
    const bytesTwo = serverSends(two);
    pair.client.receiveData(bytesOne);
    // Not polled before the next bytes: the receive buffer is overwritten under it.
    const [queued] = (() => {
      const held: (ClientEvent & { type: "channelData" })[] = [];
      for (let e; (e = pair.client.pollEvent()) !== undefined;) {
        if (e.type === "channelData") held.push(e);
      }
      return held;
    })();
    assert.ok(queued);
    assert.equal(queued.borrowed === true, compression === "none");
    assert.deepEqual(queued.data, one, "lent data is intact while it is handled");
    pair.client.receiveData(bytesTwo);
    // Polled: the lend ended with the next receiveData (the receive buffer is reused).
    const polledThenOverwritten = queued.data;
    const second = clientData();
    assert.deepEqual(second.map((d) => d.data), [two]);
    // Now bytes arrive while an event still waits in the queue.
    const three = lcgBytes(1000, 4);
    const four = lcgBytes(1000, 5);
    pair.client.receiveData(serverSends(three));
    pair.client.receiveData(serverSends(four));
    const both = clientData();
    assert.deepEqual(both.map((d) => d.data), [three, four], "queued data was copied first");
    assert.deepEqual(both.map((d) => d.borrowed), [false, compression === "none"]);
    if (compression === "none") {
      assert.notDeepEqual(polledThenOverwritten, one, "the lent view was reused, as documented");
    }
  }
});

test("abandon() ends the connection here: nothing sent, one local ERR_BY_APPLICATION disconnect", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  authed(pair);
  const { client } = pair.openSession();
  pair.client.abandon("dropped by the test");
  assert.equal(pair.client.closed, true);
  assert.deepEqual(pair.client.takeOutgoing(), [], "no DISCONNECT, no channel close");
  pair.client.abandon("again"); // already closed: no second event
  pair.run();
  const ends = pair.clientEvents.filter((e) => e.type === "disconnect");
  assert.equal(ends.length, 1);
  const d = disconnectOf(ends);
  assert.equal(d?.code, "ERR_BY_APPLICATION");
  assert.equal(d?.message, "dropped by the test");
  assert.equal(d?.fromPeer, false);
  assert.equal(disconnectOf(pair.serverEvents), undefined, "the server heard nothing");
  assert.equal(pair.client.sendData(client, new Uint8Array(1)), 0);
});
