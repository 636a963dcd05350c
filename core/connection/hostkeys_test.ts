import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClientEvent, HostKeysProvedEvent } from "../client/client_connection.ts";
import { encodePublicKeyBlob } from "../publickey/blob.ts";
import { signData } from "../publickey/sign.ts";
import type { KeyMaterial } from "../publickey/types.ts";
import { ed25519Key, makePair, p256Key } from "../testing/fixtures.ts";
import type { EnginePair } from "../testing/pair.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import {
  decodeHostKeysAnnouncement,
  encodeHostKeyList,
  hostKeyProofData,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  keysToProve,
  MAX_ANNOUNCED_HOST_KEYS,
  verifyHostKeyProofs,
} from "./hostkeys.ts";

const SESSION = new Uint8Array(32).fill(0x5a);

test("decodeHostKeysAnnouncement() reads strings to the end and caps their number", () => {
  const blobs = Array.from({ length: MAX_ANNOUNCED_HOST_KEYS + 5 }, (_, i) => new Uint8Array([i]));
  const got = decodeHostKeysAnnouncement(encodeHostKeyList(blobs));
  assert.equal(got.length, MAX_ANNOUNCED_HOST_KEYS);
  assert.deepEqual([...got[3]!], [3]);
  assert.throws(() => decodeHostKeysAnnouncement(new Uint8Array([0, 0, 0, 9, 1])), {
    code: "ERR_WIRE_TRUNCATED",
  });
});

test("keysToProve() skips the kex key, duplicates and unparseable blobs", () => {
  const a = encodePublicKeyBlob(ed25519Key(1));
  const b = encodePublicKeyBlob(p256Key(2));
  const keys = keysToProve([a, b, b, new Uint8Array([0, 0, 0, 1, 120])], a);
  assert.deepEqual(keys.map((k) => k.keyType), ["ecdsa-sha2-nistp256"]);
});

test("verifyHostKeyProofs() accepts good signatures and names the bad and missing ones", () => {
  const k1 = ed25519Key(1), k2 = p256Key(2), k3 = ed25519Key(3);
  const keys = keysToProve([k1, k2, k3].map(encodePublicKeyBlob), null);
  const sig = (k: KeyMaterial, alg: string, blob: Uint8Array) =>
    signData(k, alg, hostKeyProofData(SESSION, blob));
  const reply = new SSHWriter()
    .writeString(sig(k1, "ssh-ed25519", keys[0]!.keyBlob))
    // k2's proof signs k1's blob: wrong.
    .writeString(sig(k2, "ecdsa-sha2-nistp256", keys[0]!.keyBlob))
    .toBytes(); // k3: missing
  const r = verifyHostKeyProofs(SESSION, keys, reply, "ssh-ed25519");
  assert.deepEqual(r.proven.map((k) => k.keyType), ["ssh-ed25519"]);
  assert.deepEqual(r.failed.map((f) => f.reason), [
    "The server's proof for this key does not verify",
    "The server sent no proof for this key",
  ]);
});

test("verifyHostKeyProofs() binds each proof to the session id", () => {
  const k = ed25519Key(4);
  const keys = keysToProve([encodePublicKeyBlob(k)], null);
  const proof = signData(k, "ssh-ed25519", hostKeyProofData(SESSION, keys[0]!.keyBlob));
  const reply = new SSHWriter().writeString(proof).toBytes();
  const other = new Uint8Array(32).fill(1);
  assert.equal(verifyHostKeyProofs(other, keys, reply, "ssh-ed25519").proven.length, 0);
  assert.equal(verifyHostKeyProofs(SESSION, keys, reply, "ssh-ed25519").proven.length, 1);
});

/** A pair whose server holds `hostKeys` and signs proofs (`tamper` may spoil them). */
function rotationPair(
  hostKeys: KeyMaterial[],
  tamper?: (proofs: Uint8Array[]) => Uint8Array[],
  clientOptions: { hostKeyRotation?: boolean } = {},
): EnginePair {
  const pair = makePair({
    password: "secret",
    hostKeys: [hostKeys[0]!],
    // The server engine announces and proves its keys itself; here the test plays that part.
    server: { announceHostKeys: false },
    client: { hostKeyRotation: true, ...clientOptions },
    onServer: (e, p) => {
      if (e.type !== "globalRequest" || e.name !== HOSTKEYS_PROVE_REQUEST) return;
      const r = new SSHReader(e.data);
      const proofs: Uint8Array[] = [];
      while (r.remaining) {
        const blob = r.readString();
        const key = hostKeys.find((k) =>
          encodePublicKeyBlob(k).every((b, i) => b === blob[i]) &&
          encodePublicKeyBlob(k).length === blob.length
        )!;
        const alg = key.type === "ed25519" ? "ssh-ed25519" : "ecdsa-sha2-nistp256";
        proofs.push(signData(key, alg, hostKeyProofData(p.server.transport.sessionId!, blob)));
      }
      const out = tamper ? tamper(proofs) : proofs;
      p.server.replyGlobalRequest(e.requestId, true, encodeHostKeyList(out));
    },
  });
  pair.run();
  pair.server.sendGlobalRequest(
    HOSTKEYS_REQUEST,
    false,
    encodeHostKeyList(hostKeys.map(encodePublicKeyBlob)),
  );
  pair.run();
  return pair;
}

function proved(events: ClientEvent[]): HostKeysProvedEvent[] {
  return events.filter((e): e is HostKeysProvedEvent => e.type === "hostKeysProved");
}

test("ClientConnection proves announced host keys and reports the new ones", () => {
  const pair = rotationPair([ed25519Key(7), p256Key(8), ed25519Key(9)]);
  const ev = proved(pair.clientEvents);
  assert.equal(ev.length, 1);
  assert.deepEqual(ev[0]!.keys.map((k) => k.keyType), ["ecdsa-sha2-nistp256", "ssh-ed25519"]);
  assert.equal(ev[0]!.failed.length, 0);
  assert.ok(!pair.client.closed);
  assert.equal(
    pair.clientEvents.filter((e) => e.type === "globalRequest").length,
    0,
    "hostkeys-00 is handled by the engine",
  );
});

test("ClientConnection reports host keys whose proof fails, and stays connected", () => {
  const pair = rotationPair([ed25519Key(7), p256Key(8), ed25519Key(9)], (proofs) => {
    const bad = proofs[1]!.slice();
    bad[bad.length - 1]! ^= 1;
    return [proofs[0]!, bad];
  });
  const ev = proved(pair.clientEvents)[0]!;
  assert.deepEqual(ev.keys.map((k) => k.keyType), ["ecdsa-sha2-nistp256"]);
  assert.equal(ev.failed.length, 1);
  assert.ok(!pair.client.closed);
});

test("ClientConnection with hostKeyRotation off ignores hostkeys-00", () => {
  const pair = rotationPair([ed25519Key(7), p256Key(8)], undefined, { hostKeyRotation: false });
  assert.equal(proved(pair.clientEvents).length, 0);
  assert.equal(
    pair.serverEvents.filter((e) => e.type === "globalRequest").length,
    0,
    "no prove request was sent",
  );
});

test("ClientConnection raises no event when only the kex key is announced", () => {
  const pair = rotationPair([ed25519Key(7)]);
  assert.equal(proved(pair.clientEvents).length, 0);
});

test("ClientConnection answers the server's keepalive@openssh.com itself", () => {
  const pair = makePair({ password: "secret", server: { keepaliveIntervalMs: 1000 } });
  pair.run();
  pair.tapClientToServer = undefined;
  pair.advance(10_000);
  assert.ok(!pair.server.closed, "the server's keepalives were answered");
  assert.equal(pair.clientEvents.filter((e) => e.type === "globalRequest").length, 0);
});

test("ClientConnection and ServerConnection rotate host keys end to end", () => {
  const pair = makePair({
    password: "secret",
    hostKeys: [ed25519Key(7), p256Key(8)],
    client: { hostKeyRotation: true },
  });
  pair.run();
  const ev = proved(pair.clientEvents);
  assert.equal(ev.length, 1);
  assert.deepEqual(ev[0]!.keys.map((k) => k.keyType), ["ecdsa-sha2-nistp256"]);
  assert.equal(ev[0]!.failed.length, 0);
});
