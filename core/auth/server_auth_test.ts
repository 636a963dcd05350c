/**
 * ServerAuth on its own, fed USERAUTH_REQUEST payloads on a virtual clock: which
 * refusals count toward maxAuthTries and wait out the failure delay.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Msg } from "../transport/messages.ts";
import { SSHWriter } from "../wire.ts";
import type { DisconnectError } from "../errors.ts";
import { ServerAuth, type ServerAuthEvent, type ServerAuthOptions } from "./server_auth.ts";

/** A ServerAuth whose application refuses everything, with what it sent and when it gave up. */
function refusing(options: Partial<ServerAuthOptions> = {}) {
  const sent: number[] = [];
  const asked: ServerAuthEvent[] = [];
  let failed: DisconnectError | undefined;
  let now = 0;
  let answered = 0;
  const auth: ServerAuth = new ServerAuth(
    { methods: ["publickey", "password"], maxAuthTries: 3, failureDelayMs: 1000, ...options },
    {
      send: (p) => sent.push(p[0]!),
      emit: (e) => asked.push(e),
      sessionId: () => new Uint8Array(32),
      verifySignature: () => ({ valid: true }),
      now: () => now,
      onSuccess: () => {},
      fail: (e) => (failed = e),
    },
  );
  auth.handleMessage(
    Msg.SERVICE_REQUEST,
    new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-userauth").toBytes(),
  );
  return {
    auth,
    sent,
    asked,
    failed: () => failed,
    /** Sends one request and refuses what the application is asked. */
    request(method: string, body: (w: SSHWriter) => SSHWriter = (w) => w): void {
      const w = new SSHWriter().writeByte(Msg.USERAUTH_REQUEST).writeStringUtf8("alice")
        .writeStringUtf8("ssh-connection").writeStringUtf8(method);
      auth.handleMessage(Msg.USERAUTH_REQUEST, body(w).toBytes());
      this.refuseAll();
    },
    /** Refuses every question not answered yet (answers may raise more). */
    refuseAll(): void {
      for (; answered < asked.length; answered++) {
        const e = asked[answered]!;
        if ("id" in e) auth.answerAuth(e.id, { result: "failure" });
      }
    },
    /** Moves the clock to the next delayed reply and lets the queue run. */
    wait(): void {
      const at = auth.nextDeadline();
      if (at !== undefined) now = at;
      auth.handleTimeout(now);
      this.refuseAll();
    },
  };
}

const query = (n: number) => (w: SSHWriter) =>
  w.writeBoolean(false).writeStringUtf8("ssh-ed25519")
    .writeString(
      new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(new Uint8Array(32).fill(n))
        .toBytes(),
    );

test("ServerAuth counts refused publickey queries toward maxAuthTries, answering them at once", () => {
  const s = refusing();
  let tried = 0;
  // (The engine stops reading once it fails the connection; this harness stops here.)
  while (!s.failed() && tried < 6) s.request("publickey", query(++tried));
  // Each refused key is an attempt (as sshd): the third ends the connection. A client
  // offering its keys one by one is not made to wait for the answers.
  assert.equal(s.failed()?.detail, "too-many-auth-failures");
  assert.equal(tried, 3);
  assert.deepEqual(s.sent, [Msg.SERVICE_ACCEPT, Msg.USERAUTH_FAILURE, Msg.USERAUTH_FAILURE]);
  assert.equal(s.auth.nextDeadline(), undefined);
});

test("ServerAuth delays failed credentials only, growing with them and not with queries", () => {
  const s = refusing({ maxAuthTries: 6 });
  s.request("publickey", query(1));
  s.request("publickey", query(2));
  assert.equal(s.auth.nextDeadline(), undefined, "refused queries: no delay");
  const password = (w: SSHWriter) => w.writeBoolean(false).writeStringUtf8("wrong");
  s.request("password", password);
  assert.equal(s.auth.nextDeadline(), 1000, "the first failed password waits one delay");
  s.wait();
  s.request("password", password);
  assert.equal(s.auth.nextDeadline(), 3000, "the second waits two (from t=1000)");
  s.wait();
  assert.equal(s.failed(), undefined);
  assert.equal(s.sent.filter((t) => t === Msg.USERAUTH_FAILURE).length, 4);
});

test('ServerAuth lets only the opening "none" go free; other methods not offered count', () => {
  const s = refusing({ failureDelayMs: 0 });
  s.request("none");
  s.request("none");
  s.request("gssapi-with-mic");
  assert.equal(s.failed(), undefined);
  s.request("hostbased");
  assert.equal(s.failed()?.detail, "too-many-auth-failures");
  assert.equal(s.sent.filter((t) => t === Msg.USERAUTH_FAILURE).length, 3);
});

test("ServerAuth refuses a password change it did not ask for, without asking the application", () => {
  const s = refusing({ failureDelayMs: 0 });
  const change = (w: SSHWriter) =>
    w.writeBoolean(true).writeStringUtf8("guess").writeStringUtf8("a-long-new-password");
  s.request("password", change);
  assert.deepEqual(s.asked, []);
  assert.equal(s.sent.at(-1), Msg.USERAUTH_FAILURE);
  // It counts as a failed password.
  s.request("password", change);
  s.request("password", change);
  assert.equal(s.failed()?.detail, "too-many-auth-failures");
  assert.deepEqual(s.asked, []);
});

test("ServerAuth passes on a password change once it asked for one on this connection", () => {
  const asked: ServerAuthEvent[] = [];
  const sent: number[] = [];
  const auth = new ServerAuth({ methods: ["password"], failureDelayMs: 0 }, {
    send: (p) => sent.push(p[0]!),
    emit: (e) => asked.push(e),
    sessionId: () => new Uint8Array(32),
    verifySignature: () => ({ valid: true }),
    now: () => 0,
    onSuccess: () => {},
    fail: (e) => assert.fail(e),
  });
  auth.handleMessage(
    Msg.SERVICE_REQUEST,
    new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-userauth").toBytes(),
  );
  const password = (body: (w: SSHWriter) => SSHWriter) =>
    auth.handleMessage(
      Msg.USERAUTH_REQUEST,
      body(
        new SSHWriter().writeByte(Msg.USERAUTH_REQUEST).writeStringUtf8("alice")
          .writeStringUtf8("ssh-connection").writeStringUtf8("password"),
      ).toBytes(),
    );
  password((w) => w.writeBoolean(false).writeStringUtf8("old"));
  const first = asked[0] as Extract<ServerAuthEvent, { type: "authPassword" }>;
  auth.answerAuth(first.id, { result: "changePassword", prompt: "Expired:" });
  assert.equal(sent.at(-1), Msg.USERAUTH_60);
  password((w) => w.writeBoolean(true).writeStringUtf8("old").writeStringUtf8("new-one"));
  assert.deepEqual(
    asked.map((e) => e.type === "authPassword" ? e.newPassword : e.type),
    [undefined, "new-one"],
  );
});

test("ServerAuth asks nothing more once maxAuthTries failed the connection, queued requests included", () => {
  const asked: ServerAuthEvent[] = [];
  let failed: DisconnectError | undefined;
  const auth = new ServerAuth({ methods: ["password"], maxAuthTries: 2, failureDelayMs: 0 }, {
    send: () => {},
    emit: (e) => asked.push(e),
    sessionId: () => new Uint8Array(32),
    verifySignature: () => ({ valid: true }),
    now: () => 0,
    onSuccess: () => {},
    fail: (e) => (failed = e),
  });
  auth.handleMessage(
    Msg.SERVICE_REQUEST,
    new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-userauth").toBytes(),
  );
  const request = (method: string, body: (w: SSHWriter) => SSHWriter = (w) => w) =>
    auth.handleMessage(
      Msg.USERAUTH_REQUEST,
      body(
        new SSHWriter().writeByte(Msg.USERAUTH_REQUEST).writeStringUtf8("root")
          .writeStringUtf8("ssh-connection").writeStringUtf8(method),
      ).toBytes(),
    );
  const guess = (pw: string) => (w: SSHWriter) => w.writeBoolean(false).writeStringUtf8(pw);
  request("password", guess("guess-1")); // asked; its answer is pending
  request("hostbased"); // queued: a method not offered, the second failure
  request("password", guess("guess-2")); // queued behind it
  request("password", guess("guess-3"));
  assert.equal(asked.length, 1);
  auth.answerAuth((asked[0] as { id: number }).id, { result: "failure" });
  assert.equal(failed?.detail, "too-many-auth-failures");
  // The disconnect is on its way: what was queued, or arrives with it, is dropped.
  request("password", guess("guess-4"));
  assert.deepEqual(asked.map((e) => e.type === "authPassword" && e.password), ["guess-1"]);
});

/** A ServerAuth offering hostbased, recording what it asked and which bytes it had checked. */
function hostbasedServer() {
  const sent: number[] = [];
  const asked: ServerAuthEvent[] = [];
  const checked: { algorithm: string; data: Uint8Array }[] = [];
  const sessionId = new Uint8Array(32).fill(7);
  const auth = new ServerAuth({ methods: ["hostbased"], failureDelayMs: 0 }, {
    send: (p) => sent.push(p[0]!),
    emit: (e) => asked.push(e),
    sessionId: () => sessionId,
    verifySignature: (
      algorithm,
      _blob,
      _sig,
      data,
    ) => (checked.push({ algorithm, data }), { valid: true }),
    now: () => 0,
    onSuccess: () => {},
    fail: (e) => assert.fail(e),
  });
  auth.handleMessage(
    Msg.SERVICE_REQUEST,
    new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-userauth").toBytes(),
  );
  const blob = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(new Uint8Array(32))
    .toBytes();
  /** The request up to its signature (what RFC 4252 §9 signs after the session id). */
  const unsigned = (host: string, user: string) =>
    new SSHWriter().writeByte(Msg.USERAUTH_REQUEST).writeStringUtf8("alice")
      .writeStringUtf8("ssh-connection").writeStringUtf8("hostbased").writeStringUtf8("ssh-ed25519")
      .writeString(blob).writeStringUtf8(host).writeStringUtf8(user).toBytes();
  const send = (host: string, user: string, signature: Uint8Array | null = new Uint8Array(8)) => {
    const w = new SSHWriter().writeBytes(unsigned(host, user));
    if (signature) w.writeString(signature);
    auth.handleMessage(Msg.USERAUTH_REQUEST, w.toBytes());
  };
  return { sent, asked, checked, sessionId, unsigned, send };
}

test("ServerAuth checks a hostbased signature over exactly RFC 4252's fields", () => {
  const s = hostbasedServer();
  s.send("client.example.", "bob");
  assert.equal(s.checked.length, 1);
  assert.equal(s.checked[0]!.algorithm, "ssh-ed25519");
  assert.deepEqual(
    s.checked[0]!.data,
    new SSHWriter().writeString(s.sessionId).writeBytes(s.unsigned("client.example.", "bob"))
      .toBytes(),
  );
  const e = s.asked[0] as Extract<ServerAuthEvent, { type: "authHostbased" }>;
  assert.equal(e.type, "authHostbased");
  assert.equal(e.clientHostname, "client.example.");
  assert.equal(e.clientUsername, "bob");
});

test("ServerAuth refuses a hostbased request naming a client host or user with a control character", () => {
  for (
    const [host, user] of [["client.example.\n", "bob"], ["client\0.example.", "bob"], [
      "client.example.",
      "bob\r\nroot",
    ], ["client.example.", "\x1b[2Jbob"]]
  ) {
    const s = hostbasedServer();
    s.send(host!, user!);
    assert.deepEqual(s.asked, [], JSON.stringify([host, user]));
    assert.equal(s.sent.at(-1), Msg.USERAUTH_FAILURE);
  }
});

test("ServerAuth takes no unsigned hostbased request (the method has no query form)", () => {
  const s = hostbasedServer();
  // A malformed message: the transport disconnects, as sshd does ("parse packet").
  assert.throws(
    () => s.send("client.example.", "bob", null),
    (e: Error & { code?: string }) => e.code === "ERR_WIRE_TRUNCATED",
  );
  assert.deepEqual(s.asked, []);
});

test("a second SERVICE_REQUEST for ssh-userauth before authentication is accepted again (paramiko asks before each method)", () => {
  const r = refusing({ failureDelayMs: 0 });
  r.request("password", (w) => w.writeBoolean(false).writeStringUtf8("wrong"));
  const request = new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-userauth")
    .toBytes();
  assert.equal(r.auth.handleMessage(Msg.SERVICE_REQUEST, request), true);
  assert.equal(r.failed(), undefined);
  assert.equal(r.sent.at(-1), Msg.SERVICE_ACCEPT);
  // Authentication goes on where it was.
  r.request("password", (w) => w.writeBoolean(false).writeStringUtf8("again"));
  assert.equal(r.sent.at(-1), Msg.USERAUTH_FAILURE);
  // Another service is refused as before.
  assert.throws(
    () =>
      r.auth.handleMessage(
        Msg.SERVICE_REQUEST,
        new SSHWriter().writeByte(Msg.SERVICE_REQUEST).writeStringUtf8("ssh-connection").toBytes(),
      ),
    /not available/,
  );
});
