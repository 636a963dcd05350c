/**
 * Our `connect()` against a peer's server (AsyncSSH, paramiko, the `ssh2`
 * package): log in each way, run commands, push bulk data, forward, rekey, and
 * loop over algorithms. The peer servers in conformance/peers/ all offer the
 * same small command set (echo, exit N, sha256 of stdin, cat).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect } from "../io/client/connect.ts";
import type { SSHClientConnection } from "../io/client/connection.ts";
import type { ConnectOptions } from "../io/client/options.ts";
import {
  eachLimited,
  echoServer,
  keyMaterial,
  LOGIN,
  sha256Hex,
  testData,
} from "./interop_peers.ts";
import type { KeyName } from "./fixtures/mod.ts";

/** How our client authenticates in one case. */
export type OurAuth = "password" | "kbdint" | KeyName;

/** Connects to 127.0.0.1:`port` as the fixture user, trusting `knownHosts` only. */
export async function ourLogin(
  port: number,
  knownHosts: string,
  auth: OurAuth,
  options: ConnectOptions = {},
): Promise<SSHClientConnection> {
  const m = await keyMaterial();
  const byAuth: ConnectOptions = auth === "password"
    ? { password: LOGIN.password, preferredAuth: ["password"] }
    : auth === "kbdint"
    ? { password: LOGIN.password, preferredAuth: ["keyboard-interactive"] }
    : {
      clientKeys: [m.clientKeys.find((k) => k.name === auth)!.privateKeyText],
      preferredAuth: ["publickey"],
    };
  return connect("127.0.0.1", {
    port,
    username: LOGIN.user,
    knownHosts: { text: knownHosts },
    clientKeys: [],
    connectTimeout: 30_000,
    ...byAuth,
    ...options,
  });
}

/** known_hosts text for a peer server on `port` that serves the fixture host keys. */
export async function fixtureKnownHosts(port: number): Promise<string> {
  const m = await keyMaterial();
  return m.hostKeys.map((k) => `[127.0.0.1]:${port} ${k.publicKeyLine}`).join("\n") + "\n";
}

/** Logs in each way, checks a command's output and exit status. */
export async function checkLogins(
  port: number,
  auths: readonly OurAuth[],
  options: ConnectOptions = {},
): Promise<void> {
  const known = await fixtureKnownHosts(port);
  const failures: string[] = [];
  for (const auth of auths) {
    try {
      await using conn = await ourLogin(port, known, auth, options);
      const r = await conn.run("echo hello", { check: true });
      assert.equal(r.stdout, "hello\n");
      const e = await conn.run("exit 3");
      assert.equal(e.exitStatus, 3);
    } catch (err) {
      failures.push(`${auth}: ${(err as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
}

/**
 * Sends `size` bytes to the peer's `sha256` (or, with `echo`, through `cat` and
 * back) and checks the hash; returns our kex count afterwards.
 */
export async function checkBulk(
  port: number,
  size: number,
  options: ConnectOptions = {},
  echo = false,
): Promise<number> {
  await using conn = await ourLogin(port, await fixtureKnownHosts(port), "ed25519", options);
  const data = testData(size, 7);
  if (echo) {
    // Read while writing: the echo would otherwise fill the window and stall both ways.
    const p = await conn.createProcess("cat");
    const h = createHash("sha256");
    let got = 0;
    const reading = (async () => {
      for await (const chunk of p.stdout) {
        h.update(chunk);
        got += chunk.length;
      }
    })();
    for (let o = 0; o < size; o += 256 * 1024) await p.write(data.subarray(o, o + 256 * 1024));
    p.writeEof();
    await reading;
    await p.wait();
    assert.equal(got, size);
    assert.equal(h.digest("hex"), sha256Hex(data));
  } else {
    const r = await conn.run("sha256", { input: data, check: true, timeout: 180_000 });
    assert.equal(r.stdout.trim(), sha256Hex(data));
  }
  return conn.getExtraInfo().kexCount;
}

/** Opens a direct-tcpip channel through the peer to an echo server and echoes a line. */
export async function checkDirectTcpip(port: number): Promise<void> {
  const echo = await echoServer();
  try {
    await using conn = await ourLogin(port, await fixtureKnownHosts(port), "ed25519");
    await using c = await conn.openConnection("127.0.0.1", echo.port);
    const w = c.writable.getWriter();
    await w.write(new TextEncoder().encode("through the tunnel\n"));
    const reader = c.readable.getReader();
    let got = "";
    while (!got.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      got += new TextDecoder().decode(value);
    }
    assert.equal(got, "through the tunnel\n");
    await w.close().catch(() => {});
    reader.releaseLock();
  } finally {
    await echo.close();
  }
}

/**
 * Connects once per algorithm (three at a time) with only that algorithm offered (a cipher loop
 * pairs non-AEAD ciphers with `mac`, a MAC loop uses `cipher`) and checks it was
 * negotiated and a command runs. Returns the failures.
 */
export async function algorithmLoop(
  port: number,
  kind: "kex" | "cipher" | "mac",
  names: readonly string[],
  base: ConnectOptions = {},
): Promise<string[]> {
  const known = await fixtureKnownHosts(port);
  const failures: string[] = [];
  await eachLimited(names, 3, async (name) => {
    const options: ConnectOptions = kind === "kex"
      ? { kexAlgs: [name] }
      : kind === "cipher"
      ? { encryptionAlgs: [name] }
      : { macAlgs: [name], encryptionAlgs: ["aes128-ctr"] };
    try {
      await using conn = await ourLogin(port, known, "ed25519", { ...base, ...options });
      const a = conn.getExtraInfo().algorithms!;
      const got = kind === "kex" ? a.kex : kind === "cipher" ? a.cipherC2S : a.macC2S;
      assert.equal(got, name);
      const r = await conn.run("echo ok", { check: true });
      assert.equal(r.stdout, "ok\n");
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  });
  return failures;
}
