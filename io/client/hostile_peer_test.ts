/**
 * connect() against hand-written hostile servers on loopback: protocol
 * violations end the connection with a typed error, never a hang or crash.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { connect } from "./connect.ts";
import { SSHError } from "../../core/errors.ts";
import { encodeKexInit } from "../../core/transport/kexinit.ts";
import { seededRandom } from "../../core/random.ts";
import { Msg } from "../../core/transport/messages.ts";

/** Frames an unencrypted packet. */
function packet(payload: Uint8Array): Uint8Array {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  const out = new Uint8Array(5 + payload.length + pad);
  new DataView(out.buffer).setUint32(0, 1 + payload.length + pad);
  out[4] = pad;
  out.set(payload, 5);
  return out;
}

const serverKexInit = encodeKexInit({
  kex: ["curve25519-sha256", "kex-strict-s-v00@openssh.com"],
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
}, seededRandom(1));

/** connect() to the hostile server on `port` must reject with an SSHError of `code`. */
function rejectsWith(port: number, code: string, connectTimeout = 5000): Promise<void> {
  return assert.rejects(
    connect("127.0.0.1", { port, username: "u", password: "p", knownHosts: null, connectTimeout }),
    (e: unknown) => e instanceof SSHError && e.code === code,
  );
}

async function withServer(script: (sock: net.Socket) => void, fn: (port: number) => Promise<void>) {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    script(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    await fn((srv.address() as net.AddressInfo).port);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
  }
}

test("connect() disconnects a server that sends IGNORE before KEXINIT under strict kex", async () => {
  let gotDisconnect = false;
  await withServer((s) => {
    s.write("SSH-2.0-hostile\r\n");
    s.write(packet(new Uint8Array([Msg.IGNORE, 0, 0, 0, 0])));
    s.write(packet(serverKexInit));
    s.on("data", (d) => {
      // Our client's DISCONNECT (message 1) arrives in clear before any NEWKEYS.
      if (d.includes(Msg.DISCONNECT)) gotDisconnect = true;
    });
  }, async (port) => {
    await rejectsWith(port, "ERR_STRICT_KEX");
    for (let i = 0; i < 50 && !gotDisconnect; i++) await new Promise((r) => setTimeout(r, 20));
  });
  assert.ok(gotDisconnect, "the client said why before closing");
});

test("connect() rejects a server that speaks SSH-1", async () => {
  await withServer((s) => s.write("SSH-1.5-ancient\r\n"), async (port) => {
    await rejectsWith(port, "ERR_VERSION");
  });
});

test("connect() reports a server that closes during the handshake", async () => {
  await withServer((s) => {
    s.write("SSH-2.0-quitter\r\n");
    s.end();
  }, async (port) => {
    await rejectsWith(port, "ERR_CONNECTION_LOST");
  });
});

test("connect() times out against a server that never answers", async () => {
  await withServer(() => {}, async (port) => {
    const t0 = Date.now();
    await rejectsWith(port, "ERR_TIMEOUT", 300);
    assert.ok(Date.now() - t0 < 3000);
  });
});

test("connect() refuses a bad packet length without buffering it", async () => {
  await withServer((s) => {
    s.write("SSH-2.0-liar\r\n");
    s.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 4, 0, 0, 0]));
  }, async (port) => {
    await rejectsWith(port, "ERR_PACKET_LENGTH");
  });
});
