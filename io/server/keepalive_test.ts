/**
 * listen({ keepaliveInterval, keepaliveCountMax }) as sshd's ClientAliveInterval and
 * ClientAliveCountMax: a count of 0 probes without ever dropping the client. Loopback only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "./listen.ts";

test("listen({ keepaliveCountMax: 0 }) keeps an idle, live client (sshd's ClientAliveCountMax 0)", async () => {
  const lost: (Error | undefined)[] = [];
  await using server = await listen({
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    validatePassword: () => true,
    authFailureDelay: 0,
    keepaliveInterval: 20,
    keepaliveCountMax: 0,
    processFactory: (p) => {
      p.write("up");
      p.exit(0);
    },
    connectionLost: (_c, e) => void lost.push(e),
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
    config: false,
  });
  // Many intervals of idleness: a count of 0 used to drop the client at the first, unprobed.
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(lost.length, 0, `dropped: ${lost[0]?.message}`);
  assert.equal(conn.closeError, undefined);
  assert.equal((await conn.run("x")).stdout, "up");
});
