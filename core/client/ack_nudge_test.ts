/**
 * Issue #14: the exec-round stall. OpenSSH's sshd sends its unsolicited
 * `hostkeys-00@openssh.com` (want-reply false) right after USERAUTH_SUCCESS, while
 * our CHANNEL_OPEN is on its way. sshd leaves Nagle on for non-interactive
 * sessions, so its CHANNEL_OPEN_CONFIRMATION waits for the ACK of that
 * announcement, which our kernel delays by 40 ms unless we send something. The
 * client engine therefore answers "received messages, nothing to send, reply
 * awaited" with one SSH_MSG_IGNORE per wait. These tests assert the packet
 * sequence the client seals; there is no timing in them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDefaultSuite } from "../suite/default_suite.ts";
import { Msg } from "../transport/messages.ts";
import type { TransportSuite } from "../transport/suite.ts";
import { ed25519Key, makePair } from "../testing/fixtures.ts";
import type { EnginePair } from "../testing/pair.ts";

/** A suite whose sealers record each packet's message number before encrypting it. */
function recordingSuite(types: number[]): TransportSuite {
  const inner = createDefaultSuite({ provider: "noble" });
  return {
    ...inner,
    createSealer: (cipher, mac, keys) => {
      const real = inner.createSealer(cipher, mac, keys);
      return {
        blockSize: real.blockSize,
        tagLength: real.tagLength,
        lengthInClear: real.lengthInClear,
        provider: real.provider,
        seal: (seq, packet, tagOut) => {
          types.push(packet[5]!); // uint32 packet_length | byte padding_length | payload
          real.seal(seq, packet, tagOut);
        },
      };
    },
  };
}

/** Moves the server's pending bytes to the client (only that direction). */
function serverToClient(pair: EnginePair): void {
  for (const chunk of pair.server.takeOutgoing()) pair.client.receiveData(chunk);
}

/** An authenticated pair whose server (like sshd) announces host keys only when the test says. */
function authenticatedPair(types: number[]): EnginePair {
  const pair = makePair({
    password: "secret",
    client: { suite: recordingSuite(types) },
    server: { announceHostKeys: false },
    onServer: (e, p) => {
      if (e.type === "channelOpenRequest") p.server.acceptChannel(e.channelId);
    },
  });
  pair.run();
  assert.ok(pair.client.authenticated);
  types.length = 0;
  return pair;
}

const HOSTKEYS = "hostkeys-00@openssh.com";

test("client piggybacks one IGNORE on an unsolicited global request while its channel open is pending", () => {
  const types: number[] = [];
  const pair = authenticatedPair(types);
  const id = pair.client.openChannel("session");
  const heldOpen = pair.client.takeOutgoing(); // in flight: the server has not read it yet
  pair.server.sendGlobalRequest(HOSTKEYS, false, new Uint8Array(8));
  serverToClient(pair);
  assert.deepEqual(types, [Msg.CHANNEL_OPEN, Msg.IGNORE]);
  // A second unanswered message in the same wait sends nothing more.
  pair.server.sendGlobalRequest("other@example.com", false);
  serverToClient(pair);
  assert.deepEqual(types, [Msg.CHANNEL_OPEN, Msg.IGNORE]);
  // The open completes normally; its confirmation ends the wait without another IGNORE.
  for (const chunk of heldOpen) pair.server.receiveData(chunk);
  pair.run();
  assert.ok(pair.client.channelInfo(id)?.open);
  assert.equal(types.filter((t) => t === Msg.IGNORE).length, 1);
  assert.ok(!pair.client.closed && !pair.server.closed);
});

test("client piggybacks an IGNORE while a want-reply channel request is pending, once per wait", () => {
  const types: number[] = [];
  const pair = authenticatedPair(types);
  const id = pair.client.openChannel("session");
  pair.run();
  types.length = 0;
  pair.client.sendChannelRequest(id, "exec", true, new Uint8Array(4));
  pair.client.takeOutgoing(); // held in flight
  pair.server.sendGlobalRequest("one@example.com", false);
  serverToClient(pair);
  pair.server.sendGlobalRequest("two@example.com", false);
  serverToClient(pair);
  assert.deepEqual(types, [Msg.CHANNEL_REQUEST, Msg.IGNORE]);
  // A new wait (another want-reply request) may nudge once more.
  pair.client.sendGlobalRequest("three@example.com", true);
  pair.server.sendGlobalRequest("four@example.com", false);
  serverToClient(pair);
  assert.deepEqual(types, [Msg.CHANNEL_REQUEST, Msg.IGNORE, Msg.GLOBAL_REQUEST, Msg.IGNORE]);
});

test("client sends no IGNORE when nothing is awaited or when it answers anyway", () => {
  const types: number[] = [];
  const pair = authenticatedPair(types);
  // Nothing awaited: an unsolicited request gets no answer and no IGNORE.
  pair.server.sendGlobalRequest(HOSTKEYS, false, new Uint8Array(8));
  serverToClient(pair);
  assert.deepEqual(types, []);
  // Awaiting an open, but the received message is answered (want-reply): the answer carries the ACK.
  pair.client.openChannel("session");
  pair.client.takeOutgoing();
  pair.server.sendGlobalRequest("keepalive@openssh.com", true);
  serverToClient(pair);
  assert.deepEqual(types, [Msg.CHANNEL_OPEN, Msg.REQUEST_FAILURE]);
});

/** A pair logging in with an ed25519 key (the pipelined first request) over `compression`. */
function keyLogin(types: number[], compression: string): EnginePair {
  const pair = makePair({
    clientKeys: [ed25519Key(11)],
    client: { suite: recordingSuite(types) },
    clientAlgorithms: { compression: [compression] },
    serverAlgorithms: { compression: [compression] },
  });
  pair.run();
  assert.ok(pair.client.authenticated);
  return pair;
}

test("client nudges SERVICE_ACCEPT with one IGNORE when its first request went out with the service request", () => {
  const types: number[] = [];
  const pair = keyLogin(types, "none");
  // sshd leaves Nagle on before authentication: its answer to the pipelined request waits for
  // the ACK of its SERVICE_ACCEPT, which the IGNORE carries at once.
  const at = types.indexOf(Msg.SERVICE_REQUEST);
  assert.deepEqual(types.slice(at, at + 3), [
    Msg.SERVICE_REQUEST,
    Msg.USERAUTH_REQUEST,
    Msg.IGNORE,
  ]);
  assert.equal(types.filter((t) => t === Msg.IGNORE).length, 1);
  assert.equal(pair.client.transport.sendCompressionDelayed, false);
});

test("client sends nothing between its request and the answer under delayed compression", () => {
  const types: number[] = [];
  const pair = keyLogin(types, "zlib@openssh.com");
  // The server decompresses from its USERAUTH_SUCCESS on: an IGNORE sent in between could
  // reach it uncompressed after that (OpenSSH's sshd then drops the connection).
  const at = types.indexOf(Msg.SERVICE_REQUEST);
  assert.deepEqual(types.slice(at), [Msg.SERVICE_REQUEST, Msg.USERAUTH_REQUEST]);
  assert.equal(pair.client.transport.algorithms?.compressionC2S, "zlib@openssh.com");
});
