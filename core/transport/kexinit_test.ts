import { test } from "node:test";
import assert from "node:assert/strict";
import { NoCommonAlgorithmError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { SSHWriter } from "../wire.ts";
import { decodeKexInit, encodeKexInit, type KexInitLists, negotiate } from "./kexinit.ts";
import { Msg } from "./messages.ts";

const OURS: KexInitLists = {
  kex: ["curve25519-sha256"],
  hostKey: ["ssh-ed25519"],
  cipherC2S: ["aes128-ctr"],
  cipherS2C: ["aes128-ctr"],
  macC2S: ["hmac-sha2-256"],
  macS2C: ["hmac-sha2-256"],
  compressionC2S: ["none"],
  compressionS2C: ["none"],
  languageC2S: [],
  languageS2C: [],
  firstKexPacketFollows: false,
};

/** A KEXINIT whose ten name-lists are written as raw strings (empty names allowed). */
function rawKexInit(lists: readonly string[]): Uint8Array {
  const w = new SSHWriter().writeByte(Msg.KEXINIT).writeBytes(new Uint8Array(16));
  for (const l of lists) w.writeStringUtf8(l);
  return w.writeBoolean(false).writeUint32(0).toBytes();
}

const PEER = [
  "curve25519-sha256,",
  "ssh-ed25519,",
  "chacha20-poly1305@openssh.com,,aes128-ctr",
  "aes128-ctr,",
  "hmac-sha2-256,",
  "hmac-sha2-256,",
  "none,",
  "none,",
  "",
  "",
];

test("decodeKexInit() ends a name-list at its first empty name, as OpenSSH does", () => {
  const k = decodeKexInit(rawKexInit(PEER));
  assert.deepEqual(k.kex, ["curve25519-sha256"]);
  assert.deepEqual(k.cipherC2S, ["chacha20-poly1305@openssh.com"]);
  assert.deepEqual(k.cipherS2C, ["aes128-ctr"]);
  assert.deepEqual(k.languageC2S, []);
});

test("negotiate() ignores names after an empty one, so it agrees with OpenSSH", () => {
  const peer = decodeKexInit(rawKexInit(PEER));
  // OpenSSH would not pick aes128-ctr client-to-server from "chacha20...,,aes128-ctr": nor do we.
  assert.throws(
    () => negotiate(peer, OURS, "server", () => false),
    (e: unknown) => e instanceof NoCommonAlgorithmError && e.kind === "cipher (client to server)",
  );
  const fixed = decodeKexInit(rawKexInit(PEER.map((l, i) => i === 2 ? "aes128-ctr," : l)));
  assert.equal(negotiate(fixed, OURS, "server", () => false).cipherC2S, "aes128-ctr");
});

test("encodeKexInit() output decodes to the same lists", () => {
  const k = decodeKexInit(encodeKexInit(OURS, seededRandom(1)));
  assert.deepEqual(k.cipherC2S, OURS.cipherC2S);
  assert.deepEqual(k.kex, OURS.kex);
});
