/**
 * ClientAuth against a hostile server, message by message: SUCCESS reports what was sent
 * (and whether it was trivial), message 60 is taken only as the answer to a request in
 * flight, partial successes and repeated rounds cannot loop, and server-sig-algs cannot
 * downgrade RSA to SHA-1.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError, SSHError } from "../errors.ts";
import {
  MAX_CLIENT_AUTH_REQUESTS,
  MAX_KBDINT_ROUNDS,
  MAX_NAME,
  MAX_PASSWORD_CHANGES,
  MAX_TEXT,
} from "../limits.ts";
import { Msg } from "../transport/messages.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { ClientAuth, type ClientAuthEvent, type ClientAuthOptions } from "./client_auth.ts";

const ED_BLOB = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(new Uint8Array(32))
  .toBytes();
const RSA_BLOB = new SSHWriter().writeStringUtf8("ssh-rsa").writeString(new Uint8Array(3))
  .toBytes();

function setup(
  options: Partial<ClientAuthOptions> = {},
  serverSigAlgs: readonly string[] | undefined = undefined,
) {
  const sent: Uint8Array[] = [];
  const events: ClientAuthEvent[] = [];
  const failures: DisconnectError[] = [];
  const auth = new ClientAuth({ username: "u", ...options }, {
    send: (p) => void sent.push(p),
    emit: (e) => void events.push(e),
    sessionId: () => new Uint8Array(32),
    serverSigAlgs: () => serverSigAlgs,
    onSuccess: () => {},
    onFailure: (e) => void failures.push(e),
  });
  /** The last event of `type` (narrowed). */
  const last = <T extends ClientAuthEvent["type"]>(type: T) =>
    events.findLast((e) => e.type === type) as Extract<ClientAuthEvent, { type: T }> | undefined;
  /** The methods of the USERAUTH_REQUESTs sent. */
  const methods = () =>
    sent.filter((p) => p[0] === Msg.USERAUTH_REQUEST).map((p) => {
      const r = new SSHReader(p, 1);
      r.readStringUtf8();
      r.readStringUtf8();
      return r.readStringUtf8();
    });
  auth.start();
  auth.handleMessage(Msg.SERVICE_ACCEPT, accept);
  return { auth, sent, events, failures, last, methods };
}

const accept = new SSHWriter().writeByte(Msg.SERVICE_ACCEPT).writeStringUtf8("ssh-userauth")
  .toBytes();
const success = Uint8Array.of(Msg.USERAUTH_SUCCESS);
const failure = (methods: string[], partial = false) =>
  new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(methods).writeBoolean(partial)
    .toBytes();
const changeRequest = new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8("Expired:")
  .writeStringUtf8("").toBytes();
const infoRequest = (prompts: number) => {
  const w = new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8("").writeStringUtf8("")
    .writeStringUtf8("").writeUint32(prompts);
  for (let i = 0; i < prompts; i++) w.writeStringUtf8("Password: ").writeBoolean(false);
  return w.toBytes();
};

// ---- finding: what SUCCESS reports ----

test("ClientAuth: SUCCESS while the key is still signing (nothing sent) is a protocol error", () => {
  const { auth, last } = setup({
    publicKeys: [{ keyType: "ssh-ed25519", publicKeyBlob: ED_BLOB }],
  });
  assert.ok(last("authSignRequest"), "the key is signing");
  assert.throws(() => auth.handleMessage(Msg.USERAUTH_SUCCESS, success), SSHError);
  assert.ok(!auth.done);
});

test("ClientAuth: SUCCESS while the password is asked for reports none, trivial", () => {
  const { auth, last } = setup({ password: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  assert.ok(last("authPasswordRequest"));
  auth.handleMessage(Msg.USERAUTH_SUCCESS, success);
  assert.deepEqual(last("authSuccess"), { type: "authSuccess", method: "none", trivial: true });
});

test("ClientAuth: a password sent makes the success non-trivial", () => {
  const { auth, last } = setup({ password: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  auth.providePassword(last("authPasswordRequest")!.id, "pw");
  auth.handleMessage(Msg.USERAUTH_SUCCESS, success);
  assert.deepEqual(last("authSuccess"), {
    type: "authSuccess",
    method: "password",
    trivial: false,
  });
});

test("ClientAuth: keyboard-interactive is trivial until an answer goes out", () => {
  for (const prompts of [0, 1]) {
    const { auth, last } = setup({ keyboardInteractive: true });
    auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["keyboard-interactive"]));
    auth.handleMessage(Msg.USERAUTH_60, infoRequest(prompts));
    const req = last("authKbdintRequest")!;
    auth.provideKbdintResponses(req.id, req.prompts.map(() => "x"));
    auth.handleMessage(Msg.USERAUTH_SUCCESS, success);
    assert.deepEqual(last("authSuccess"), {
      type: "authSuccess",
      method: "keyboard-interactive",
      trivial: prompts === 0,
    });
  }
});

// ---- finding: PASSWD_CHANGEREQ only as an answer ----

test("ClientAuth: PASSWD_CHANGEREQ before the password was sent is a protocol error", () => {
  const { auth, last } = setup({ password: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  assert.ok(last("authPasswordRequest"), "the password is being asked for");
  assert.throws(() => auth.handleMessage(Msg.USERAUTH_60, changeRequest), SSHError);
  assert.equal(last("authPasswordChangeRequest"), undefined);
});

test("ClientAuth: a second PASSWD_CHANGEREQ before the change went out is a protocol error", () => {
  const { auth, last } = setup({ password: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  auth.providePassword(last("authPasswordRequest")!.id, "old");
  auth.handleMessage(Msg.USERAUTH_60, changeRequest);
  assert.ok(last("authPasswordChangeRequest"));
  assert.throws(() => auth.handleMessage(Msg.USERAUTH_60, changeRequest), SSHError);
});

test("ClientAuth: at most MAX_PASSWORD_CHANGES change requests per password attempt", () => {
  const { auth, last, failures } = setup({ password: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["password"]));
  auth.providePassword(last("authPasswordRequest")!.id, "old");
  let answered = 0;
  for (let i = 0; i < 100 && !auth.done; i++) {
    auth.handleMessage(Msg.USERAUTH_60, changeRequest);
    const req = last("authPasswordChangeRequest");
    if (auth.done || !req) break;
    answered++;
    auth.providePasswordChange(req.id, { oldPassword: "old", newPassword: `new${i}` });
  }
  assert.equal(answered, MAX_PASSWORD_CHANGES);
  assert.equal(failures[0]?.code, "ERR_PERMISSION_DENIED");
});

// ---- finding: no endless loops ----

test("ClientAuth: partial successes reset no key index or attempt count", () => {
  const { auth, sent, events, failures, methods } = setup({
    publicKeys: [{ keyType: "ssh-ed25519", publicKeyBlob: ED_BLOB }],
    password: true,
    keyboardInteractive: true,
  });
  // The client gets every answer it asks for; the server says "partial success" to every
  // request and asks one prompt per keyboard-interactive request.
  let seen = 1; // SERVICE_REQUEST
  for (let i = 0; i < 1000 && !auth.done; i++) {
    if (sent.length === seen) {
      const e = events.at(-1)!;
      if (e.type === "authSignRequest") auth.provideSignature(e.id, Uint8Array.of(1));
      else if (e.type === "authPasswordRequest") auth.providePassword(e.id, "pw");
      else if (e.type === "authKbdintRequest") auth.provideKbdintResponses(e.id, ["pw"]);
      continue;
    }
    seen = sent.length;
    if (sent.at(-1)![0] === Msg.USERAUTH_REQUEST && methods().at(-1) === "keyboard-interactive") {
      auth.handleMessage(Msg.USERAUTH_60, infoRequest(1));
    } else {
      auth.handleMessage(
        Msg.USERAUTH_FAILURE,
        failure(["publickey", "keyboard-interactive", "password"], true),
      );
    }
  }
  assert.equal(failures[0]?.code, "ERR_PERMISSION_DENIED");
  const count = (m: string) => methods().filter((x) => x === m).length;
  assert.equal(count("publickey"), 1);
  assert.equal(count("keyboard-interactive"), 3);
  assert.equal(count("password"), 3);
});

test("ClientAuth: at most MAX_KBDINT_ROUNDS rounds in one keyboard-interactive attempt", () => {
  const { auth, last, failures } = setup({ keyboardInteractive: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["keyboard-interactive"]));
  let rounds = 0;
  for (let i = 0; i < 100 && !auth.done; i++) {
    auth.handleMessage(Msg.USERAUTH_60, infoRequest(1));
    if (auth.done) break;
    rounds++;
    auth.provideKbdintResponses(last("authKbdintRequest")!.id, ["x"]);
  }
  assert.equal(rounds, MAX_KBDINT_ROUNDS);
  assert.equal(failures[0]?.code, "ERR_PERMISSION_DENIED");
  assert.match(failures[0]!.message, /keyboard-interactive rounds/);
});

test("ClientAuth: staged attempts stop at MAX_CLIENT_AUTH_REQUESTS requests", () => {
  const { auth, failures, methods } = setup({ staged: true });
  for (let i = 0; i < 1000 && !auth.done; i++) {
    auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["publickey"], true));
    if (!auth.done) auth.tryMethod({ method: "none" });
  }
  assert.equal(methods().length, MAX_CLIENT_AUTH_REQUESTS);
  assert.equal(failures[0]?.code, "ERR_PERMISSION_DENIED");
  assert.equal(failures[0]?.detail, "too-many-requests");
});

// ---- finding: no SHA-1 by server-sig-algs ----

test("ClientAuth: server-sig-algs of only ssh-rsa does not get an ssh-rsa signature", () => {
  const rsa = [{ keyType: "ssh-rsa", publicKeyBlob: RSA_BLOB }];
  const { auth, last, methods } = setup({ publicKeys: rsa, password: true }, ["ssh-rsa"]);
  assert.deepEqual(methods(), ["none"], "no key to sign at once: the none probe");
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["publickey", "password"]));
  assert.equal(last("authSignRequest"), undefined);
  assert.ok(last("authPasswordRequest"), "on to the password");
  const named = setup({ publicKeys: rsa, signatureAlgorithms: ["ssh-rsa"] }, ["ssh-rsa"]);
  assert.equal(named.last("authSignRequest")?.algorithm, "ssh-rsa");
  const cert = setup({
    publicKeys: [{ keyType: "ssh-rsa-cert-v01@openssh.com", publicKeyBlob: RSA_BLOB }],
  }, ["ssh-rsa"]);
  assert.equal(cert.last("authSignRequest"), undefined);
  const sha2 = setup({ publicKeys: rsa }, ["rsa-sha2-256", "ssh-rsa"]);
  assert.equal(sha2.last("authSignRequest")?.algorithm, "rsa-sha2-256");
});

test("ClientAuth: an RSA certificate is offered when only its certificate algorithm is allowed", () => {
  // ssh_config's PubkeyAcceptedAlgorithms rsa-sha2-512-cert-v01@openssh.com, as ssh offers it.
  const cert = [{ keyType: "ssh-rsa-cert-v01@openssh.com", publicKeyBlob: RSA_BLOB }];
  for (const alg of ["rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com"]) {
    const { last } = setup(
      { publicKeys: cert, signatureAlgorithms: [alg] },
      ["rsa-sha2-256", "rsa-sha2-512"],
    );
    assert.equal(last("authSignRequest")?.algorithm, alg);
  }
  // The plain RSA key is not allowed by a certificate algorithm.
  const plain = setup({
    publicKeys: [{ keyType: "ssh-rsa", publicKeyBlob: RSA_BLOB }],
    signatureAlgorithms: ["rsa-sha2-512-cert-v01@openssh.com"],
  }, ["rsa-sha2-512"]);
  assert.equal(plain.last("authSignRequest"), undefined);
});

// ---- finding: text that is not UTF-8 does not end the connection ----

test("ClientAuth: a banner, prompt or language tag that is not UTF-8 is kept escaped, not fatal", () => {
  // sshd sends its Banner file and PAM's prompts as bytes; OpenSSH's ssh shows a Latin-1
  // banner (as "B\351n") and goes on.
  const latin1 = Uint8Array.of(0x42, 0xe9, 0x6e); // "Bén" in Latin-1
  const lang = Uint8Array.of(0xc3, 0xa9, 0xff);
  const { auth, last, sent } = setup({ keyboardInteractive: true, password: true });
  auth.handleMessage(
    Msg.USERAUTH_BANNER,
    new SSHWriter().writeByte(Msg.USERAUTH_BANNER).writeString(latin1).writeString(lang).toBytes(),
  );
  assert.deepEqual(last("authBanner"), {
    type: "authBanner",
    message: "B\uDCE9n",
    language: "\u00e9\uDCFF",
  });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["keyboard-interactive", "password"]));
  auth.handleMessage(
    Msg.USERAUTH_60,
    new SSHWriter().writeByte(Msg.USERAUTH_60).writeString(latin1).writeString(latin1)
      .writeString(lang).writeUint32(1).writeString(latin1).writeBoolean(false).toBytes(),
  );
  const req = last("authKbdintRequest")!;
  assert.deepEqual(
    [req.name, req.instruction, req.prompts],
    ["B\uDCE9n", "B\uDCE9n", [{ prompt: "B\uDCE9n", echo: false }]],
  );
  auth.provideKbdintResponses(req.id, null);
  auth.providePassword(last("authPasswordRequest")!.id, "old");
  auth.handleMessage(
    Msg.USERAUTH_60,
    new SSHWriter().writeByte(Msg.USERAUTH_60).writeString(latin1).writeString(lang).toBytes(),
  );
  assert.deepEqual(last("authPasswordChangeRequest"), {
    type: "authPasswordChangeRequest",
    id: last("authPasswordChangeRequest")!.id,
    prompt: "B\uDCE9n",
    language: "\u00e9\uDCFF",
  });
  assert.equal(sent.length, 4, "SERVICE_REQUEST, none, keyboard-interactive, password");
});

// ---- finding: PK_OK must name the key that was asked about ----

test("ClientAuth: a PK_OK naming another key or algorithm is a protocol error; nothing is signed", () => {
  const other = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(
    new Uint8Array(32).fill(1),
  )
    .toBytes();
  const pkOk = (alg: string, blob: Uint8Array) =>
    new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8(alg).writeString(blob).toBytes();
  for (const [alg, blob] of [["ssh-ed25519", other], ["ssh-rsa", ED_BLOB]] as const) {
    const { auth, last } = setup({
      publicKeys: [{ keyType: "ssh-ed25519", publicKeyBlob: ED_BLOB, query: true }],
    });
    auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["publickey"]));
    assert.throws(
      () => auth.handleMessage(Msg.USERAUTH_60, pkOk(alg, blob)),
      (e: unknown) => e instanceof DisconnectError && e.detail === "pk-ok-mismatch",
    );
    assert.equal(last("authSignRequest"), undefined);
  }
  // The key asked about, by its algorithm: signed.
  const { auth, last } = setup({
    publicKeys: [{ keyType: "ssh-ed25519", publicKeyBlob: ED_BLOB, query: true }],
  });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["publickey"]));
  auth.handleMessage(Msg.USERAUTH_60, pkOk("ssh-ed25519", ED_BLOB));
  assert.equal(last("authSignRequest")?.keyIndex, 0);
});

// ---- finding: one keyboard-interactive request at a time ----

test("ClientAuth: an INFO_REQUEST while the last one is unanswered is a protocol error", () => {
  // RFC 4256 §3.2: the server waits for the INFO_RESPONSE. A server that does not would
  // have the application's prompt callback run once per request, all at once.
  const { auth, events } = setup({ keyboardInteractive: true });
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["keyboard-interactive"]));
  auth.handleMessage(Msg.USERAUTH_60, infoRequest(1));
  assert.throws(() => auth.handleMessage(Msg.USERAUTH_60, infoRequest(1)), SSHError);
  assert.equal(events.filter((e) => e.type === "authKbdintRequest").length, 1);
  // Answered, the next round is fine.
  const fresh = setup({ keyboardInteractive: true });
  fresh.auth.handleMessage(Msg.USERAUTH_FAILURE, failure(["keyboard-interactive"]));
  fresh.auth.handleMessage(Msg.USERAUTH_60, infoRequest(1));
  fresh.auth.provideKbdintResponses(fresh.last("authKbdintRequest")!.id, ["x"]);
  fresh.auth.handleMessage(Msg.USERAUTH_60, infoRequest(0));
  assert.equal(fresh.events.filter((e) => e.type === "authKbdintRequest").length, 2);
});

test("ClientAuth: a banner longer than MAX_TEXT is cut, not fatal", () => {
  // sshd sends a Banner file of up to 1 MiB (as much as fits a packet); ssh shows it all.
  const { auth, last } = setup({ password: true });
  const text = "a".repeat(MAX_TEXT + 100);
  auth.handleMessage(
    Msg.USERAUTH_BANNER,
    new SSHWriter().writeByte(Msg.USERAUTH_BANNER).writeStringUtf8(text).writeStringUtf8(
      "x".repeat(300),
    )
      .toBytes(),
  );
  assert.equal(last("authBanner")?.message, text.slice(0, MAX_TEXT));
  assert.equal(last("authBanner")?.language, "x".repeat(MAX_NAME));
});
