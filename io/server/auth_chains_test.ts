/**
 * listen({ authenticationMethods }): methods one after another, as sshd's
 * AuthenticationMethods — a partial success until one list is complete, only the methods
 * next in an open list offered, and a key's options kept for the session.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import type { StagedAuthResult } from "../client/staged_auth.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519");

async function server(extra: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys: `no-pty ${userKey.exportPublicKey().trim()}\n`,
    validatePassword: (_u, pw) => pw === "pw",
    getKbdintChallenge: () => ({ prompts: [{ prompt: "Code: ", echo: true }] }),
    validateKbdintResponse: (_u, answers) => answers[0] === "123456",
    authenticationMethods: [["publickey", "keyboard-interactive"], [
      "password",
      "keyboard-interactive",
    ]],
    processFactory: (p) =>
      p.write(`in by ${p.connection?.authMethod}, pty ${p.terminal !== undefined}\n`),
    ...extra,
  });
}

test("authenticationMethods: each method is a partial success until a list is complete", async () => {
  await using s = await server();
  const steps: (StagedAuthResult & { what: string })[] = [];
  let first: readonly string[] = [];
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    authenticate: async (auth) => {
      first = auth.methods;
      steps.push({ what: "code first", ...(await auth.keyboardInteractive(() => ["123456"])) });
      steps.push({ what: "key", ...(await auth.publicKey(clientKeyFromSSHKey(userKey))) });
      steps.push({ what: "password now", ...(await auth.password("pw")) });
      steps.push({ what: "code", ...(await auth.keyboardInteractive(() => ["123456"])) });
    },
  });
  // Only what begins a list at first; after the key, only the code.
  assert.deepEqual([...first].sort(), ["password", "publickey"]);
  assert.deepEqual(steps.map((r) => [r.what, r.success, r.partialSuccess]), [
    ["code first", false, false],
    ["key", false, true],
    ["password now", false, false],
    ["code", true, false],
  ]);
  assert.deepEqual(steps[1]!.methods, ["keyboard-interactive"]);
  // The key's no-pty holds, though the code came last.
  assert.equal(conn.getExtraInfo().username, "alice");
  await assert.rejects(conn.run("x", { term: "xterm" }), /refused to allocate a pseudo-terminal/);
  assert.equal((await conn.run("x")).stdout, "in by keyboard-interactive, pty false\n");

  const [sc] = s.getConnections();
  assert.equal(sc!.getExtraInfo().authKey?.getFingerprint(), userKey.getFingerprint());
});

test("authenticationMethods: one method alone does not let the user in", async () => {
  await using s = await server();
  await assert.rejects(
    connect("127.0.0.1", {
      port: s.address.port,
      username: "alice",
      knownHosts: null,
      agent: false,
      password: "pw",
      preferredAuth: ["password"],
    }),
    (e: { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
  // With the code as well (a kbdint responder), the second list completes.
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    password: "pw",
    kbdintResponses: () => ["123456"],
    preferredAuth: ["password", "keyboard-interactive"],
  });
  assert.equal((await conn.run("x")).stdout, "in by keyboard-interactive, pty false\n");
});

test("authenticationMethods is checked by listen(): unknown, unoffered or repeated methods", async () => {
  await assert.rejects(
    server({ authenticationMethods: [["publickey", "otp"]] }),
    /unknown method "otp"/,
  );
  await assert.rejects(server({ authenticationMethods: [[]] }), RangeError);
  await assert.rejects(
    server({ authenticationMethods: [["password", "password"]] }),
    /appears twice/,
  );
  await assert.rejects(
    server({ authenticationMethods: [["hostbased", "password"]] }),
    /names "hostbased", which is not offered/,
  );
});
