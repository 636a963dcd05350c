/**
 * listen()'s authorized_keys logins, line by line as sshd decides them: a plain key's line
 * with `principals=` (an option only a `cert-authority` line may carry) lets nobody in, and
 * a later line for the same key still does. A user's file is opened as sshd opens it: a FIFO
 * or an oversized file refuses that user's keys and holds up nobody else.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { parseAuthorizedKeys } from "../../keys/trust/authorized_keys.ts";
import { connect } from "../client/connect.ts";
import { AUTHORIZED_KEYS_MAX_BYTES } from "../keys/authorized_keys.ts";
import { hostileFiles, NO_FIFOS, releaseFifo, within } from "../keys/_trust_file_test_util.ts";
import { listen } from "./listen.ts";
import type { ListenOptions } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");
const user = generatePrivateKey("ed25519");

async function login(authorizedClientKeys: NonNullable<ListenOptions["authorizedClientKeys"]>) {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys,
    processFactory: (p) => p.exit(0),
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [user],
  });
  assert.equal(conn.getExtraInfo().username, "alice");
  return server.getConnections()[0]!.permissions;
}

test("listen({ authorizedClientKeys }) takes SSHKey objects, as lines without options", async () => {
  const permissions = await login([generatePrivateKey("ed25519").publicKey(), user.publicKey()]);
  assert.equal(permissions.pty, true);
  // A private key stands for its public half.
  await login([user]);
  await assert.rejects(
    login([generatePrivateKey("ed25519").publicKey()]),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
});

test("listen({ authorizedClientKeys }) with a list holding neither keys nor entries is a TypeError", async () => {
  // Plain JavaScript: a key's text in a list used to refuse every key without a word.
  const bad = [user.exportPublicKey()] as unknown as NonNullable<
    ListenOptions["authorizedClientKeys"]
  >;
  await assert.rejects(
    listen({ host: "127.0.0.1", port: 0, hostKeys: [hostKey], authorizedClientKeys: bad }),
    (e: Error) => e instanceof TypeError && /authorizedClientKeys\[0\] is neither/.test(e.message),
  );
});

test("listen() refuses a key whose plain authorized_keys line has principals=", async () => {
  await assert.rejects(
    login(`principals="alice" ${user.exportPublicKey()}`),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
});

test("listen() takes a later line for the key after a principals= line refused it", async () => {
  const pub = user.exportPublicKey().trim();
  const permissions = await login(`principals="alice" ${pub}\nno-pty ${pub}\n`);
  assert.equal(permissions.pty, false); // line 2's options
});

test("listen() refuses an authorized_keys file that is a FIFO or too large, and keeps serving", async () => {
  const dir = mkdtempSync(join(tmpdir(), "authorized-keys-"));
  try {
    writeFileSync(join(dir, "alice"), user.exportPublicKey());
    hostileFiles(dir, user.exportPublicKey(), AUTHORIZED_KEYS_MAX_BYTES);
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      authorizedClientKeys: (name) => join(dir, name), // each user's own file
    });
    const attempt = (username: string) =>
      within(
        connect("127.0.0.1", {
          port: server.address.port,
          username,
          knownHosts: null,
          agent: false,
          clientKeys: [user],
        }),
        8_000,
        `login as ${username}`,
      );
    // More connections than Node's file thread pool has threads, each reading the user's file.
    const hostile = NO_FIFOS ? ["big"] : ["fifo", "fifo", "fifo", "fifo", "fifo", "big"];
    for (const r of await Promise.allSettled(hostile.map(attempt))) {
      assert.equal(r.status, "rejected");
      assert.equal((r.reason as Error & { code?: string }).code, "ERR_PERMISSION_DENIED");
    }
    // The server still reads files and lets others in, promptly.
    await within(readFile(join(dir, "alice")), 2_000, "a file read in the server's process");
    await using conn = await attempt("alice");
    assert.equal(conn.getExtraInfo().username, "alice");
  } finally {
    releaseFifo(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a user name carrying a key line never authorizes that key, whatever path is built from it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-akname-"));
  try {
    writeFileSync(join(dir, "alice"), user.exportPublicKey());
    const attacker = generatePrivateKey("ed25519");
    const asked: string[] = [];
    for (
      const perUser of [
        (name: string) => join(dir, name),
        (name: string) => `${dir}/${name}/.ssh/authorized_keys`,
      ]
    ) {
      await using server = await listen({
        host: "127.0.0.1",
        port: 0,
        hostKeys: [hostKey],
        authFailureDelay: 0,
        authorizedClientKeys: (name) => (asked.push(name), perUser(name)),
        validatePassword: () => true, // even a hook that lets everyone in is never asked
      });
      const login = (username: string, o: { password?: string } = {}) =>
        connect("127.0.0.1", {
          port: server.address.port,
          username,
          knownHosts: null,
          agent: false,
          config: false,
          clientKeys: o.password === undefined ? [attacker] : [],
          ...o,
        });
      const injected = `nobody\n${attacker.exportPublicKey()} x`;
      await assert.rejects(login(injected), { code: "ERR_PERMISSION_DENIED" });
      await assert.rejects(login(injected, { password: "pw" }), { code: "ERR_PERMISSION_DENIED" });
      await assert.rejects(login("nobody\0"), { code: "ERR_PERMISSION_DENIED" });
    }
    assert.deepEqual(asked, [], "no hook or file lookup saw a name with a control character");

    // A function's string is a path even when it looks like keys; text goes as parsed keys.
    const line = user.exportPublicKey();
    await assert.rejects(login(() => line), { code: "ERR_PERMISSION_DENIED" });
    assert.ok(await login(() => parseAuthorizedKeys(line)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a per-user authorized_keys path is not read for a user name that leaves its directory", async () => {
  const base = mkdtempSync(join(tmpdir(), "sshts-ak-user-"));
  try {
    // users/<name>/authorized_keys; "../evil" would read evil/authorized_keys instead.
    for (const dir of ["users/alice", "evil"]) {
      const d = join(base, dir);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "authorized_keys"), user.exportPublicKey());
    }
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      authorizedClientKeys: (u) => join(base, "users", u, "authorized_keys"),
      processFactory: (p) => p.exit(0),
    });
    const as = (username: string) =>
      connect("127.0.0.1", {
        port: server.address.port,
        username,
        knownHosts: null,
        agent: false,
        clientKeys: [user],
      }).then(async (c) => (await c.close(), "in"), (e: { code?: string }) => e.code);
    assert.equal(await as("alice"), "in");
    for (const name of ["../evil", "..", "alice/../../evil", "a\\b"]) {
      assert.equal(await as(name), "ERR_PERMISSION_DENIED", name);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
