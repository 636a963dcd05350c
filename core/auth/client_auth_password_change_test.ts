import { test } from "node:test";
import assert from "node:assert/strict";
import { Msg } from "../transport/messages.ts";
import { SSHWriter } from "../wire.ts";
import { ClientAuth, type ClientAuthEvent } from "./client_auth.ts";

/** Password authentication up to the server's first change request. */
function changing() {
  const events: ClientAuthEvent[] = [];
  const auth = new ClientAuth(
    { username: "u", password: true, preferredMethods: ["password"], maxPasswordAttempts: 3 },
    {
      send: () => {},
      emit: (e) => void events.push(e),
      sessionId: () => new Uint8Array(32),
      serverSigAlgs: () => undefined,
      hostBoundKey: () => undefined,
      onSuccess: () => {},
      onFailure: () => {},
    },
  );
  const failure = (partial: boolean) =>
    new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(["password"])
      .writeBoolean(partial).toBytes();
  const changeReq = new SSHWriter().writeByte(60).writeStringUtf8("expired").writeStringUtf8("")
    .toBytes();
  auth.start();
  auth.handleMessage(
    Msg.SERVICE_ACCEPT,
    new SSHWriter().writeByte(Msg.SERVICE_ACCEPT).writeStringUtf8("ssh-userauth").toBytes(),
  );
  auth.handleMessage(Msg.USERAUTH_FAILURE, failure(false));
  const pw = events.find((e) => e.type === "authPasswordRequest");
  assert.ok(pw?.type === "authPasswordRequest");
  auth.providePassword(pw.id, "old");
  auth.handleMessage(60, changeReq);
  const answer = () => {
    const req = events.findLast((e) => e.type === "authPasswordChangeRequest");
    assert.ok(req?.type === "authPasswordChangeRequest");
    auth.providePasswordChange(req.id, { oldPassword: "old", newPassword: "new" });
  };
  answer();
  return { auth, events, failure, changeReq, answer };
}

const outcomes = (events: ClientAuthEvent[]) =>
  events.filter((e) => e.type === "authPasswordChanged" || e.type === "authPasswordChangeFailed");

test("ClientAuth reports authPasswordChanged on success and on partial success", () => {
  const a = changing();
  a.auth.handleMessage(Msg.USERAUTH_SUCCESS, Uint8Array.of(Msg.USERAUTH_SUCCESS));
  assert.deepEqual(outcomes(a.events), [{ type: "authPasswordChanged" }]);
  const b = changing();
  b.auth.handleMessage(Msg.USERAUTH_FAILURE, b.failure(true));
  assert.deepEqual(outcomes(b.events), [{ type: "authPasswordChanged" }]);
});

test("ClientAuth reports authPasswordChangeFailed on failure and on a repeated change request", () => {
  const a = changing();
  a.auth.handleMessage(Msg.USERAUTH_FAILURE, a.failure(false));
  assert.deepEqual(outcomes(a.events), [{ type: "authPasswordChangeFailed", retry: false }]);
  const b = changing();
  b.auth.handleMessage(60, b.changeReq);
  assert.deepEqual(outcomes(b.events), [{ type: "authPasswordChangeFailed", retry: true }]);
  // The second answer is accepted: one failure, then one change.
  b.answer();
  b.auth.handleMessage(Msg.USERAUTH_SUCCESS, Uint8Array.of(Msg.USERAUTH_SUCCESS));
  assert.deepEqual(outcomes(b.events), [
    { type: "authPasswordChangeFailed", retry: true },
    { type: "authPasswordChanged" },
  ]);
});
