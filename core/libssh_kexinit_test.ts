/**
 * Issue #21, bug 1: libssh 0.10.6 sends its cipher name-lists with a trailing comma.
 * The server engine is fed the exact version line and KEXINIT a libssh 0.10.6 client
 * (Debian 0.10.6-0+deb12u3, default settings) sent to a socket, and the test then plays
 * the rest of libssh's curve25519 exchange against it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDefaultSuite, defaultAlgorithmPreferences } from "./suite/default_suite.ts";
import { decodeKexInit } from "./transport/kexinit.ts";
import { Msg } from "./transport/messages.ts";
import { seededRandom } from "./random.ts";
import { ServerConnection, type ServerEvent } from "./server/server_connection.ts";
import { ed25519Key, hostKeyMap } from "./testing/fixtures.ts";
import { concatBytes, utf8 } from "./wire.ts";

const LIBSSH_VERSION = "SSH-2.0-libssh_0.10.6";

/** The KEXINIT payload libssh 0.10.6 sent, captured from the socket (cookie included). */
const LIBSSH_KEXINIT = hex(
  "14e5ec7ea46a3975f02466be641bbd3c240000010e637572766532353531392d7368613235362c6375727665" +
    "32353531392d736861323536406c69627373682e6f72672c656364682d736861322d6e697374703235362c65" +
    "6364682d736861322d6e697374703338342c656364682d736861322d6e697374703532312c6469666669652d" +
    "68656c6c6d616e2d67726f757031382d7368613531322c6469666669652d68656c6c6d616e2d67726f757031" +
    "362d7368613531322c6469666669652d68656c6c6d616e2d67726f75702d65786368616e67652d7368613235" +
    "362c6469666669652d68656c6c6d616e2d67726f757031342d7368613235362c6578742d696e666f2d632c6b" +
    "65782d7374726963742d632d763030406f70656e7373682e636f6d0000009f7373682d656432353531392c65" +
    "636473612d736861322d6e697374703532312c65636473612d736861322d6e697374703338342c6563647361" +
    "2d736861322d6e697374703235362c736b2d7373682d65643235353139406f70656e7373682e636f6d2c736b" +
    "2d65636473612d736861322d6e69737470323536406f70656e7373682e636f6d2c7273612d736861322d3531" +
    "322c7273612d736861322d3235360000006d63686163686132302d706f6c7931333035406f70656e7373682e" +
    "636f6d2c6165733235362d67636d406f70656e7373682e636f6d2c6165733132382d67636d406f70656e7373" +
    "682e636f6d2c6165733235362d6374722c6165733139322d6374722c6165733132382d6374722c0000006d63" +
    "686163686132302d706f6c7931333035406f70656e7373682e636f6d2c6165733235362d67636d406f70656e" +
    "7373682e636f6d2c6165733132382d67636d406f70656e7373682e636f6d2c6165733235362d6374722c6165" +
    "733139322d6374722c6165733132382d6374722c00000057686d61632d736861322d3235362d65746d406f70" +
    "656e7373682e636f6d2c686d61632d736861322d3531322d65746d406f70656e7373682e636f6d2c686d6163" +
    "2d736861322d3235362c686d61632d736861322d35313200000057686d61632d736861322d3235362d65746d" +
    "406f70656e7373682e636f6d2c686d61632d736861322d3531322d65746d406f70656e7373682e636f6d2c68" +
    "6d61632d736861322d3235362c686d61632d736861322d353132000000156e6f6e652c7a6c6962406f70656e" +
    "7373682e636f6d000000156e6f6e652c7a6c6962406f70656e7373682e636f6d000000000000000000000000" +
    "00",
);

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
}

/** An unencrypted binary packet (RFC 4253 §6), padded to 8 bytes as before NEWKEYS. */
function plainPacket(payload: Uint8Array): Uint8Array {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  const len = 1 + payload.length + pad;
  const out = new Uint8Array(4 + len);
  new DataView(out.buffer).setUint32(0, len);
  out[4] = pad;
  out.set(payload, 5);
  return out;
}

/** Splits the server's output into its version line and the payloads of its unencrypted packets. */
function readServerOutput(bytes: Uint8Array, skipVersion: boolean) {
  let off = 0;
  let version = "";
  if (skipVersion) {
    const end = bytes.indexOf(0x0a);
    version = new TextDecoder().decode(bytes.subarray(0, end)).replace(/\r$/, "");
    off = end + 1;
  }
  const payloads: Uint8Array[] = [];
  while (off + 4 <= bytes.length) {
    const len = new DataView(bytes.buffer, bytes.byteOffset + off).getUint32(0);
    const pad = bytes[off + 4]!;
    const payload = bytes.slice(off + 5, off + 4 + len - pad);
    payloads.push(payload);
    off += 4 + len;
    if (payload[0] === Msg.NEWKEYS) break; // what follows is encrypted
  }
  return { version, payloads };
}

test("decodeKexInit reads libssh 0.10.6's trailing commas as the end of the list", () => {
  const k = decodeKexInit(LIBSSH_KEXINIT);
  assert.deepEqual(k.cipherC2S, [
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
  ]);
  assert.deepEqual(k.cipherS2C, k.cipherC2S);
  assert.ok(k.kex.includes("kex-strict-c-v00@openssh.com"));
  assert.deepEqual(k.compressionC2S, ["none", "zlib@openssh.com"]);
});

test("ServerConnection completes a key exchange with libssh 0.10.6's exact KEXINIT", () => {
  const suite = createDefaultSuite({ provider: "noble" });
  const hostKeys = hostKeyMap([ed25519Key(7)]);
  const server = new ServerConnection({
    suite,
    algorithms: defaultAlgorithmPreferences(),
    random: seededRandom(21),
    hostKeys,
    methods: ["password"],
  });
  const events: ServerEvent[] = [];
  const drain = () => {
    for (let e; (e = server.pollEvent()) !== undefined;) events.push(e);
  };
  server.handleTimeout(1_000);
  server.receiveData(utf8(LIBSSH_VERSION + "\r\n"));
  server.receiveData(plainPacket(LIBSSH_KEXINIT));
  drain();
  assert.deepEqual(events.filter((e) => e.type === "disconnect"), []);
  const first = readServerOutput(concatBytes(...server.takeOutgoing()), true);
  const serverKexInit = first.payloads[0]!;
  assert.equal(serverKexInit[0], Msg.KEXINIT);

  // Play libssh's side of curve25519-sha256 (its first choice, and ours).
  const flow = suite.kex("curve25519-sha256")!.createClient({
    clientVersion: LIBSSH_VERSION,
    serverVersion: first.version,
    clientKexInit: LIBSSH_KEXINIT,
    serverKexInit,
    random: seededRandom(22),
  });
  for (const m of flow.start().send) server.receiveData(plainPacket(m));
  drain();
  assert.deepEqual(events.filter((e) => e.type === "disconnect"), []);
  const second = readServerOutput(concatBytes(...server.takeOutgoing()), false);
  assert.deepEqual(second.payloads.map((p) => p[0]), [Msg.KEX_FIRST + 1, Msg.NEWKEYS]);
  const { result } = flow.receive(second.payloads[0]!);
  assert.ok(result, "the exchange finished");
  assert.equal(
    suite.verifyHostKeySignature(
      "ssh-ed25519",
      result.hostKeyBlob,
      result.signature,
      result.exchangeHash,
    ),
    true,
    "the server signed the exchange hash over libssh's KEXINIT as sent",
  );

  server.receiveData(plainPacket(new Uint8Array([Msg.NEWKEYS])));
  drain();
  const done = events.find((e) => e.type === "kexComplete");
  assert.ok(done && done.type === "kexComplete", "kexComplete raised");
  assert.equal(done.strictKex, true);
  assert.equal(done.algorithms.cipherC2S, "chacha20-poly1305@openssh.com");
  assert.equal(done.algorithms.cipherS2C, "chacha20-poly1305@openssh.com");
  assert.equal(server.closed, false);
});
