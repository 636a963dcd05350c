/**
 * The client's first USERAUTH_REQUEST: a key signed at once skips the "none" probe, and once
 * the server's EXT_INFO is in, goes out right after SERVICE_REQUEST (pipeline()), without
 * waiting for SERVICE_ACCEPT. Message order only, no timing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { ClientAuth, type ClientAuthEvent, type ClientAuthOptions } from "./client_auth.ts";

const KEY_BLOB = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(new Uint8Array(32))
  .toBytes();

function setup(options: Partial<ClientAuthOptions> = {}) {
  const sent: Uint8Array[] = [];
  const events: ClientAuthEvent[] = [];
  const auth = new ClientAuth(
    {
      username: "u",
      publicKeys: [{ keyType: "ssh-ed25519", publicKeyBlob: KEY_BLOB }],
      password: true,
      ...options,
    },
    {
      send: (p) => void sent.push(p),
      nudgeAck: () => void sent.push(Uint8Array.of(Msg.IGNORE, 0, 0, 0, 0)),
      emit: (e) => void events.push(e),
      sessionId: () => new Uint8Array(32),
      serverSigAlgs: () => undefined,
      onSuccess: () => {},
      onFailure: () => {},
    },
  );
  const sign = () => {
    const e = events.find((x) => x.type === "authSignRequest");
    assert.ok(e?.type === "authSignRequest");
    auth.provideSignature(e.id, Uint8Array.of(7));
  };
  return { auth, sent, events, sign };
}

/** The message type and, for USERAUTH_REQUEST, the method. */
function describe(p: Uint8Array): string {
  if (p[0] === Msg.SERVICE_REQUEST) return "SERVICE_REQUEST";
  if (p[0] === Msg.IGNORE) return "IGNORE";
  if (p[0] !== Msg.USERAUTH_REQUEST) return String(p[0]);
  const r = new SSHReader(p, 1);
  r.readStringUtf8();
  r.readStringUtf8();
  return `USERAUTH_REQUEST ${r.readStringUtf8()}`;
}

const accept = new SSHWriter().writeByte(Msg.SERVICE_ACCEPT).writeStringUtf8("ssh-userauth")
  .toBytes();
const success = Uint8Array.of(Msg.USERAUTH_SUCCESS);
const failure = (methods: string[]) =>
  new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(methods).writeBoolean(false)
    .toBytes();

test("ClientAuth.pipeline: the signed publickey request follows SERVICE_REQUEST at once", () => {
  const { auth, sent, events, sign } = setup();
  auth.start();
  auth.pipeline();
  sign();
  assert.deepEqual(sent.map(describe), ["SERVICE_REQUEST", "USERAUTH_REQUEST publickey"]);
  assert.equal(auth.handleMessage(Msg.SERVICE_ACCEPT, accept), true);
  // Nothing answers SERVICE_ACCEPT: an IGNORE carries the TCP ACK that OpenSSH's sshd (Nagle
  // on before authentication) waits for before it sends its answer to the request.
  assert.deepEqual(sent.map(describe).slice(2), ["IGNORE"]);
  auth.handleMessage(Msg.USERAUTH_SUCCESS, success);
  assert.ok(auth.done);
  assert.ok(events.some((e) => e.type === "authSuccess" && e.method === "publickey"));
});

test("ClientAuth without pipeline: no none probe, the key right after SERVICE_ACCEPT", () => {
  const { auth, sent, sign } = setup();
  auth.start();
  auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
  sign();
  assert.deepEqual(sent.map(describe), ["SERVICE_REQUEST", "USERAUTH_REQUEST publickey"]);
});

test("ClientAuth.pipeline: a refused key goes on with the methods its failure lists", () => {
  const { auth, sent, events, sign } = setup();
  auth.start();
  auth.pipeline();
  sign();
  auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  const pw = events.find((e) => e.type === "authPasswordRequest");
  assert.ok(pw?.type === "authPasswordRequest");
  auth.providePassword(pw.id, "secret");
  assert.deepEqual(sent.map(describe), [
    "SERVICE_REQUEST",
    "USERAUTH_REQUEST publickey",
    "IGNORE",
    "USERAUTH_REQUEST password",
  ]);
  assert.deepEqual(auth.allowedMethods, ["password"]);
});

test("ClientAuth.pipeline: no IGNORE when SERVICE_ACCEPT comes before the signature", () => {
  const { auth, sent, sign } = setup();
  auth.start();
  auth.pipeline();
  auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
  sign(); // the request itself now carries the ACK
  assert.deepEqual(sent.map(describe), ["SERVICE_REQUEST", "USERAUTH_REQUEST publickey"]);
});

test("ClientAuth.pipeline: an authentication reply before SERVICE_ACCEPT is a protocol error", () => {
  const { auth, sign } = setup();
  auth.start();
  auth.pipeline();
  sign();
  assert.throws(() => auth.handleMessage(Msg.USERAUTH_SUCCESS, success), SSHError);
});

test("ClientAuth keeps the none probe when staged, when a key is queried, or without keys", () => {
  for (
    const options of [
      { staged: true },
      { publicKeys: [{ keyType: "ssh-ed25519", publicKeyBlob: KEY_BLOB, query: true }] },
      { publicKeys: [] },
      { preferredMethods: ["password", "publickey"] },
    ] as Partial<ClientAuthOptions>[]
  ) {
    const { auth, sent } = setup(options);
    auth.start();
    auth.pipeline(); // no-op here
    assert.deepEqual(sent.map(describe), ["SERVICE_REQUEST"]);
    auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
    assert.deepEqual(sent.map(describe), ["SERVICE_REQUEST", "USERAUTH_REQUEST none"]);
  }
});

test("ClientAuth.pipeline: a key refused before publickey may continue is offered again", () => {
  // sshd's AuthenticationMethods "password,publickey": the key that went out instead of the
  // "none" probe is refused unjudged; after the password's partial success it must go again.
  const { auth, sent, events, sign } = setup();
  auth.start();
  auth.pipeline();
  sign();
  auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  const pw = events.find((e) => e.type === "authPasswordRequest");
  assert.ok(pw?.type === "authPasswordRequest");
  auth.providePassword(pw.id, "secret");
  auth.handleMessage(
    Msg.USERAUTH_FAILURE,
    new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(["publickey"]).writeBoolean(true)
      .toBytes(),
  );
  const signs = events.filter((e) => e.type === "authSignRequest");
  assert.equal(signs.length, 2, "the key is asked to sign again");
  const again = signs[1]!;
  assert.ok(again.type === "authSignRequest" && again.keyIndex === 0);
  auth.provideSignature(again.id, Uint8Array.of(7));
  assert.deepEqual(sent.map(describe).slice(-2), [
    "USERAUTH_REQUEST password",
    "USERAUTH_REQUEST publickey",
  ]);
});

test("ClientAuth.pipeline: a key the server judged and refused is not offered again", () => {
  const { auth, events, sign } = setup();
  auth.start();
  auth.pipeline();
  sign();
  auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["publickey", "password"]));
  const pw = events.find((e) => e.type === "authPasswordRequest");
  assert.ok(pw?.type === "authPasswordRequest");
  auth.providePassword(pw.id, "secret");
  auth.handleMessage(
    Msg.USERAUTH_FAILURE,
    new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(["publickey"]).writeBoolean(true)
      .toBytes(),
  );
  assert.equal(events.filter((e) => e.type === "authSignRequest").length, 1);
});
