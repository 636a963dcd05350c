/**
 * Authentication parity with AsyncSSH (#20), client against our own server on
 * loopback: password-change outcome callbacks (`onPasswordChanged`,
 * `onPasswordChangeFailed`), the server's dynamic auth banner
 * (`sendAuthBanner` from `beginAuth`), and keyboard-interactive submethods
 * reaching the server hook.
 *
 * OpenSSH's sshd cannot stand in as the server for the password-change tests:
 * it asks for a password change only through PAM (an expired account under
 * `UsePAM yes`, then a keyboard-interactive PAM conversation, not
 * SSH_MSG_USERAUTH_PASSWD_CHANGEREQ: sshd never sends that message).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { DisconnectError } from "../../core/errors.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import type { ClientKeyPair } from "../keys/types.ts";
import { connect } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";

const hostKey = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions>): Promise<SSHServer> {
  return listen({ port: 0, hostKeys: [hostKey], authFailureDelay: 0, ...options });
}

function login(s: SSHServer, options: ConnectOptions = {}) {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    connectTimeout: 10_000,
    ...options,
  });
}

/** A server whose password "old" has expired; `accept` judges the new one. */
function expiring(accept: (pw: string) => boolean | { changePassword: string }) {
  const changes: string[] = [];
  return {
    changes,
    options: {
      validatePassword: (_u: string, pw: string) =>
        pw === "old" ? { changePassword: "Password expired, choose a new one:" } : false,
      changePassword: (_u: string, oldPw: string, newPw: string) => {
        changes.push(`${oldPw}->${newPw}`);
        return oldPw === "old" ? accept(newPw) : false;
      },
    } satisfies Partial<ListenOptions>,
  };
}

test("connect() calls onPasswordChanged when the server accepts the new password", async () => {
  const srv = expiring((pw) => pw === "fresh-1");
  await using s = await server(srv.options);
  const events: string[] = [];
  await using _conn = await login(s, {
    password: "old",
    passwordChange: (prompt) => {
      events.push(`prompt:${prompt}`);
      return { oldPassword: "old", newPassword: "fresh-1" };
    },
    onPasswordChanged: () => events.push("changed"),
    onPasswordChangeFailed: (r) => events.push(`failed:${r.reason}`),
  });
  assert.deepEqual(events, ["prompt:Password expired, choose a new one:", "changed"]);
  assert.deepEqual(srv.changes, ["old->fresh-1"]);
});

test("connect() calls onPasswordChangeFailed('refused') and rejects when the change is refused", async () => {
  const srv = expiring(() => false);
  await using s = await server(srv.options);
  const events: string[] = [];
  await assert.rejects(
    login(s, {
      password: "old",
      passwordChange: () => ({ oldPassword: "old", newPassword: "weak" }),
      onPasswordChanged: () => events.push("changed"),
      onPasswordChangeFailed: (r) => events.push(`failed:${r.reason}:${r.prompt}`),
    }),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
  assert.deepEqual(events, ["failed:refused:"]);
});

test("connect() reports a 'retry' when the server asks for another new password", async () => {
  const srv = expiring((pw) => pw.length >= 8 ? true : { changePassword: "Too short, again:" });
  await using s = await server(srv.options);
  const events: string[] = [];
  const offers = ["short", "long-enough"];
  await using _conn = await login(s, {
    password: "old",
    passwordChange: (prompt) => {
      events.push(`prompt:${prompt}`);
      return { oldPassword: "old", newPassword: offers.shift()! };
    },
    onPasswordChanged: () => events.push("changed"),
    onPasswordChangeFailed: (r) => events.push(`failed:${r.reason}:${r.prompt}`),
  });
  assert.deepEqual(events, [
    "prompt:Password expired, choose a new one:",
    "failed:retry:Too short, again:",
    "prompt:Too short, again:",
    "changed",
  ]);
  assert.deepEqual(srv.changes, ["old->short", "old->long-enough"]);
});

test("no password-change callback fires for a plain password login", async () => {
  await using s = await server({ validatePassword: (_u, pw) => pw === "right" });
  const events: string[] = [];
  await using _conn = await login(s, {
    password: "right",
    onPasswordChanged: () => events.push("changed"),
    onPasswordChangeFailed: () => events.push("failed"),
  });
  assert.deepEqual(events, []);
});

test("sendAuthBanner() from beginAuth reaches the client's onBanner, after the static banner", async () => {
  const seen: string[] = [];
  await using s = await server({
    banner: "Static banner\n",
    beginAuth: (user, conn) => {
      conn.sendAuthBanner(`Hello ${user} from ${conn.remoteAddress}\n`);
      return true;
    },
    validatePassword: (_u, pw) => pw === "pw",
  });
  await using _conn = await login(s, { password: "pw", onBanner: (m) => seen.push(m) });
  assert.deepEqual(seen, ["Static banner\n", "Hello alice from 127.0.0.1\n"]);
});

test("sendAuthBanner() after authentication throws ERR_LOCAL_PROTOCOL", async () => {
  let thrown: unknown;
  await using s = await server({
    validatePassword: (_u, pw) => pw === "pw",
    authCompleted: (conn) => {
      try {
        conn.sendAuthBanner("too late");
      } catch (e) {
        thrown = e;
      }
    },
  });
  const seen: string[] = [];
  await using conn = await login(s, { password: "pw", onBanner: (m) => seen.push(m) });
  await conn.run("true").catch(() => {}); // one round trip: the banner would have arrived by now
  assert.equal((thrown as { code?: string } | undefined)?.code, "ERR_LOCAL_PROTOCOL");
  assert.deepEqual(seen, []);
});

test("keyboard-interactive submethods reach the server's getKbdintChallenge", async () => {
  const asked: string[] = [];
  await using s = await server({
    getKbdintChallenge: (_u, submethods) => {
      asked.push(submethods);
      return { prompts: [{ prompt: "Code: ", echo: true }] };
    },
    validateKbdintResponse: (_u, r) => r[0] === "42",
  });
  await using _conn = await login(s, {
    kbdintSubmethods: ["pam", "skey"],
    kbdintResponses: () => ["42"],
    preferredAuth: ["keyboard-interactive"],
  });
  assert.deepEqual(asked, ["pam,skey"]);
});

test("a password-only client fails a keyboard-interactive round it cannot answer, then logs in by password", async () => {
  const asked: (readonly string[])[] = [];
  await using s = await server({
    getKbdintChallenge: () => ({ prompts: [{ prompt: "Verification code: ", echo: false }] }),
    validateKbdintResponse: (_u, responses) => (asked.push(responses), false),
    validatePassword: (_u, pw) => pw === "pw",
  });
  await using conn = await login(s, { password: "pw" });
  assert.equal(s.getConnections()[0]?.authMethod, "password");
  // One (empty) answer per prompt, as RFC 4256 wants: a strict server would disconnect otherwise.
  assert.ok(asked.every((r) => r.length === 1), JSON.stringify(asked));
  void conn;
});

test("connect() sends a fixed password to keyboard-interactive once, not again after a refusal", async () => {
  const answers: string[] = [];
  const passwords: string[] = [];
  await using s = await server({
    getKbdintChallenge: () => ({ prompts: [{ prompt: "Password: ", echo: false }] }),
    validateKbdintResponse: (_u, r) => (answers.push(...r), false),
    validatePassword: (_u, pw) => (passwords.push(pw), false),
  });
  await assert.rejects(login(s, { password: "wrong" }), { code: "ERR_PERMISSION_DENIED" });
  // As a string to the password method: once each, not once per keyboard-interactive attempt.
  assert.deepEqual(answers, ["wrong"]);
  assert.deepEqual(passwords, ["wrong"]);
});

test("connect() logs in when onBanner throws (a callback's error must not break authentication)", async () => {
  const seen: string[] = [];
  await using s = await server({ banner: "Hello\n", validatePassword: (_u, pw) => pw === "pw" });
  await using _conn = await login(s, {
    password: "pw",
    onBanner: (m) => {
      seen.push(m);
      throw new Error("bug in the banner callback");
    },
  });
  assert.deepEqual(seen, ["Hello\n"]);
  assert.equal(s.getConnections().length, 1);
});

for (const thrown of [undefined, null, "nope"]) {
  test(`connect() rejects with ERR_HOST_KEY_NOT_VERIFIABLE when hostKeyVerifier throws ${String(thrown)}`, async () => {
    await using s = await server({ validatePassword: () => true });
    await assert.rejects(
      login(s, {
        password: "pw",
        hostKeyVerifier: () => Promise.reject(thrown),
      }),
      (e: Error & { code?: string }) =>
        e.code === "ERR_HOST_KEY_NOT_VERIFIABLE" && e.message.includes(String(thrown)),
    );
  });
}

test("a key that cannot sign is passed over, and the final 'permission denied' says why", async () => {
  const good = generatePrivateKey("ed25519");
  const k = clientKeyFromSSHKey(good);
  const offline: ClientKeyPair = {
    keyType: k.keyType,
    publicKeyBlob: k.publicKeyBlob,
    sign: () => Promise.reject(new Error("HSM offline")),
  };
  await using s = await server({ authorizedClientKeys: [good.publicKey()] });
  const warnings: string[] = [];
  const e = await login(s, {
    clientKeys: [offline],
    logger: { warn: (message) => void warnings.push(message) },
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(e instanceof DisconnectError && e.code === "ERR_PERMISSION_DENIED", String(e));
  assert.match(e.message, /signing with the key ssh-ed25519 failed: HSM offline/);
  assert.ok(warnings.some((w) => /HSM offline/.test(w)), warnings.join("\n"));
  // The same key able to sign gets in (the server does accept it).
  await using _c = await login(s, { clientKeys: [good] });
});

test("hostBased alone, refused: the error does not claim no credentials were given", async () => {
  await using s = await server({ validatePassword: () => false });
  const e = await login(s, {
    hostBased: { hostKey: generatePrivateKey("ed25519"), localHostname: "h", localUsername: "u" },
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(e instanceof DisconnectError && e.code === "ERR_PERMISSION_DENIED", String(e));
  assert.doesNotMatch(e.message, /No credentials were given/);
});
