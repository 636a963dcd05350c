/**
 * The server engine against the client engine in memory, on a virtual clock, for what
 * core/engine_test.ts does not cover: several host keys at once, rekeying under load in
 * both directions, server-side keepalive, host key rotation proofs, publickey queries,
 * partial success, no-more-sessions, and a login timeout that also covers key exchange.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeRsaKey } from "../publickey/_test_util.ts";
import { encodePublicKeyBlob } from "../publickey/mod.ts";
import type { ClientEvent } from "../client/client_connection.ts";
import type { DisconnectError } from "../errors.ts";
import { ed25519Key, fakeSecurityKey, hostKeyMap, makePair, p256Key } from "../testing/fixtures.ts";
import { createDefaultSuite, defaultAlgorithmPreferences } from "../suite/default_suite.ts";
import type { EnginePair } from "../testing/pair.ts";
import { equalBytes } from "../wire.ts";
import { ServerConnection, type ServerEvent } from "./server_connection.ts";

function disconnectOf(events: readonly (ClientEvent | ServerEvent)[]): DisconnectError | undefined {
  for (const e of events) if (e.type === "disconnect") return e.error;
  return undefined;
}

function assertAuthed(pair: EnginePair): void {
  const d = disconnectOf(pair.clientEvents) ?? disconnectOf(pair.serverEvents);
  assert.equal(d, undefined, d?.message);
  assert.ok(pair.client.authenticated);
}

const rsa = nodeRsaKey(2048).material;
const HOST_KEYS = [ed25519Key(11), p256Key(12), rsa];

for (
  const [alg, index] of [
    ["ssh-ed25519", 0],
    ["ecdsa-sha2-nistp256", 1],
    ["rsa-sha2-512", 2],
    ["rsa-sha2-256", 2],
  ] as const
) {
  test(`ServerConnection with three host keys serves the ${alg} one when the client asks for it`, () => {
    const pair = makePair({
      hostKeys: HOST_KEYS,
      clientAlgorithms: { hostKey: [alg] },
      password: "secret",
    });
    pair.run();
    assertAuthed(pair);
    assert.equal(pair.client.transport.algorithms?.hostKey, alg);
    assert.ok(
      equalBytes(pair.client.transport.hostKeyBlob!, encodePublicKeyBlob(HOST_KEYS[index]!)),
    );
  });
}

test("ServerConnection announces its other host keys after login and proves them", () => {
  for (const kexAlg of ["ssh-ed25519", "rsa-sha2-256"]) {
    const pair = makePair({
      hostKeys: HOST_KEYS,
      // The key exchange's first; the others listed so their keys are worth proving.
      clientAlgorithms: {
        hostKey: [...new Set([kexAlg, "ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"])],
      },
      password: "secret",
      client: { hostKeyRotation: true },
    });
    pair.run();
    assertAuthed(pair);
    const proved = pair.clientEvents.find((e) => e.type === "hostKeysProved");
    assert.ok(proved && proved.type === "hostKeysProved", `no proofs with ${kexAlg}`);
    assert.deepEqual(proved.failed, []);
    const kexBlob = pair.client.transport.hostKeyBlob!;
    const others = HOST_KEYS.map(encodePublicKeyBlob).filter((b) => !equalBytes(b, kexBlob));
    assert.equal(proved.keys.length, others.length);
    for (const b of others) assert.ok(proved.keys.some((k) => equalBytes(k.keyBlob, b)));
  }
});

test("a client asks to prove only the announced keys of types it accepts, as ssh", () => {
  // ssh-ed25519 and RSA accepted: the ECDSA key is skipped ("not permitted by HostkeyAlgorithms").
  const pair = makePair({
    hostKeys: HOST_KEYS,
    clientAlgorithms: { hostKey: ["ssh-ed25519", "rsa-sha2-512"] },
    password: "secret",
    client: { hostKeyRotation: true },
  });
  pair.run();
  assertAuthed(pair);
  const proved = pair.clientEvents.find((e) => e.type === "hostKeysProved");
  assert.ok(proved && proved.type === "hostKeysProved");
  assert.deepEqual(proved.keys.map((k) => k.keyType), ["ssh-rsa"]);
  // Only ed25519 accepted: nothing is asked for at all.
  const only = makePair({
    hostKeys: HOST_KEYS,
    clientAlgorithms: { hostKey: ["ssh-ed25519"] },
    password: "secret",
    client: { hostKeyRotation: true },
  });
  only.run();
  assertAuthed(only);
  assert.equal(only.clientEvents.find((e) => e.type === "hostKeysProved"), undefined);
});

test("ServerConnection refuses to prove a host key it does not hold", () => {
  const pair = makePair({ hostKeys: [ed25519Key(11)], password: "secret" });
  pair.run();
  assertAuthed(pair);
  const stranger = encodePublicKeyBlob(ed25519Key(99));
  const id = pair.client.sendGlobalRequest(
    "hostkeys-prove-00@openssh.com",
    true,
    new Uint8Array([0, 0, 0, stranger.length, ...stranger]),
  );
  pair.run();
  const reply = pair.clientEvents.find((e) =>
    e.type === "globalRequestReply" && e.requestId === id
  );
  assert.ok(reply && reply.type === "globalRequestReply");
  assert.equal(reply.success, false);
});

test("ServerConnection proves each key once per request, answers a few requests, and no-more-sessions when asked", () => {
  const key = ed25519Key(11);
  const pair = makePair({ hostKeys: [key], password: "secret" });
  pair.run();
  assertAuthed(pair);
  const blob = encodePublicKeyBlob(key);
  const entry = [0, 0, 0, blob.length, ...blob];
  const ask = (name: string, data: number[]) => {
    const id = pair.client.sendGlobalRequest(name, true, new Uint8Array(data));
    pair.run();
    const reply = pair.clientEvents.find((e) =>
      e.type === "globalRequestReply" && e.requestId === id
    );
    assert.ok(reply && reply.type === "globalRequestReply", `${name} answered`);
    return reply.success;
  };
  assert.equal(ask("hostkeys-prove-00@openssh.com", [...entry, ...entry]), false, "a key twice");
  for (let i = 1; i < 4; i++) assert.equal(ask("hostkeys-prove-00@openssh.com", entry), true);
  assert.equal(ask("hostkeys-prove-00@openssh.com", entry), false, "past four requests");
  assert.equal(ask("no-more-sessions@openssh.com", []), true);
  // Replies go out in order: one owed forever would hold back every later one.
  assert.equal(ask("keepalive@openssh.com", []), false);
});

/** Streams `size` bytes each way at once on one session channel; returns the bytes each side got. */
function streamBothWays(pair: EnginePair, size: number, chunk: number): [number, number] {
  const before = pair.serverEvents.length;
  const c = pair.client.openChannel("session");
  pair.run();
  const open = pair.serverEvents.slice(before).find((e) => e.type === "channelOpenRequest");
  assert.ok(open && open.type === "channelOpenRequest");
  const s = open.channelId;
  pair.server.acceptChannel(s);
  pair.run();
  const block = new Uint8Array(chunk).map((_, i) => (i * 31) & 0xff);
  let sentC = 0, sentS = 0, gotC = 0, gotS = 0;
  let ci = pair.clientEvents.length, si = pair.serverEvents.length;
  for (let rounds = 0; gotC < size || gotS < size; rounds++) {
    assert.ok(rounds < 100_000, "stalled");
    if (sentC < size) {
      sentC += pair.client.sendData(c, block.subarray(0, Math.min(chunk, size - sentC)));
    }
    if (sentS < size) {
      sentS += pair.server.sendData(s, block.subarray(0, Math.min(chunk, size - sentS)));
    }
    pair.run();
    for (; si < pair.serverEvents.length; si++) {
      const e = pair.serverEvents[si]!;
      if (e.type === "channelData") {
        assert.deepEqual(e.data, block.subarray(0, e.data.length));
        gotS += e.data.length;
        pair.server.consume(s, e.data.length);
      }
    }
    for (; ci < pair.clientEvents.length; ci++) {
      const e = pair.clientEvents[ci]!;
      if (e.type === "channelData") {
        assert.deepEqual(e.data, block.subarray(0, e.data.length));
        gotC += e.data.length;
        pair.client.consume(c, e.data.length);
      }
    }
    const d = disconnectOf(pair.clientEvents) ?? disconnectOf(pair.serverEvents);
    if (d) throw d;
  }
  return [gotS, gotC];
}

test("ServerConnection rekeys under load in both directions, started by each side", () => {
  const pair = makePair({
    password: "secret",
    client: { rekeyBytes: 96 * 1024 },
    server: { rekeyBytes: 64 * 1024 },
  });
  pair.run();
  assertAuthed(pair);
  const size = 768 * 1024;
  const [toServer, toClient] = streamBothWays(pair, size, 16 * 1024);
  assert.deepEqual([toServer, toClient], [size, size]);
  const rekeys = (events: readonly (ClientEvent | ServerEvent)[]) =>
    events.filter((e) => e.type === "kexComplete" && !e.initial).length;
  assert.ok(rekeys(pair.serverEvents) >= 10, `server saw ${rekeys(pair.serverEvents)} rekeys`);
  assert.equal(rekeys(pair.clientEvents), rekeys(pair.serverEvents));
  assert.ok(pair.server.transport.kexCount > 10);
});

test("ServerConnection rekeys by time while both sides stream", () => {
  const pair = makePair({ password: "secret", server: { rekeyIntervalMs: 10_000 } });
  pair.run();
  assertAuthed(pair);
  for (let i = 1; i <= 3; i++) {
    pair.advance(10_001);
    streamBothWays(pair, 64 * 1024, 8 * 1024);
    assert.equal(pair.server.transport.kexCount, 1 + i);
  }
});

test("ServerConnection keepalive keeps a live client and drops one that went silent", () => {
  const pair = makePair({
    password: "secret",
    server: { keepaliveIntervalMs: 10_000, keepaliveCountMax: 2 },
  });
  pair.run();
  assertAuthed(pair);
  pair.advance(120_000);
  assert.equal(disconnectOf(pair.serverEvents), undefined, "a live client answers keepalives");
  assert.ok(pair.bytesServerToClient > 0);
  pair.tapClientToServer = () => new Uint8Array(0); // the client goes silent
  pair.advance(20_000);
  assert.equal(disconnectOf(pair.serverEvents), undefined, "two probes may go unanswered");
  pair.advance(30_000);
  assert.ok(pair.serverEvents.some((e) => e.type === "keepaliveTimeout"));
  assert.equal(disconnectOf(pair.serverEvents)?.code, "ERR_KEEPALIVE");
});

test("ServerConnection answers a publickey query with PK_OK before the client signs", () => {
  const key = ed25519Key(21);
  const seen: string[] = [];
  const pair = makePair({
    clientKeys: [key],
    clientAuth: {
      publicKeys: [{
        keyType: "ssh-ed25519",
        publicKeyBlob: encodePublicKeyBlob(key),
        query: true,
      }],
    },
    serverVerdict: (e) => {
      if (e.type === "authPublicKey") seen.push(e.signed ? "signed" : "query");
      return undefined;
    },
  });
  pair.run();
  assertAuthed(pair);
  assert.deepEqual(seen, ["query", "signed"]);
});

test("ServerConnection's signed authPublicKey event carries a FIDO signature's flags and counter", () => {
  for (const flags of [0x00, 0x01, 0x05]) {
    const sk = fakeSecurityKey(23);
    const seen: unknown[] = [];
    const pair = makePair({
      clientKeys: [sk.key],
      onClient: (e, p) => {
        if (e.type !== "authSignRequest") return false;
        p.client.provideSignature(e.id, sk.sign(e.data, flags, 1234));
        return true;
      },
      serverVerdict: (e) => {
        if (e.type === "authPublicKey" && e.signed) seen.push(e.sk);
        return undefined;
      },
    });
    pair.run();
    assertAuthed(pair); // the engine reports; judging the flags is the application's
    assert.deepEqual(seen, [{
      flags,
      counter: 1234,
      userPresent: (flags & 0x01) !== 0,
      userVerified: (flags & 0x04) !== 0,
    }]);
  }
  // Other keys carry nothing.
  const plain: unknown[] = [];
  const pair = makePair({
    clientKeys: [ed25519Key(24)],
    serverVerdict: (e) => {
      if (e.type === "authPublicKey" && e.signed) plain.push("sk" in e);
      return undefined;
    },
  });
  pair.run();
  assert.deepEqual(plain, [false]);
});

test("ServerConnection asks for a second method after a partial success", () => {
  const key = ed25519Key(22);
  const pair = makePair({
    clientKeys: [key],
    password: "secret",
    serverVerdict: (e) =>
      e.type === "authPublicKey" && e.signed
        ? { result: "partial", methods: ["publickey", "password"] }
        : undefined,
  });
  pair.run();
  assertAuthed(pair);
  const methods = pair.serverEvents.flatMap((e) => e.type.startsWith("auth") ? [e.type] : []);
  assert.deepEqual(methods.filter((m) => m !== "authNone"), [
    "authPublicKey",
    "authPassword",
    "authenticated",
  ]);
  const done = pair.serverEvents.find((e) => e.type === "authenticated");
  assert.equal(done?.type === "authenticated" && done.method, "password");
});

test("ServerConnection refuses sessions after no-more-sessions@openssh.com", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  assertAuthed(pair);
  pair.client.openChannel("session");
  pair.run();
  pair.client.noMoreSessions();
  const second = pair.client.openChannel("session");
  pair.run();
  const failure = pair.clientEvents.find((e) =>
    e.type === "channelOpenFailure" && e.channelId === second
  );
  assert.ok(failure && failure.type === "channelOpenFailure");
  assert.match(failure.description, /No more sessions/);
  assert.equal(pair.serverEvents.filter((e) => e.type === "channelOpenRequest").length, 1);
});

test("a new engine asks for the time at once: a silent client meets the login timeout", () => {
  const server = new ServerConnection({
    suite: createDefaultSuite({ provider: "noble" }),
    algorithms: defaultAlgorithmPreferences(),
    hostKeys: hostKeyMap([ed25519Key(7)]),
    methods: ["password"],
    loginTimeoutMs: 1_000,
  });
  // The loop the docs describe: handleTimeout() when nextDeadline() says so, and nothing
  // else (the client's bytes never arrive). The engine learns the clock from the first
  // handleTimeout(): the login timeout starts there.
  assert.equal(server.nextDeadline(), 0);
  server.handleTimeout(50_000);
  assert.equal(server.nextDeadline(), 51_000);
  server.handleTimeout(51_000);
  assert.ok(server.closed);
  const events: ServerEvent[] = [];
  for (let e; (e = server.pollEvent());) events.push(e);
  assert.ok(events.some((e) => e.type === "loginTimeout"));
});

test("ServerConnection login timeout also cuts a client stuck in key exchange", () => {
  const pair = makePair({ password: "secret", server: { loginTimeoutMs: 5_000 } });
  // Only the version line and KEXINIT get through; the client's kex reply never arrives.
  let packets = 0;
  pair.tapClientToServer = (b) => (++packets <= 2 ? b : new Uint8Array(0));
  pair.advance(4_000);
  assert.equal(disconnectOf(pair.serverEvents), undefined);
  pair.advance(1_500);
  assert.ok(pair.serverEvents.some((e) => e.type === "loginTimeout"));
  assert.equal(disconnectOf(pair.serverEvents)?.code, "ERR_TIMEOUT");
  assert.ok(pair.server.closed);
  assert.equal(pair.server.nextDeadline(), undefined, "a closed engine needs no more time");
});
