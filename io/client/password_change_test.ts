/**
 * The outcome of a password change reaches connect()'s `passwordChanged` and
 * `passwordChangeFailed` (AsyncSSH's password_changed / password_change_failed),
 * against our server's `validatePassword` → `{ changePassword }` on loopback.
 * (OpenSSH's sshd only asks for a change through PAM with an expired account,
 * which this machine's fixtures cannot set up.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "./connect.ts";
import { listen } from "../server/listen.ts";

const hostKey = generatePrivateKey("ed25519");

async function expiringServer() {
  let password = "old";
  return await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (_u, pw) =>
      pw === password && password === "old"
        ? { changePassword: "Your password has expired" }
        : pw === password,
    changePassword: (_u, old, next) => {
      if (old !== password || next.length < 6) return false;
      password = next;
      return true;
    },
  });
}

test("connect() reports a refused and then an accepted password change", async () => {
  await using s = await expiringServer();
  const outcomes: string[] = [];
  const offers = ["short", "long enough"];
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    preferredAuth: ["password"],
    password: (attempt) => attempt <= 2 ? "old" : null,
    passwordChange: (prompt) => {
      outcomes.push(`asked: ${prompt}`);
      return { oldPassword: "old", newPassword: offers.shift()! };
    },
    passwordChanged: () => outcomes.push("changed"),
    passwordChangeFailed: ({ retry }) => outcomes.push(`failed retry=${retry}`),
  });
  assert.deepEqual(outcomes, [
    "asked: Your password has expired",
    "failed retry=false",
    "asked: Your password has expired",
    "changed",
  ]);
  assert.equal(conn.getExtraInfo().username, "alice");
});

test("no change callback fires for a plain password login", async () => {
  await using s = await expiringServer();
  // First change the password, then log in with the new one.
  await (await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    password: "old",
    passwordChange: () => ({ oldPassword: "old", newPassword: "brand new" }),
  })).close();
  const outcomes: string[] = [];
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    password: "brand new",
    passwordChanged: () => outcomes.push("changed"),
    passwordChangeFailed: () => outcomes.push("failed"),
  });
  assert.deepEqual(outcomes, []);
  assert.ok(conn);
});
