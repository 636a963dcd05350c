/**
 * libssh2's session controls on SSHClientConnection (host key hash, algorithm
 * lists, negotiated methods, keepalive, block directions, last error), the
 * engine over a caller's socket, the probes, and mod.ts's value exports —
 * against our own server on loopback.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { hostKeyFromSSHKey } from "../keys/signers.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";
import type { WebDuplex } from "../runtime/socket.ts";
import { connect } from "./connect.ts";
import { getServerAuthMethods, getServerHostKey } from "./probe.ts";
import {
  ALGORITHM_KINDS,
  DEFAULT_ALGORITHMS,
  hashHostKey,
  negotiatedMethod,
  SUPPORTED_ALGORITHMS,
  supportedAlgorithms,
} from "./session_controls.ts";

const hostKey = generatePrivateKey("ed25519");

async function server(options: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKeyFromSSHKey(hostKey)],
    authFailureDelay: 0,
    validatePassword: (user, pw) => user === "alice" && pw === "pw",
    processFactory: async (p) => {
      await p.write("ok\n");
    },
    ...options,
  });
}

test("hostKeyHash: MD5, SHA-1 and SHA-256 of the server's host key blob, as raw bytes", async () => {
  await using s = await server();
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
  });
  const blob = hostKey.publicBlob;
  for (const kind of ["md5", "sha1", "sha256"] as const) {
    const want = new Uint8Array(createHash(kind).update(blob).digest());
    assert.deepEqual(conn.hostKeyHash(kind), want, kind);
  }
  assert.equal(conn.hostKeyHash("sha256")!.length, 32);
  assert.equal(conn.hostKeyHash("md5")!.length, 16);
  assert.throws(() => hashHostKey(blob, "sha512" as "md5"), TypeError);
  assert.equal(hashHostKey(null, "sha1"), null);
});

test("negotiated methods per kind and direction; supported lists", async () => {
  await using s = await server();
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
    encryptionAlgs: ["aes128-ctr"],
    macAlgs: ["hmac-sha2-256"],
  });
  assert.equal(conn.negotiatedMethod("cipher", "c2s"), "aes128-ctr");
  assert.equal(conn.negotiatedMethod("cipher", "s2c"), "aes128-ctr");
  assert.equal(conn.negotiatedMethod("mac", "s2c"), "hmac-sha2-256");
  assert.equal(conn.negotiatedMethod("hostKey"), "ssh-ed25519");
  assert.equal(conn.negotiatedMethod("kex"), conn.getExtraInfo().algorithms?.kex);
  assert.equal(conn.negotiatedMethod("compression", "c2s"), "none");
  assert.equal(conn.negotiatedMethod("signature"), undefined);
  assert.equal(negotiatedMethod(null, "kex"), undefined);
  for (const kind of ALGORITHM_KINDS) {
    const rt = conn.supportedAlgorithms(kind);
    assert.ok(rt.length > 0, kind);
    for (const a of rt) assert.ok(SUPPORTED_ALGORITHMS[kind].includes(a), `${kind} ${a}`);
    for (const a of DEFAULT_ALGORITHMS[kind]) {
      assert.ok(SUPPORTED_ALGORITHMS[kind].includes(a), `default ${kind} ${a} is supported`);
    }
  }
  assert.ok(supportedAlgorithms("cipher").includes("aes256-gcm@openssh.com"));
  assert.ok(supportedAlgorithms("kex").includes("curve25519-sha256"));
});

test("sendKeepalive reaches the server and returns the seconds until the next one", async () => {
  const seen: string[] = [];
  await using s = await server();
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
    keepaliveInterval: 15_000,
  });
  assert.equal(conn.sendKeepalive(), 15);
  // The server answers keepalive@openssh.com: a global request round trip still works after it.
  const r = await conn.globalRequest("keepalive@openssh.com");
  seen.push(String(r.success));
  assert.equal(seen.length, 1);
  await using off = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
  });
  assert.equal(off.sendKeepalive(), 0);
});

test("blockDirections and lastError", async () => {
  await using s = await server();
  const conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
  });
  assert.deepEqual(conn.blockDirections, { inbound: true, outbound: false });
  assert.equal(conn.lastError, undefined);
  await assert.rejects(conn.openChannel("no-such-type@example.com"));
  const last = conn.lastError as (Error & { code?: string }) | undefined;
  assert.equal(last?.code, "ERR_CHANNEL_OPEN");
  // Waiting for a channel gives up on a signal.
  await assert.rejects(
    conn.openChannel("session", undefined, { signal: AbortSignal.abort(new Error("stop")) }),
    /stop/,
  );
  const ac = new AbortController();
  const p = conn.openChannel("session", undefined, { signal: ac.signal });
  ac.abort(new Error("later"));
  await assert.rejects(p, /later/);
  const ch = await conn.openChannel("session", undefined, { signal: ac.signal }).catch(() => null);
  assert.equal(ch, null);
  await conn.close();
  assert.deepEqual(conn.blockDirections, { inbound: false, outbound: false });
});

/** A Web Streams duplex over a node:net socket the caller opened. */
function duplexOf(sock: net.Socket): WebDuplex {
  return {
    readable: new ReadableStream<Uint8Array>({
      start(c) {
        sock.on("data", (d: Uint8Array) => c.enqueue(new Uint8Array(d)));
        sock.on("end", () => c.close());
        sock.on("error", (e) => c.error(e));
      },
    }),
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => new Promise((res, rej) => sock.write(chunk, (e) => e ? rej(e) : res())),
      close: () => new Promise((res) => sock.end(res)),
      abort: () => void sock.destroy(),
    }),
  };
}

test("the handshake runs over a socket the caller brings (connect({ sock }))", async () => {
  await using s = await server();
  const sock = net.connect(s.address.port, "127.0.0.1");
  await new Promise<void>((res, rej) => sock.once("connect", res).once("error", rej));
  await using conn = await connect("127.0.0.1", {
    sock: duplexOf(sock),
    username: "alice",
    password: "pw",
    knownHosts: null,
    connectTimeout: 10_000,
  });
  const { stdout } = await conn.run("x");
  assert.equal(stdout, "ok\n");
  assert.ok(conn.hostKeyHash("sha256"));
});

test("getServerHostKey: the host key without authenticating", async () => {
  let logins = 0;
  await using s = await server({
    validatePassword: () => {
      logins++;
      return true;
    },
  });
  const probe = await getServerHostKey("127.0.0.1", {
    port: s.address.port,
    connectTimeout: 10_000,
  });
  assert.equal(probe.algorithm, "ssh-ed25519");
  assert.ok(probe.key.equals(hostKey.publicKey()));
  assert.equal(probe.certificate, undefined);
  assert.match(probe.serverVersion ?? "", /^SSH-2\.0-/);
  assert.equal(logins, 0);
});

test("getServerAuthMethods: the methods the server offers the user", async () => {
  await using s = await server();
  const methods = await getServerAuthMethods("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    connectTimeout: 10_000,
  });
  assert.ok(methods.includes("password"), methods.join(","));
  assert.ok(!methods.includes("none"));
  // The host key is checked as connect() checks it.
  await assert.rejects(
    getServerAuthMethods("127.0.0.1", {
      port: s.address.port,
      username: "a",
      knownHosts: { text: "" },
    }),
    /not known/,
  );
});
