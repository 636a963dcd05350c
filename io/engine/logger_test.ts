/**
 * The debug logger: levels, console-like sinks, the SSHTS_DEBUG switch, the
 * phases it reports, and that nothing secret reaches it at trace level during
 * password, publickey and keyboard-interactive logins and an exec carrying
 * secret data. Loopback only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "../server/listen.ts";
import type { ServerEvent } from "../../core/server/server_connection.ts";
import { type ConsoleLike, Log, type LogLevel } from "./logger.ts";

/** A console-like sink that keeps every line with its method. */
function capture(): { sink: ConsoleLike; lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => (s: string) => lines.push(`${m} ${s}`);
  return {
    lines,
    sink: {
      error: keep("error"),
      warn: keep("warn"),
      info: keep("info"),
      debug: keep("debug"),
      log: keep("log"),
    },
  };
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function b64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

test("Log filters by level, maps trace to debug and falls back to log", () => {
  const { sink, lines } = capture();
  const log = new Log(sink, "debug", "[p]");
  log.error("e");
  log.info("i");
  log.debug("d");
  log.trace("t");
  assert.deepEqual(lines, ["error [p] e", "info [p] i", "debug [p] d"]);
  const only: string[] = [];
  const t = new Log({ log: (s) => only.push(s) }, "trace", "[q]");
  t.trace("x");
  t.warn("y");
  assert.deepEqual(only, ["[q] x", "[q] y"]);
  assert.equal(t.on("trace"), true);
  assert.equal(log.on("trace"), false);
  // A throwing sink never breaks the caller.
  new Log(
    {
      info: () => {
        throw new Error("boom");
      },
    },
    "info",
    "",
  ).info("fine");
});

test("Log.from reads SSHTS_DEBUG when no logger is given", () => {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process
    ?.env;
  if (!env) return;
  const old = env.SSHTS_DEBUG;
  try {
    delete env.SSHTS_DEBUG;
    assert.equal(Log.from({}, "").on("error"), false);
    env.SSHTS_DEBUG = "1";
    assert.equal(Log.from({}, "").on("debug"), true);
    assert.equal(Log.from({}, "").on("trace"), false);
    env.SSHTS_DEBUG = "trace";
    assert.equal(Log.from({}, "").on("trace"), true);
    // An explicit level wins over the environment.
    assert.equal(Log.from({ logLevel: "warn" }, "").on("info"), false);
  } finally {
    if (old === undefined) delete env.SSHTS_DEBUG;
    else env.SSHTS_DEBUG = old;
  }
});

test("trace logging of password, publickey and kbdint logins and an exec leaks no secret", async () => {
  const password = "pw-Zq81!secret-password";
  const kbdAnswer = "kbd-answer-7Hq2secret";
  const passphrase = "passphrase-K9secret";
  const stdinSecret = "stdin-data-secret-Xy7Qz";
  const stdoutSecret = "stdout-data-secret-Pw3Lm";
  const hostKey = generatePrivateKey("ed25519");
  const userKey = generatePrivateKey("ed25519");
  const dir = mkdtempSync(join(tmpdir(), "sshts-log-"));
  const keyPath = join(dir, "id_ed25519");
  writeFileSync(keyPath, userKey.exportPrivateKey("openssh", { passphrase, rounds: 2 }));
  const level: LogLevel = "trace";
  const server = capture();
  const client = capture();
  await using s = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    logger: server.sink,
    logLevel: level,
    authorizedClientKeys: userKey.exportPublicKey("openssh"),
    validatePassword: (_u, pw) => pw === password,
    getKbdintChallenge: () => ({ prompts: [{ prompt: "Token: ", echo: false }] }),
    validateKbdintResponse: (_u, r) => r[0] === kbdAnswer,
    processFactory: async (p) => {
      const reader = p.stdin.getReader();
      let got = "";
      const d = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        got += d.decode(value, { stream: true });
      }
      await p.write(got === stdinSecret ? stdoutSecret : "mismatch");
    },
  });
  const base = {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    logger: client.sink,
    logLevel: level,
  } as const;
  try {
    {
      await using c = await connect("127.0.0.1", {
        ...base,
        password,
        preferredAuth: ["password"],
      });
      const r = await c.run("cat", { input: stdinSecret, check: true });
      assert.equal(r.stdout, stdoutSecret);
    }
    {
      await using c = await connect("127.0.0.1", {
        ...base,
        clientKeys: [keyPath],
        passphrase,
        preferredAuth: ["publickey"],
      });
      await c.run("x", { input: "", check: true });
    }
    {
      await using c = await connect("127.0.0.1", {
        ...base,
        clientKeys: [],
        preferredAuth: ["keyboard-interactive"],
        kbdintResponses: (_n, _i, prompts) => prompts.map(() => kbdAnswer),
      });
      c.rekey();
      await c.run("x", { input: "", check: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await new Promise((r) => setTimeout(r, 50));
  const all = [...client.lines, ...server.lines].join("\n");
  // It did log the phases.
  assert.match(client.lines.join("\n"), /connecting to 127\.0\.0\.1:\d+/);
  assert.match(client.lines.join("\n"), /TCP connected to 127\.0\.0\.1/);
  assert.match(client.lines.join("\n"), /key exchange done: kex \S+, host key ssh-ed25519/);
  assert.match(client.lines.join("\n"), /rekey done/);
  assert.match(client.lines.join("\n"), /auth: trying password/);
  assert.match(client.lines.join("\n"), /auth: authenticated with publickey/);
  assert.match(client.lines.join("\n"), /auth: authenticated with keyboard-interactive/);
  assert.match(client.lines.join("\n"), /channel \d+: open/);
  assert.match(client.lines.join("\n"), /channel \d+: closed/);
  assert.match(client.lines.join("\n"), /event channelData channel \d+ stream 0 \d+ bytes/);
  assert.match(client.lines.join("\n"), /packet out msg 50 payload \d+ bytes/);
  assert.match(server.lines.join("\n"), /packet in msg 50 payload \d+ bytes/);
  assert.match(server.lines.join("\n"), /listening on 127\.0\.0\.1/);
  assert.match(server.lines.join("\n"), /user "alice" tries password/);
  assert.match(server.lines.join("\n"), /disconnected/);
  // And nothing secret, in clear, hex or base64.
  const enc = new TextEncoder();
  const secrets: [string, Uint8Array][] = [
    ["password", enc.encode(password)],
    ["kbdint answer", enc.encode(kbdAnswer)],
    ["passphrase", enc.encode(passphrase)],
    ["stdin data", enc.encode(stdinSecret)],
    ["stdout data", enc.encode(stdoutSecret)],
    ["user private key", enc.encode(userKey.exportPrivateKey("openssh"))],
    ["host private key", enc.encode(hostKey.exportPrivateKey("openssh"))],
  ];
  for (const [name, bytes] of secrets) {
    const text = new TextDecoder().decode(bytes);
    for (const form of [text, hex(bytes), b64(bytes)]) {
      // Any 16-character piece of the secret's forms would give it away.
      for (let i = 0; i + 16 <= form.length; i += 8) {
        const piece = form.slice(i, i + 16);
        if (/^[\s-]*$/.test(piece) || piece.includes("-----") || piece.includes(" ")) continue;
        assert.ok(!all.includes(piece), `${name} leaked: ${piece}`);
      }
    }
  }
  // Key material, signatures and session keys would show as long hex or base64 runs.
  assert.doesNotMatch(all, /[0-9a-f]{32}/i);
  // A public key's fingerprint (the server's Accepted/Failed lines, as sshd's) is no secret.
  assert.match(all, /Accepted publickey for "alice" .*SHA256:/);
  assert.doesNotMatch(all.replaceAll(/SHA256:[A-Za-z0-9+/]{43}/g, "SHA256:…"), /[A-Za-z0-9+/]{40}/);
});

test("peer text cannot forge log lines: user names and channel types are escaped and quoted", () => {
  const { sink, lines } = capture();
  const log = new Log(sink, "debug", "[s]");
  const evil =
    'x" tries password\n[s] auth: user "root" authenticated with publickey\r\n\x1b[2K\\x0a';
  log.event({ type: "authNone", id: 1, username: evil });
  log.event({
    type: "authenticated",
    username: 'root" authenticated with password; user "x',
    method: "none",
  });
  log.event({
    type: "channelOpenRequest",
    channelId: 0,
    channelType: "session\n[s] forged",
  } as unknown as ServerEvent);
  assert.deepEqual(lines, [
    'info [s] auth: user "x\\" tries password\\x0a[s] auth: user \\"root\\" authenticated with publickey\\x0d\\x0a\\x1b[2K\\\\x0a" asks to log in (method none)',
    'info [s] auth: user "root\\" authenticated with password; user \\"x" authenticated with none',
    "debug [s] channel 0: peer opens a session\\x0a[s] forged channel",
  ]);
  // Whatever else is logged (an error quoting the user name, a reason the peer gave) is one line.
  log.info('connection closed: Too many authentication failures for "x\n[s] forged" (6)');
  assert.equal(
    lines.at(-1),
    'info [s] connection closed: Too many authentication failures for "x\\x0a[s] forged" (6)',
  );
  for (const l of lines) assert.ok(![..."\r\n\x1b"].some((c) => l.includes(c)), l);
});
