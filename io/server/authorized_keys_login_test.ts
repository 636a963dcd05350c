/**
 * listen()'s authorized_keys logins, line by line as sshd decides them: a plain key's line
 * with `principals=` (an option only a `cert-authority` line may carry) lets nobody in, and
 * a later line for the same key still does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "./listen.ts";

const hostKey = generatePrivateKey("ed25519");
const user = generatePrivateKey("ed25519");

async function login(authorizedClientKeys: string) {
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
