import { test } from "node:test";
import assert from "node:assert/strict";
import { Msg } from "../transport/messages.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { ClientAuth, type ClientAuthEvent } from "./client_auth.ts";

const KEY_BLOB = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(new Uint8Array(32))
  .toBytes();
const HOST_BLOB = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(
  new Uint8Array(32).fill(9),
).toBytes();
const SID = new Uint8Array(32).fill(1);

/** Runs publickey authentication up to the signature, with or without a host-bound server. */
function run(hostBound: boolean, query = false) {
  const sent: Uint8Array[] = [];
  const events: ClientAuthEvent[] = [];
  const auth = new ClientAuth(
    {
      username: "u",
      publicKeys: [{
        keyType: "ssh-ed25519",
        publicKeyBlob: KEY_BLOB,
        ...(query ? { query } : {}),
      }],
    },
    {
      send: (p) => void sent.push(p),
      emit: (e) => void events.push(e),
      sessionId: () => SID,
      serverSigAlgs: () => undefined,
      hostBoundKey: () => (hostBound ? HOST_BLOB : undefined),
      onSuccess: () => {},
      onFailure: () => {},
    },
  );
  auth.start();
  auth.handleMessage(
    Msg.SERVICE_ACCEPT,
    new SSHWriter().writeByte(Msg.SERVICE_ACCEPT).writeStringUtf8("ssh-userauth").toBytes(),
  );
  // A key signed at once skips the "none" probe; a queried key still sends it first.
  if (readMethod(sent[sent.length - 1]!) === "none") {
    auth.handleMessage(
      Msg.USERAUTH_FAILURE,
      new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(["publickey"]).writeBoolean(
        false,
      ).toBytes(),
    );
  }
  return { auth, sent, events };
}

function readMethod(p: Uint8Array): string | undefined {
  if (p[0] !== Msg.USERAUTH_REQUEST) return undefined;
  const r = new SSHReader(p, 1);
  r.readStringUtf8();
  r.readStringUtf8();
  return r.readStringUtf8();
}

function readRequest(p: Uint8Array) {
  const r = new SSHReader(p, 1);
  const user = r.readStringUtf8(), service = r.readStringUtf8(), method = r.readStringUtf8();
  const hasSig = r.readBoolean(), alg = r.readStringUtf8(), key = r.readString();
  return { r, user, service, method, hasSig, alg, key };
}

test("ClientAuth uses publickey-hostbound-v00 when the server offers it: signed data and request name the host key", () => {
  const { auth, sent, events } = run(true);
  const sign = events.find((e) => e.type === "authSignRequest");
  assert.ok(sign?.type === "authSignRequest");
  const expected = new SSHWriter().writeString(SID).writeByte(Msg.USERAUTH_REQUEST)
    .writeStringUtf8("u").writeStringUtf8("ssh-connection")
    .writeStringUtf8("publickey-hostbound-v00@openssh.com").writeBoolean(true)
    .writeStringUtf8("ssh-ed25519").writeString(KEY_BLOB).writeString(HOST_BLOB).toBytes();
  assert.deepEqual(sign.data, expected);
  auth.provideSignature(sign.id, Uint8Array.of(7));
  const req = readRequest(sent[sent.length - 1]!);
  assert.equal(req.method, "publickey-hostbound-v00@openssh.com");
  assert.deepEqual(req.r.readString(), HOST_BLOB);
  assert.deepEqual(req.r.readString(), Uint8Array.of(7));
  req.r.assertEnd();
});

test("ClientAuth keeps plain publickey when the server does not offer host-bound", () => {
  const { auth, sent, events } = run(false);
  const sign = events.find((e) => e.type === "authSignRequest");
  assert.ok(sign?.type === "authSignRequest");
  auth.provideSignature(sign.id, Uint8Array.of(7));
  const req = readRequest(sent[sent.length - 1]!);
  assert.equal(req.method, "publickey");
  assert.deepEqual(req.r.readString(), Uint8Array.of(7));
  req.r.assertEnd();
});

test("ClientAuth's key query is host-bound too", () => {
  const { sent } = run(true, true);
  const req = readRequest(sent[sent.length - 1]!);
  assert.equal(req.method, "publickey-hostbound-v00@openssh.com");
  assert.equal(req.hasSig, false);
  assert.deepEqual(req.r.readString(), HOST_BLOB);
  req.r.assertEnd();
});
