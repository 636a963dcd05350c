/**
 * Errors a user can act on: DNS failure, refused port, connect timeouts naming
 * their phase, a lost connection, a write on a dead connection carrying the
 * cause, a wrong passphrase naming its file, a login with no credentials, and
 * every error class exported from mod.ts. Loopback only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DisconnectError, SSHError } from "./core/errors.ts";
import { generatePrivateKey } from "./keys/generate.ts";
import * as mod from "./mod.ts";
import { ChannelClosedError } from "./io/engine/errors.ts";
import { readPrivateKey } from "./io/keys/files.ts";
import { listen } from "./io/server/listen.ts";
import { connect, DEFAULT_CONNECT_TIMEOUT_MS } from "./io/client/connect.ts";
import { ConnectError, ConnectTimeoutError } from "./io/client/errors.ts";

const hostKey = generatePrivateKey("ed25519");

/** A TCP listener that runs `onSocket` for each connection; closed by the returned function. */
async function rawServer(
  onSocket: (s: net.Socket) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = await rawServer(() => {});
  await s.close();
  return s.port;
}

test("connect() to a name that does not resolve: ERR_DNS naming the host", async () => {
  const e = await connect("no-such-host.invalid", {
    username: "u",
    password: "p",
    knownHosts: null,
  }).then(() => undefined, (x) => x);
  assert.ok(e instanceof ConnectError, String(e));
  assert.equal(e.code, "ERR_DNS");
  assert.match(e.message, /no-such-host\.invalid/);
  assert.match(e.message, /name not found/);
});

test("connect() to a closed port: ERR_CONNECTION_REFUSED naming host:port", async () => {
  const port = await freePort();
  const e = await connect("127.0.0.1", { port, username: "u", password: "p", knownHosts: null })
    .then(() => undefined, (x) => x);
  assert.ok(e instanceof ConnectError, String(e));
  assert.equal(e.code, "ERR_CONNECTION_REFUSED");
  assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
  assert.equal(e.port, port);
});

test("connect() to a silent listener times out in the handshake phase", async () => {
  const srv = await rawServer(() => {});
  try {
    const t0 = performance.now();
    const e = await connect("127.0.0.1", {
      port: srv.port,
      username: "u",
      password: "p",
      knownHosts: null,
      connectTimeout: 300,
    }).then(() => undefined, (x) => x);
    assert.ok(e instanceof ConnectTimeoutError, String(e));
    assert.equal(e.code, "ERR_TIMEOUT");
    assert.equal(e.phase, "handshake");
    assert.ok(e.message.includes(`127.0.0.1:${srv.port}`), e.message);
    assert.match(e.message, /handshake/);
    assert.ok(performance.now() - t0 < 5_000);
  } finally {
    await srv.close();
  }
});

test("connect() to a server that never answers the password times out in the auth phase", async () => {
  await using s = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => new Promise<boolean>(() => {}),
  });
  const e = await connect("127.0.0.1", {
    port: s.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    connectTimeout: 1_000,
  }).then(() => undefined, (x) => x);
  assert.ok(e instanceof ConnectTimeoutError, String(e));
  assert.equal(e.phase, "auth");
  assert.match(e.message, /authentication/);
});

test("connect() through a tunnel that never connects times out in the tcp phase", async () => {
  // A jump host whose direct-tcpip open hangs: the "TCP connect" is the channel open.
  const tunnel = {
    openChannel: (_t: string, _d?: Uint8Array, o?: { signal?: AbortSignal }) =>
      new Promise<never>((_, reject) => {
        o?.signal?.addEventListener("abort", () => reject(o.signal!.reason), { once: true });
      }),
  };
  const e = await connect("10.1.2.3", {
    port: 2200,
    username: "u",
    password: "p",
    knownHosts: null,
    tunnel,
    connectTimeout: 200,
    config: false,
  }).then(() => undefined, (x) => x);
  assert.ok(e instanceof ConnectTimeoutError, String(e));
  assert.equal(e.phase, "tcp");
  assert.match(e.message, /10\.1\.2\.3:2200 timed out after 200 ms during the TCP connect/);
});

test("connect() has a documented default connect timeout of 30 s", () => {
  assert.equal(DEFAULT_CONNECT_TIMEOUT_MS, 30_000);
  assert.equal(mod.DEFAULT_CONNECT_TIMEOUT_MS, 30_000);
});

test("connect() to a server that hangs up: ERR_CONNECTION_LOST naming host:port", async () => {
  const srv = await rawServer((s) => s.end("SSH-2.0-Hangup\r\n"));
  try {
    const e = await connect("127.0.0.1", {
      port: srv.port,
      username: "u",
      password: "p",
      knownHosts: null,
      connectTimeout: 5_000,
    }).then(() => undefined, (x) => x);
    assert.ok(e instanceof SSHError, String(e));
    assert.equal(e.code, "ERR_CONNECTION_LOST");
    assert.ok(e.message.includes(`127.0.0.1:${srv.port}`), e.message);
  } finally {
    await srv.close();
  }
});

test("a write on a connection that died rejects with ChannelClosedError whose cause is the connection's error", async () => {
  await using s = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: () => new Promise<void>(() => {}),
  });
  // A TCP relay in front of the server, cut once the session is open: a lost connection.
  const relay = await rawServer((client) => {
    const up = net.connect(s.address.port, "127.0.0.1");
    up.on("error", () => client.destroy());
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
    client.pipe(up).pipe(client);
  });
  const conn = await connect("127.0.0.1", {
    port: relay.port,
    username: "u",
    password: "p",
    knownHosts: null,
  });
  const ch = await conn.openSession();
  await relay.close();
  await conn.closed;
  const e = await ch.write(new Uint8Array(10)).then(() => undefined, (x) => x);
  assert.ok(e instanceof ChannelClosedError, String(e));
  assert.ok(e.cause instanceof DisconnectError, String(e.cause));
  assert.equal(e.cause, conn.closeError);
  assert.equal((e.cause as SSHError).code, "ERR_CONNECTION_LOST");
});

test("a wrong passphrase names the key file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-err-"));
  try {
    const path = join(dir, "id_test");
    const key = generatePrivateKey("ed25519");
    writeFileSync(path, key.exportPrivateKey("openssh", { passphrase: "right", rounds: 2 }));
    const e = await readPrivateKey(path, "wrong").then(() => undefined, (x) => x);
    assert.ok(e instanceof mod.KeyImportError, String(e));
    assert.ok(e.message.includes(path), e.message);
    assert.match(e.message, /passphrase/);
    const e2 = await connect("127.0.0.1", {
      port: 1,
      clientKeys: [path],
      passphrase: "wrong",
      knownHosts: null,
    }).then(() => undefined, (x) => x);
    assert.ok(e2 instanceof mod.KeyImportError && e2.message.includes(path), String(e2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a login with no credentials says which options would provide them", async () => {
  await using s = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
  });
  const e = await connect("127.0.0.1", {
    port: s.address.port,
    username: "u",
    clientKeys: [],
    agent: false,
    knownHosts: null,
  }).then(() => undefined, (x) => x);
  assert.ok(e instanceof DisconnectError, String(e));
  assert.equal(e.code, "ERR_PERMISSION_DENIED");
  assert.match(e.message, /No credentials were given/);
  for (const option of ["password", "clientKeys", "kbdintResponses", "passphrase", "agent"]) {
    assert.ok(e.message.includes(`\`${option}\``), `${option} in: ${e.message}`);
  }
});

test("every error class of the library is exported from mod.ts", () => {
  const root = new URL("./", import.meta.url).pathname;
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = join(dir, name);
      if (name === "node_modules" || name.startsWith(".")) continue;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (
        // Internal modules (a leading "_") keep their errors to themselves.
        name.endsWith(".ts") && !name.endsWith("_test.ts") && !name.startsWith("_") &&
        !rel.includes("testing")
      ) {
        const text = readFileSync(join(root, rel), "utf8");
        for (const m of text.matchAll(/^export class (\w+Error)\b/gm)) found.add(m[1]!);
      }
    }
  };
  for (const dir of ["core", "keys", "io", "sftp", "agent", "config"]) {
    try {
      walk(dir);
    } catch { /* a folder that has not landed yet */ }
  }
  assert.ok(found.size >= 10, `only ${found.size} error classes found`);
  const exported = mod as Record<string, unknown>;
  const missing = [...found].filter((n) => typeof exported[n] !== "function");
  assert.deepEqual(missing, []);
});
