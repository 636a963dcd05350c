/**
 * connect() against scripted hostile servers during user authentication: no trivial login
 * slips past `disableTrivialAuth`, no password goes out for a change nobody asked for, no
 * endless loop of credentials, no SHA-1 downgrade, no crash on a callback's wrong answer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHError } from "../../core/errors.ts";
import { escapeControls } from "../../core/peer_text.ts";
import { SSHWriter } from "../../core/wire.ts";
import { seededRandom } from "../../core/random.ts";
import { Msg } from "../../core/transport/messages.ts";
import { MAX_KBDINT_ROUNDS, MAX_PASSWORD_CHANGES } from "../../core/limits.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import type { ClientKeyPair } from "../keys/types.ts";
import type { ClientConnection } from "../../core/client/client_connection.ts";
import { ClientAuth } from "./auth.ts";
import { connect } from "./connect.ts";
import {
  authFailure,
  authSuccess,
  changeRequest,
  hostileAuthServer,
  hostileConnectOptions,
  infoRequest,
  parseAuthRequest,
  serviceAccept,
} from "./_hostile_auth_test_util.ts";
import type { ConnectOptions, ResolvedConnectOptions } from "./options.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** connect() must reject with an SSHError of `code`; resolves with it. */
async function rejection(p: Promise<{ close(): Promise<void> }>): Promise<SSHError> {
  const r = await p.then(async (c) => {
    await c.close();
    return undefined;
  }, (e: unknown) => e);
  assert.ok(r instanceof SSHError, `connect() should have failed, got ${String(r)}`);
  return r;
}

/**
 * A key whose signer takes `ms` (an agent asking for confirmation, a hardware key) and
 * calls `onSign` each time.
 */
function slowKey(ms: number, onSign = () => {}): ClientKeyPair {
  const k = clientKeyFromSSHKey(generatePrivateKey("ed25519"));
  return {
    keyType: k.keyType,
    publicKeyBlob: k.publicKeyBlob,
    sign: async (data, algorithm) => (onSign(), await sleep(ms), k.sign(data, algorithm)),
  };
}

test("disableTrivialAuth refuses a SUCCESS that comes while the password is still being asked", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (parseAuthRequest(p).method !== "none") return;
    ctx.setAuthed();
    ctx.send(authFailure(["password"]), authSuccess());
  });
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, {
      disableTrivialAuth: true,
      password: async () => (await sleep(100), "pw"),
    }),
  ));
  assert.equal(e.code, "ERR_PERMISSION_DENIED");
  assert.match(e.message, /trivial authentication \(none\)/);
  assert.deepEqual(s.requests.map((r) => r.method), ["none"]);
});

test("a SUCCESS before any USERAUTH_REQUEST (the key still signing) is a protocol error", async () => {
  await using s = await hostileAuthServer((ctx, type) => {
    if (type !== Msg.SERVICE_REQUEST) return;
    ctx.setAuthed();
    ctx.send(serviceAccept(), authSuccess());
  });
  for (const disableTrivialAuth of [true, false]) {
    const e = await rejection(connect(
      "127.0.0.1",
      hostileConnectOptions(s, { disableTrivialAuth, clientKeys: [slowKey(200)] }),
    ));
    assert.equal(e.code, "ERR_PROTOCOL");
  }
  assert.deepEqual(s.requests, []);
});

test("disableTrivialAuth accepts keyboard-interactive once an answer went out", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (type === Msg.USERAUTH_INFO_RESPONSE) return ctx.setAuthed(), ctx.send(authSuccess());
    const { method } = parseAuthRequest(p);
    if (method === "keyboard-interactive") return ctx.send(infoRequest("Code: "));
    ctx.send(authFailure(["keyboard-interactive"]));
  });
  const conn = await connect(
    "127.0.0.1",
    hostileConnectOptions(s, { disableTrivialAuth: true, kbdintResponses: () => ["42"] }),
  );
  assert.ok(conn.engine.authenticated);
  await conn.close();
});

test("an unsolicited PASSWD_CHANGEREQ is a protocol error: no password goes out", async () => {
  let changes = 0;
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (parseAuthRequest(p).method === "none") {
      // The change request arrives while the client is still asking for the password.
      return ctx.send(authFailure(["password"]), changeRequest("Expired, again:"));
    }
    ctx.send(authFailure(["password"]));
  });
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, {
      password: async () => (await sleep(50), "hunter2"),
      passwordChange: () => (changes++, { oldPassword: "hunter2", newPassword: "n3w" }),
    }),
  ));
  assert.equal(e.code, "ERR_PROTOCOL");
  assert.equal(changes, 0);
  assert.ok(s.requests.every((r) => r.newPassword === undefined), JSON.stringify(s.requests));
});

test("a server that asks for a new password again and again is given up on", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (parseAuthRequest(p).method === "password") return ctx.send(changeRequest("Again:"));
    ctx.send(authFailure(["password"]));
  });
  let changes = 0;
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, {
      password: "old",
      passwordChange: () => (changes++, { oldPassword: "old", newPassword: "new" }),
    }),
  ));
  assert.equal(e.code, "ERR_PERMISSION_DENIED");
  assert.equal(changes, MAX_PASSWORD_CHANGES);
  assert.match(e.message, /new password more than/);
});

test("endless partial successes: each password attempt and each key once, then denied", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    const { method } = parseAuthRequest(p);
    ctx.send(authFailure(method === "none" ? ["publickey", "password"] : [method], true));
  });
  const attempts: number[] = [];
  let signs = 0;
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, {
      clientKeys: [slowKey(0, () => signs++)],
      password: (attempt) => (attempts.push(attempt), "secret"),
      preferredAuth: ["password", "publickey"],
    }),
  ));
  assert.equal(e.code, "ERR_PERMISSION_DENIED");
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(signs, 0, "publickey was not listed after the password's partial successes");
  assert.equal(s.requests.filter((r) => r.method === "password").length, 3);
});

test("endless partial successes to a key: it signs once", async () => {
  await using s = await hostileAuthServer((ctx, type) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    ctx.send(authFailure(["publickey"], true));
  });
  let signs = 0;
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, { clientKeys: [slowKey(0, () => signs++)] }),
  ));
  assert.equal(e.code, "ERR_PERMISSION_DENIED");
  assert.equal(signs, 1);
});

test("endless keyboard-interactive rounds end after MAX_KBDINT_ROUNDS, attempts counted", async () => {
  let responses = 0;
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (type === Msg.USERAUTH_INFO_RESPONSE) {
      return responses++, ctx.send(infoRequest("Password: "));
    }
    if (parseAuthRequest(p).method === "keyboard-interactive") {
      return ctx.send(infoRequest("Password: "));
    }
    ctx.send(authFailure(["keyboard-interactive"]));
  });
  const attempts: number[] = [];
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, { password: (n) => (attempts.push(n), "secret") }),
  ));
  assert.equal(e.code, "ERR_PERMISSION_DENIED");
  assert.match(e.message, /keyboard-interactive rounds/);
  assert.equal(responses, MAX_KBDINT_ROUNDS);
  assert.deepEqual(attempts, Array.from({ length: MAX_KBDINT_ROUNDS }, (_, i) => i + 1));
});

test("INFO_REQUESTs sent without waiting for the answer: the prompt callback runs once, then ERR_PROTOCOL", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (parseAuthRequest(p).method === "keyboard-interactive") {
      return ctx.send(...Array.from({ length: 20 }, (_, i) => infoRequest(`Code ${i}: `)));
    }
    ctx.send(authFailure(["keyboard-interactive"]));
  });
  const asked: string[] = [];
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, {
      kbdintResponses: (_name, _instruction, prompts) => {
        asked.push(prompts[0]!.prompt);
        return prompts.map(() => "123456");
      },
    }),
  ));
  assert.equal(e.code, "ERR_PROTOCOL");
  assert.deepEqual(asked, ["Code 0: "]);
});

test("a Latin-1 banner reaches onBanner with its byte kept; login goes on", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (parseAuthRequest(p).method === "none") {
      return ctx.send(
        new SSHWriter().writeByte(Msg.USERAUTH_BANNER).writeString(Uint8Array.of(0x42, 0xe9, 0x6e))
          .writeString(Uint8Array.of(0xe9)).toBytes(),
        authFailure(["password"]),
      );
    }
    ctx.setAuthed();
    ctx.send(authSuccess());
  });
  const banners: string[] = [];
  const c = await connect(
    "127.0.0.1",
    hostileConnectOptions(s, { password: "pw", onBanner: (m) => void banners.push(m) }),
  );
  await c.close();
  assert.deepEqual(banners.map(escapeControls), ["B\\xe9n"]);
});

test("server-sig-algs of only ssh-rsa gets no SHA-1 signature unless clientSignatureAlgs names it", async () => {
  const rsa = clientKeyFromSSHKey(
    generatePrivateKey("rsa", { keySize: 2048, random: seededRandom(3) }),
  );
  await using s = await hostileAuthServer((ctx, type) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    ctx.send(authFailure(["publickey"]));
  }, { serverSigAlgs: ["ssh-rsa"] });
  const publickeys = () => s.requests.filter((r) => r.method.startsWith("publickey"));
  const login = (options: ConnectOptions) =>
    rejection(connect("127.0.0.1", hostileConnectOptions(s, { clientKeys: [rsa], ...options })));
  assert.equal((await login({})).code, "ERR_PERMISSION_DENIED");
  assert.deepEqual(publickeys(), []);
  await login({ clientSignatureAlgs: ["rsa-sha2-512", "ssh-rsa"] });
  assert.deepEqual(publickeys().map((r) => r.algorithm), ["ssh-rsa"]);
});

test("a kbdintResponses callback with the wrong number of answers fails connect() with ERR_LOCAL_PROTOCOL", async () => {
  await using s = await hostileAuthServer((ctx, type, p) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    if (type === Msg.USERAUTH_INFO_RESPONSE) return ctx.send(authFailure(["keyboard-interactive"]));
    if (parseAuthRequest(p).method === "keyboard-interactive") {
      return ctx.send(infoRequest("Verification code: ", "Second factor: "));
    }
    ctx.send(authFailure(["keyboard-interactive"]));
  });
  const t0 = Date.now();
  const e = await rejection(connect(
    "127.0.0.1",
    hostileConnectOptions(s, { kbdintResponses: () => ["123456"], connectTimeout: 5000 }),
  ));
  assert.equal(e.code, "ERR_LOCAL_PROTOCOL");
  assert.match(e.message, /1 answer\(s\) for 2 prompt\(s\)/);
  assert.ok(Date.now() - t0 < 4000, "failed at once, not at the connect timeout");
});

/** An io ClientAuth over a stub engine: `engine` holds the answer methods a test needs. */
function stubAuth(engine: Record<string, unknown>, options: object, untrusted = false) {
  const calls: string[] = [];
  const auth = new ClientAuth({
    host: "h",
    port: 22,
    engine: {
      closed: false,
      authenticated: false,
      disconnect: () => void calls.push("disconnect"),
      ...engine,
    } as unknown as ClientConnection,
    options: options as ResolvedConnectOptions,
    pump: () => {},
    engineUsername: "u",
    hostKeyUntrusted: () => untrusted,
  });
  return { auth, calls };
}

test("no password change is answered on a connection marked untrusted", async () => {
  const given: unknown[] = [];
  let asked = 0;
  const { auth } = stubAuth(
    { providePasswordChange: (_id: number, c: unknown) => void given.push(c) },
    { passwordChange: () => (asked++, { oldPassword: "old", newPassword: "new" }) },
    true,
  );
  auth.handleEvent({ type: "authPasswordChangeRequest", id: 1, prompt: "Expired:", language: "" });
  await sleep(10);
  assert.equal(asked, 0);
  assert.deepEqual(given, [null]);
});

test("an answer the engine refuses fails the connection with a typed error, no unhandled rejection", async () => {
  const { auth, calls } = stubAuth({
    provideSignature: () => {
      throw new Error("engine refused");
    },
  }, { clientKeys: [slowKey(0)] });
  const done = auth.whenAuthenticated().then(() => undefined, (e: unknown) => e);
  auth.handleEvent({
    type: "authSignRequest",
    id: 1,
    method: "publickey",
    keyIndex: 0,
    algorithm: "ssh-ed25519",
    data: new Uint8Array(8),
  });
  const e = await Promise.race([done, sleep(2000).then(() => "timeout")]);
  assert.ok(e instanceof SSHError && e.code === "ERR_LOCAL_PROTOCOL", String(e));
  assert.match(e.message, /engine refused/);
  assert.deepEqual(calls, ["disconnect"]);
});
