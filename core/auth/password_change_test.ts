/**
 * The client engine reports the outcome of a password change
 * (`authPasswordChanged` / `authPasswordChangeFailed`), and the server engine's
 * `sendAuthBanner`, engine against engine in memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair } from "../testing/fixtures.ts";
import type { AuthVerdict } from "./server_auth.ts";

/** A pair whose server wants a new password; `judge` answers each change. */
function pair(judge: (newPassword: string) => AuthVerdict, offers: string[]) {
  return makePair({
    password: "old",
    serverMethods: ["password"],
    serverVerdict: (e) => {
      if (e.type !== "authPassword") return undefined;
      if (e.newPassword === undefined) {
        return e.password === "old"
          ? { result: "changePassword", prompt: "Expired" }
          : { result: "failure" };
      }
      return judge(e.newPassword);
    },
    onClient: (e, p) => {
      if (e.type !== "authPasswordChangeRequest") return;
      const next = offers.shift();
      p.client.providePasswordChange(
        e.id,
        next === undefined ? null : { oldPassword: "old", newPassword: next },
      );
      return true;
    },
  });
}

const outcomes = (p: ReturnType<typeof makePair>) =>
  p.clientEvents.flatMap((e) =>
    e.type === "authPasswordChanged"
      ? ["changed"]
      : e.type === "authPasswordChangeFailed"
      ? [`failed:${e.reason}:${e.prompt}`]
      : e.type === "authPasswordChangeRequest"
      ? [`prompt:${e.prompt}`]
      : e.type === "authSuccess"
      ? ["success"]
      : []
  );

test("ClientAuth emits authPasswordChanged before authSuccess", () => {
  const p = pair((pw) => ({ result: pw === "new" ? "success" : "failure" }), ["new"]);
  p.run();
  assert.ok(p.client.authenticated);
  assert.deepEqual(outcomes(p), ["prompt:Expired", "changed", "success"]);
});

test("ClientAuth reports a partial success after a change as changed", () => {
  const p = pair(() => ({ result: "partial", methods: ["publickey"] }), ["new"]);
  p.run();
  assert.ok(!p.client.authenticated);
  assert.deepEqual(outcomes(p), ["prompt:Expired", "changed"]);
});

test("ClientAuth emits authPasswordChangeFailed for a refusal and for another change request", () => {
  const p = pair(
    (pw) =>
      pw === "weak"
        ? { result: "changePassword", prompt: "Again" }
        : { result: pw === "strong" ? "success" : "failure" },
    ["weak", "strong"],
  );
  p.run();
  assert.deepEqual(outcomes(p), [
    "prompt:Expired",
    "failed:retry:Again",
    "prompt:Again",
    "changed",
    "success",
  ]);
  const q = pair(() => ({ result: "failure" }), ["nope"]);
  q.run();
  assert.ok(!q.client.authenticated);
  assert.deepEqual(outcomes(q).slice(0, 2), ["prompt:Expired", "failed:refused:"]);
});

test("ServerConnection.sendAuthBanner holds a banner until the service is accepted, refuses after auth", () => {
  const p = makePair({ password: "secret", serverMethods: ["password"] });
  p.server.sendAuthBanner("early\n");
  p.run();
  assert.ok(p.client.authenticated);
  const banners = p.clientEvents.flatMap((e) => e.type === "authBanner" ? [e.message] : []);
  assert.deepEqual(banners, ["early\n"]);
  assert.throws(() => p.server.sendAuthBanner("late"), /before authentication ends/);
});
