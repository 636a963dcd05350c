/**
 * listen() with our own client: where keys come from, safe defaults, every hook, limits,
 * the line editor and session requests. Real sockets on loopback, no external programs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  encodeBreak,
  encodeEnv,
  encodePtyRequest,
  encodeStringArg,
  encodeTcpipOpen,
  encodeWindowChange,
} from "../../core/connection/session_requests.ts";
import { SSHError } from "../../core/errors.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { parseAuthorizedKeys } from "../../keys/trust/authorized_keys.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { createCertificate, SSHCertificate } from "../../keys/certificates/certificate.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { connect } from "../client/connect.ts";
import { type ConnectOptions } from "../client/options.ts";
import { type SSHClientConnection } from "../client/connection.ts";
import { dropStartup, listen, type SSHServer } from "./listen.ts";
import { type ListenOptions } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519");

async function server(options: Partial<ListenOptions>): Promise<SSHServer> {
  return await listen({ port: 0, hostKeys: [hostKey], authFailureDelay: 0, ...options });
}

function login(s: SSHServer, options: ConnectOptions = {}): Promise<SSHClientConnection> {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    connectTimeout: 10_000,
    ...options,
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const d = new TextDecoder();
  for await (const chunk of stream) out += d.decode(chunk, { stream: true });
  return out;
}

/** Opens a session, sends the requests, and returns the channel. */
async function session(
  conn: SSHClientConnection,
  requests: [string, Uint8Array?][],
): Promise<{ ch: ChannelIO; replies: boolean[] }> {
  const ch = await conn.openSession();
  const replies: boolean[] = [];
  for (const [name, data] of requests) replies.push(await ch.request(name, data));
  return { ch, replies };
}

/** Reads a channel's stdout until it matches. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, re: RegExp) {
  let text = "";
  const d = new TextDecoder();
  while (!re.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${re}: ${JSON.stringify(text)}`);
    text += d.decode(value, { stream: true });
  }
  return text;
}

test("listen() takes host keys as key objects, key text and file paths", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-hostkeys-"));
  try {
    const ecdsa = generatePrivateKey("ecdsa");
    const rsa = generatePrivateKey("rsa", { keySize: 2048 });
    writeFileSync(join(dir, "rsa"), rsa.exportPrivateKey("openssh"), { mode: 0o600 });
    await using s = await server({
      hostKeys: [hostKey, ecdsa.exportPrivateKey("openssh"), join(dir, "rsa")],
      validatePassword: () => true,
    });
    for (
      const [alg, key] of [["ssh-ed25519", hostKey], ["ecdsa-sha2-nistp256", ecdsa], [
        "rsa-sha2-512",
        rsa,
      ]] as [string, SSHKey][]
    ) {
      let seen: Uint8Array | undefined;
      await using conn = await login(s, {
        password: "x",
        serverHostKeyAlgs: [alg],
        hostKeyVerifier: ({ keyBlob }) => ((seen = keyBlob), true),
      });
      assert.ok(seen && key.publicKey().equals(key.publicKey()));
      assert.deepEqual(seen, key.publicBlob, alg);
      assert.equal(conn.getExtraInfo().algorithms?.hostKey, alg);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listen() refuses everything by default: no auth hook, no session, no forwarding", async () => {
  await using bare = await server({});
  await assert.rejects(
    login(bare, { password: "anything" }),
    (e: unknown) => e instanceof SSHError && e.code === "ERR_PERMISSION_DENIED",
  );
  await using s = await server({ validatePassword: (_u, pw) => pw === "pw" });
  await using conn = await login(s, { password: "pw" });
  await assert.rejects(conn.openSession(), /Sessions are not allowed/);
  await assert.rejects(
    conn.openChannel("direct-tcpip", encodeTcpipOpen("127.0.0.1", 22, "127.0.0.1", 1)),
    /not allowed/,
  );
});

test("listen() beginAuth returning false lets a user in without credentials", async () => {
  const asked: string[] = [];
  await using s = await server({
    beginAuth: (user) => {
      asked.push(user);
      return user !== "alice";
    },
    processFactory: (p) => p.write(`hi ${p.username} via ${p.connection?.authMethod}\n`),
  });
  await using conn = await login(s, { password: "unused" });
  const { ch } = await session(conn, [["exec", encodeStringArg("x")]]);
  assert.equal(await readAll(ch.readable(0)), "hi alice via none\n");
  assert.deepEqual(asked, ["alice"]);
});

test("listen() beginAuth: only false skips authentication — a hook that returns nothing asks for it", async () => {
  const seen: string[] = [];
  const warnings: string[] = [];
  await using s = await server({
    // A hook that only records the name: it must not let anyone in.
    beginAuth: (user) => Promise.resolve().then(() => void seen.push(user)),
    validatePassword: (_u, pw) => pw === "pw",
    processFactory: (p) => p.write(`via ${p.connection?.authMethod}\n`),
  });
  await assert.rejects(
    login(s, { password: "wrong" }),
    (e: unknown) => e instanceof SSHError && e.code === "ERR_PERMISSION_DENIED",
  );
  await using conn = await login(s, { password: "pw" });
  const { ch } = await session(conn, [["exec", encodeStringArg("x")]]);
  assert.match(await readAll(ch.readable(0)), /^via (password|keyboard-interactive)\n$/);
  assert.deepEqual(seen, ["alice", "alice"]);
  // false lets the user in, and the server's log says so.
  await using open = await server({
    beginAuth: () => false,
    logger: { warn: (m) => void warnings.push(m) },
    processFactory: (p) => p.exit(0),
  });
  await using _in = await login(open, { password: "unused" });
  assert.ok(
    warnings.some((w) => /"alice" logs in without authentication/.test(w)),
    warnings.join(),
  );
});

test("listen() a validatePassword that throws refuses, and the server's log says it failed", async () => {
  const warnings: string[] = [];
  await using s = await server({
    validatePassword: () => {
      throw new Error("database down");
    },
    logger: { warn: (m) => void warnings.push(m) },
  });
  await assert.rejects(
    login(s, { password: "pw" }),
    (e: unknown) => e instanceof SSHError && e.code === "ERR_PERMISSION_DENIED",
  );
  assert.ok(
    warnings.some((w) => /authentication hook failed .*database down/.test(w)),
    warnings.join("\n"),
  );
});

test("listen() serverFactory hooks are per connection and win over the shared ones", async () => {
  let made = 0;
  const lost: number[] = [];
  await using s = await server({
    validatePassword: () => false,
    serverFactory: (conn) => {
      const n = ++made;
      return {
        connectionLost: () => lost.push(n),
        validatePassword: (_u, pw) => pw === `pw${n}` && conn.remoteAddress === "127.0.0.1",
      };
    },
  });
  const a = await login(s, { password: "pw1" });
  await assert.rejects(login(s, { password: "pw1" }), /Permission denied|tried password/);
  const c = await login(s, { password: "pw3" });
  await a.close();
  await c.close();
  while (lost.length < 3) await new Promise((r) => setImmediate(r));
  assert.deepEqual(lost.sort(), [1, 2, 3]);
});

test("listen() validatePassword can demand a new password that changePassword accepts", async () => {
  const changes: string[] = [];
  await using s = await server({
    validatePassword: (_u, pw) =>
      pw === "new" ? true : pw === "old" ? { changePassword: "Expired" } : false,
    changePassword: (user, oldPw, newPw) => {
      changes.push(`${user}:${oldPw}->${newPw}`);
      return oldPw === "old";
    },
    processFactory: () => {},
  });
  let prompt = "";
  await using conn = await login(s, {
    password: "old",
    passwordChange: (p) => ((prompt = p), { oldPassword: "old", newPassword: "new" }),
    preferredAuth: ["password"],
  });
  assert.equal(prompt, "Expired");
  assert.deepEqual(changes, ["alice:old->new"]);
  assert.equal(conn.getExtraInfo().username, "alice");
});

test("listen() authorizedClientKeys per user, replaceable from beginAuth", async () => {
  const other = generatePrivateKey("ed25519");
  await using s = await server({
    // Text from a function or from setAuthorizedKeys goes parsed: their strings are paths.
    authorizedClientKeys: (user) =>
      user === "alice" ? parseAuthorizedKeys(userKey.exportPublicKey("openssh")) : null,
    beginAuth: (user, conn) => {
      if (user === "bob") conn.setAuthorizedKeys(parseAuthorizedKeys(other.exportPublicKey()));
      if (user === "dave") conn.setAuthorizedKeys(other.exportPublicKey()); // a path: no keys
      return true;
    },
    processFactory: (p) => p.write(`${p.username}\n`),
  });
  await using alice = await login(s, { clientKeys: [userKey] });
  await assert.rejects(login(s, { username: "carol", clientKeys: [userKey] }), /tried publickey/);
  await assert.rejects(login(s, { username: "bob", clientKeys: [userKey] }), /tried publickey/);
  await using bob = await login(s, { username: "bob", clientKeys: [other] });
  assert.equal(bob.getExtraInfo().username, "bob");
  await assert.rejects(login(s, { username: "dave", clientKeys: [other] }), /tried publickey/);
  assert.equal(alice.getExtraInfo().username, "alice");
});

test("listen() validatePublicKey sees the parsed key; signatures are checked for it", async () => {
  const offered: string[] = [];
  await using s = await server({
    validatePublicKey: (_u, k) => {
      offered.push(`${k.algorithm} ${k.key?.getFingerprint()}`);
      return k.key?.equals(userKey) ?? false;
    },
  });
  await using conn = await login(s, { clientKeys: [userKey] });
  assert.ok(offered.includes(`ssh-ed25519 ${userKey.getFingerprint()}`));
  assert.equal(conn.getExtraInfo().username, "alice");
});

test("listen() sessionRequested can run its own factory or refuse", async () => {
  let n = 0;
  await using s = await server({
    validatePassword: () => true,
    processFactory: (p) => p.write("default\n"),
    sessionRequested: () => (++n === 2 ? false : n === 3 ? (p) => p.write("special\n") : true),
  });
  await using conn = await login(s, { password: "x" });
  const run = async () => {
    const { ch } = await session(conn, [["exec", encodeStringArg("x")]]);
    return await readAll(ch.readable(0));
  };
  assert.equal(await run(), "default\n");
  await assert.rejects(run(), /not allowed/);
  assert.equal(await run(), "special\n");
});

test("listen() processFactory errors exit 1 with the message on stderr; exit codes and signals go out", async () => {
  const warnings: string[] = [];
  await using s = await server({
    validatePassword: () => true,
    logger: { warn: (m) => void warnings.push(m) },
    processFactory: (p) => {
      if (p.command === "boom") throw new Error("it broke");
      if (p.command === "kill") return p.exitWithSignal("SIGTERM", false, "bye");
      p.exit(42);
    },
  });
  await using conn = await login(s, { password: "x" });
  const boom = await conn.run("boom");
  assert.equal(boom.exitStatus, 1);
  assert.match(String(boom.stderr), /it broke/);
  // And the server's log has it, with where it came from.
  assert.ok(
    warnings.some((w) => /process factory failed for "boom": Error: it broke.*at /.test(w)),
    warnings.join("\n"),
  );
  assert.equal((await conn.run("x")).exitStatus, 42);
  const killed = await conn.run("kill");
  assert.equal(killed.exitSignal?.signal, "TERM");
});

test("listen() connectionRequested may return a duplex that carries the channel", async () => {
  const seen: string[] = [];
  await using s = await server({
    validatePassword: () => true,
    connectionRequested: (host, port, originHost, originPort) => {
      seen.push(`${host}:${port} from ${originHost}:${originPort}`);
      // An in-process "service": upper-cases what it receives.
      const t = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, c) =>
          c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
      });
      return { readable: t.readable, writable: t.writable };
    },
  });
  await using conn = await login(s, { password: "x" });
  const ch = await conn.openChannel(
    "direct-tcpip",
    encodeTcpipOpen("service.internal", 80, "10.1.2.3", 4567),
  );
  await ch.write(new TextEncoder().encode("hello duplex"));
  ch.sendEof();
  assert.equal(await readAll(ch.readable(0)), "HELLO DUPLEX");
  assert.deepEqual(seen, ["service.internal:80 from 10.1.2.3:4567"]);
});

test("listen() drops connections past maxStartups and cuts silent ones at loginTimeout", async () => {
  await using s = await server({ validatePassword: () => true, maxStartups: 2, loginTimeout: 300 });
  const banner = (sock: net.Socket) =>
    new Promise<string>((resolve) => {
      let got = "";
      sock.on("data", (b: Uint8Array) => {
        got += new TextDecoder().decode(b);
        if (got.includes("\n")) resolve(got);
      });
      sock.on("close", () => resolve(got));
    });
  const open = () => net.connect({ host: "127.0.0.1", port: s.address.port });
  const a = open(), b = open();
  assert.match(await banner(a), /^SSH-2\.0-/);
  assert.match(await banner(b), /^SSH-2\.0-/);
  const c = open();
  assert.equal(await banner(c), "", "a third unauthenticated connection is dropped");
  const closed = (sock: net.Socket) => new Promise((r) => sock.on("close", r));
  const t0 = performance.now();
  const serverSide = s.getConnections().map((c) => c.closed);
  await Promise.all([closed(a), closed(b), ...serverSide]);
  assert.ok(performance.now() - t0 < 5_000);
  // Room again once they are gone.
  await using conn = await login(s, { password: "x" });
  assert.equal(s.connections, 1);
  void conn;
});

test("listen() gives pty sessions the line editor and passes pty, env, window-change, signal and break", async () => {
  const events: string[] = [];
  await using s = await server({
    validatePassword: () => true,
    acceptEnv: ["LANG"],
    processFactory: async (p) => {
      p.onTerminalSizeChanged = (size) => events.push(`size ${size.columns}x${size.rows}`);
      p.onSignal = (name) => events.push(`signal ${name}`);
      p.onBreak = (ms) => (events.push(`break ${ms}`), true);
      // The size alone: no term or modes in it (they have their own getters).
      events.push(`keys ${Object.keys(p.terminalSize ?? {}).join(",")}`);
      await p.write(
        `${p.terminalType} ${p.terminalSize?.columns}x${p.terminalSize?.rows} ` +
          `${p.env.LANG} ${p.env.OTHER}\n> `,
      );
      const reader = p.stdin.getReader();
      const d = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await p.write(`got ${JSON.stringify(d.decode(value))}\n> `);
      }
      await p.write("eof\n");
    },
  });
  await using conn = await login(s, { password: "x" });
  const { ch, replies } = await session(conn, [
    ["env", encodeEnv("LANG", "C.UTF-8")],
    ["env", encodeEnv("OTHER", "x")],
    ["pty-req", encodePtyRequest({ term: "xterm", columns: 100, rows: 40 })],
    ["shell"],
  ]);
  assert.deepEqual(replies, [true, false, true, true]);
  const reader = ch.readable(0).getReader();
  const write = (t: string) => ch.write(new TextEncoder().encode(t));
  assert.match(await readUntil(reader, /> $/), /^xterm 100x40 C\.UTF-8 undefined\r\n> $/);
  await write("helo\x1b[Dl\x7fl\r");
  assert.match(await readUntil(reader, /got.*\r\n> $/), /helo.*got "hello\\n"\r\n> $/s);
  assert.equal(
    await ch.request("window-change", encodeWindowChange({ columns: 120, rows: 50 })),
    true,
  );
  await write("\x03");
  await readUntil(reader, /\^C\r\n/);
  assert.equal(await ch.request("signal", encodeStringArg("HUP")), true);
  assert.equal(await ch.request("break", encodeBreak(300)), true);
  await write("\x04");
  assert.match(await readUntil(reader, /eof\r\n/), /eof\r\n/);
  assert.deepEqual(events, [
    "keys columns,rows,widthPixels,heightPixels",
    "size 120x50",
    "signal INT",
    "signal HUP",
    "break 300",
  ]);
});

test("listen() with lineEditor: false hands pty input over raw", async () => {
  await using s = await server({
    validatePassword: () => true,
    lineEditor: false,
    processFactory: async (p) => {
      for await (const chunk of p.stdin) {
        await p.write(`[${new TextDecoder().decode(chunk)}]`);
        if (new TextDecoder().decode(chunk).includes("q")) return;
      }
    },
  });
  await using conn = await login(s, { password: "x" });
  const { ch } = await session(conn, [
    ["pty-req", encodePtyRequest({ term: "vt100", columns: 80, rows: 24 })],
    ["shell"],
  ]);
  await ch.write(new TextEncoder().encode("a\x7fq"));
  assert.equal(await readAll(ch.readable(0)), "[a\x7fq]");
});

test("dropStartup() follows OpenSSH's MaxStartups 10:30:100 random early drop", () => {
  const limit = { start: 10, rate: 30, full: 100 };
  assert.equal(dropStartup(9, limit, () => 0), false);
  assert.equal(dropStartup(10, limit, () => 0.29), true);
  assert.equal(dropStartup(10, limit, () => 0.31), false);
  assert.equal(dropStartup(55, limit, () => 0.64), true); // 30% + 70% * 45/90 = 65%
  assert.equal(dropStartup(55, limit, () => 0.66), false);
  assert.equal(dropStartup(100, limit, () => 0.999), true);
  assert.equal(dropStartup(4, 5), false);
  assert.equal(dropStartup(5, 5), true);
});

test("listen() getExtraInfo().authKey: the key, or the certificate, that logged in by publickey", async () => {
  const userKey = generatePrivateKey("ed25519");
  const ca = generatePrivateKey("ed25519");
  const cert = createCertificate({
    key: userKey.publicKey(),
    caKey: ca,
    type: "user",
    keyId: "alice@laptop",
    principals: ["alice"],
    serial: 42n,
  });
  const seen: unknown[] = [];
  await using s = await server({
    authorizedClientKeys: [userKey.publicKey()],
    trustedUserCAKeys: [ca.publicKey()],
    validatePassword: () => true,
    authCompleted: (conn) => void seen.push(conn.getExtraInfo().authKey),
  });
  await (await login(s, { clientKeys: [userKey], agent: false })).close();
  await (await login(s, { clientKeys: [clientKeyFromSSHKey(userKey, cert)], agent: false }))
    .close();
  await (await login(s, { password: "pw", clientKeys: [], agent: false })).close();
  assert.equal(seen.length, 3);
  assert.ok(seen[0] instanceof SSHKey && seen[0].equals(userKey.publicKey()));
  const certSeen = seen[1];
  assert.ok(certSeen instanceof SSHCertificate);
  assert.equal(certSeen.keyId, "alice@laptop");
  assert.equal(certSeen.serial, 42n);
  assert.equal(seen[2], undefined);
});

test("listen() logs each credential decided, as sshd's Accepted/Failed lines, with the key's fingerprint", async () => {
  const userKey = generatePrivateKey("ed25519");
  const stranger = generatePrivateKey("ed25519");
  const lines: string[] = [];
  await using s = await server({
    authorizedClientKeys: [userKey.publicKey()],
    validatePassword: (_u, pw) => pw === "pw",
    logger: { info: (m) => void lines.push(m) },
  });
  await assert.rejects(login(s, { password: "wrong", clientKeys: [stranger], agent: false }));
  await (await login(s, { clientKeys: [userKey], agent: false })).close();
  const audit = lines.filter((l) => /(Accepted|Failed) /.test(l));
  assert.ok(
    audit.some((l) =>
      l.includes(`Failed publickey for "alice" from 127.0.0.1 port`) &&
      l.includes(stranger.getFingerprint())
    ),
    audit.join("\n"),
  );
  assert.ok(audit.some((l) => /Failed (password|keyboard-interactive) for "alice"/.test(l)));
  assert.ok(
    audit.some((l) =>
      l.includes(`Accepted publickey for "alice"`) && l.includes(userKey.getFingerprint())
    ),
    audit.join("\n"),
  );
  assert.ok(!audit.some((l) => l.includes("wrong")), "no password in the log");
});
