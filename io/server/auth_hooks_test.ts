/**
 * AuthHandler on its own: the verdicts it gives the engine's authentication events,
 * with a stand-in connection and hooks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultServerSigAlgs } from "../../core/suite/default_suite.ts";
import { SSHWriter } from "../../core/wire.ts";
import { AuthHandler } from "./auth_hooks.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { ServerHooks } from "./options.ts";

function handler(hooks: ServerHooks, signatureAlgorithms = defaultServerSigAlgs()): AuthHandler {
  return new AuthHandler({
    conn: { remoteAddress: "127.0.0.1" } as ServerConnectionContext,
    hook: (name) => hooks[name],
    authorizedKeys: () => undefined,
    signatureAlgorithms,
  });
}

test("AuthHandler refuses host-based signatures in algorithms users may not sign with, as publickey does", async () => {
  const asked: string[] = [];
  const h = handler({ validateHostBasedUser: (_u, c) => (asked.push(c.algorithm), true) });
  // The hook sees the blob; this check looks at the algorithm only.
  const rsa = new SSHWriter().writeStringUtf8("ssh-rsa").writeMpint(65537n)
    .writeMpint((1n << 2047n) + 1n).toBytes();
  const request = (algorithm: string) => ({
    type: "authHostbased" as const,
    id: 1,
    username: "alice",
    algorithm,
    keyBlob: rsa,
    clientHostname: "client.example.",
    clientUsername: "alice",
  });
  for (const sha1 of ["ssh-rsa", "ssh-dss", "ssh-rsa-cert-v01@openssh.com"]) {
    assert.deepEqual(await h.verdict(request(sha1)), { result: "failure" }, sha1);
  }
  assert.deepEqual(await h.verdict(request("rsa-sha2-512")), { result: "success" });
  assert.deepEqual(asked, ["rsa-sha2-512"]); // refused before the hook is asked
  // signatureAlgs that list ssh-rsa let it in, for both methods alike.
  const legacy = handler({ validateHostBasedUser: () => true }, ["ssh-rsa"]);
  assert.deepEqual(await legacy.verdict(request("ssh-rsa")), { result: "success" });
});
