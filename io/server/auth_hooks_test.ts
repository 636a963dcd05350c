/**
 * AuthHandler on its own: the verdicts it gives the engine's authentication events,
 * with a stand-in connection and hooks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultServerSigAlgs } from "../../core/suite/default_suite.ts";
import { SSHWriter } from "../../core/wire.ts";
import { type AuthContext, AuthHandler } from "./auth_hooks.ts";
import type { ServerConnectionContext } from "./context.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { generateUserCertificate } from "../../keys/certificates/certificate.ts";
import type { ServerHooks } from "./options.ts";

function handler(
  hooks: ServerHooks,
  signatureAlgorithms = defaultServerSigAlgs(),
  more: Partial<AuthContext> = {},
): AuthHandler {
  return new AuthHandler({
    conn: { remoteAddress: "127.0.0.1" } as ServerConnectionContext,
    hook: (name) => hooks[name],
    authorizedKeys: () => undefined,
    signatureAlgorithms,
    ...more,
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

/** An RSA public key blob whose mpints carry an extra leading zero byte (OpenSSH reads it too). */
function paddedRsaBlob(e: bigint, n: bigint): Uint8Array {
  const padded = (v: bigint) =>
    Uint8Array.of(0, ...new SSHWriter().writeMpint(v).toBytes().subarray(4));
  return new SSHWriter().writeStringUtf8("ssh-rsa").writeString(padded(e)).writeString(padded(n))
    .toBytes();
}

test("AuthHandler refuses a revoked key sent with non-minimal mpints before validatePublicKey is asked", async () => {
  const n = (1n << 2047n) + 1n;
  const revoked = SSHKey.fromMaterial({ type: "rsa", e: 65537n, n });
  const asked: string[] = [];
  const h = handler(
    { validatePublicKey: (_u, k) => (asked.push(k.algorithm), true) },
    undefined,
    { trust: { revokedKeys: [revoked] } },
  );
  const request = (keyBlob: Uint8Array) => ({
    type: "authPublicKey" as const,
    id: 1,
    username: "alice",
    algorithm: "rsa-sha2-256",
    keyBlob,
    signed: true,
  });
  assert.deepEqual(await h.verdict(request(revoked.publicBlob)), { result: "failure" });
  assert.deepEqual(await h.verdict(request(paddedRsaBlob(65537n, n))), { result: "failure" });
  assert.deepEqual(asked, []);
});

test("validatePublicKey and validateCertificate are told a query from a signed request", async () => {
  const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
  const cert = generateUserCertificate(ca, user, "k", { principals: ["alice"] });
  const seen: string[] = [];
  const h = handler({
    validatePublicKey: (_u, k) => (seen.push(`key signed=${k.signed}`), true),
    validateCertificate: (_u, c) => (seen.push(`certificate signed=${c.signed}`), true),
  });
  const request = (algorithm: string, keyBlob: Uint8Array, signed: boolean) => ({
    type: "authPublicKey" as const,
    id: 1,
    username: "alice",
    algorithm,
    keyBlob,
    signed,
  });
  for (const signed of [false, true]) {
    await h.verdict(request("ssh-ed25519", user.publicBlob, signed));
    await h.verdict(request("ssh-ed25519-cert-v01@openssh.com", cert.blob, signed));
  }
  assert.deepEqual(seen, [
    "key signed=false",
    "certificate signed=false",
    "key signed=true",
    "certificate signed=true",
  ]);
});
