/**
 * listen() and FIDO keys (`sk-ssh-ed25519@openssh.com`): a signature must attest what
 * sshd asks of it. The user touched the key (flag 0x01) unless the key's authorized_keys
 * line says `no-touch-required`; the user was verified (flag 0x04) when the line says
 * `verify-required`; `publicKeyAuthOptions` asks either of every key. The "authenticator"
 * here is software that signs with whatever flags the test picks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeSecurityKey } from "../../core/testing/fixtures.ts";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { connect } from "../client/connect.ts";
import type { ClientKeyPair } from "../keys/types.ts";
import { listen } from "./listen.ts";
import type { ListenOptions, PublicKeyAuthOptions } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");
const sk = fakeSecurityKey(31);
const skLine = SSHKey.fromPublicBlob(sk.publicBlob).exportPublicKey();

/** The security key, its authenticator attesting `flags` on every signature. */
function touched(flags: number, blob = sk.publicBlob, keyType = "sk-ssh-ed25519@openssh.com") {
  return { keyType, publicKeyBlob: blob, sign: (data: Uint8Array) => sk.sign(data, flags) };
}

/** Logs in as alice with `key` against `authorizedClientKeys`; "in" or the refusal. */
async function login(
  authorizedClientKeys: string,
  key: ClientKeyPair,
  publicKeyAuthOptions?: PublicKeyAuthOptions,
  more: Partial<ListenOptions> = {},
): Promise<string> {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys,
    ...(publicKeyAuthOptions ? { publicKeyAuthOptions } : {}),
    ...more,
  });
  try {
    await using _conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "alice",
      knownHosts: null,
      agent: false,
      clientKeys: [key],
      connectTimeout: 10_000,
    });
    return "in";
  } catch (e) {
    return (e as Error).message.includes("Permission denied") ? "refused" : String(e);
  }
}

test("listen() refuses a FIDO signature the user did not touch unless the line says no-touch-required", async () => {
  assert.equal(await login(skLine, touched(0x00)), "refused");
  assert.equal(await login(skLine, touched(0x01)), "in");
  assert.equal(await login(`no-touch-required ${skLine}`, touched(0x00)), "in");
});

test("listen() refuses a FIDO signature without user verification when the line says verify-required", async () => {
  assert.equal(await login(`verify-required ${skLine}`, touched(0x01)), "refused");
  assert.equal(await login(`verify-required ${skLine}`, touched(0x05)), "in");
  // Verification does not stand in for the touch.
  assert.equal(await login(`verify-required ${skLine}`, touched(0x04)), "refused");
  assert.equal(await login(`verify-required,no-touch-required ${skLine}`, touched(0x04)), "in");
});

test("listen({ publicKeyAuthOptions }) asks every FIDO key for a touch or a verified user", async () => {
  const touch = { touchRequired: true };
  assert.equal(await login(`no-touch-required ${skLine}`, touched(0x00), touch), "refused");
  assert.equal(await login(`no-touch-required ${skLine}`, touched(0x01), touch), "in");
  const verify = { verifyRequired: true };
  assert.equal(await login(skLine, touched(0x01), verify), "refused");
  assert.equal(await login(skLine, touched(0x05), verify), "in");
  // Other keys attest nothing and are not held to it.
  const ed = generatePrivateKey("ed25519");
  const plain = {
    keyType: "ssh-ed25519",
    publicKeyBlob: ed.publicBlob,
    sign: (data: Uint8Array, alg: string) => ed.sign(data, alg),
  };
  assert.equal(
    await login(ed.exportPublicKey(), plain, { touchRequired: true, verifyRequired: true }),
    "in",
  );
});

/** A certificate for the security key, made out to alice, touched with `flags` when it signs. */
function certified(
  flags: number,
  o: { verify?: boolean; noTouch?: boolean } = {},
): ClientKeyPair {
  const cert = createCertificate({
    key: SSHKey.fromPublicBlob(sk.publicBlob),
    caKey: ca,
    type: "user",
    keyId: "fido",
    principals: ["alice"],
    criticalOptions: o.verify ? { "verify-required": "" } : {},
    extensions: { "permit-pty": "", ...(o.noTouch ? { "no-touch-required": "" } : {}) },
  });
  return touched(flags, cert.blob, cert.typeName);
}

const ca = generatePrivateKey("ed25519");
const caLine = `cert-authority ${ca.exportPublicKey()}`;

test("listen() lets FIDO user certificates in, held to their touch and verify options", async () => {
  assert.equal(await login(caLine, certified(0x01)), "in");
  assert.equal(await login(caLine, certified(0x00)), "refused");
  assert.equal(await login(caLine, certified(0x01, { verify: true })), "refused");
  assert.equal(await login(caLine, certified(0x05, { verify: true })), "in");
  // The touch is waived only when both the line and the certificate waive it, as with sshd.
  assert.equal(await login(caLine, certified(0x00, { noTouch: true })), "refused");
  assert.equal(await login(`no-touch-required,${caLine}`, certified(0x00)), "refused");
  assert.equal(
    await login(`no-touch-required,${caLine}`, certified(0x00, { noTouch: true })),
    "in",
  );
  // A validateCertificate hook that vouches for it does not lift the certificate's own.
  const hook = { validateCertificate: () => true };
  assert.equal(await login("", certified(0x01, { verify: true }), undefined, hook), "refused");
  assert.equal(await login("", certified(0x05, { verify: true }), undefined, hook), "in");
  assert.equal(await login("", certified(0x00, { noTouch: true }), undefined, hook), "in");
});

test("listen({ trustedUserCAKeys, authorizedPrincipals }) waives the touch only if the principals line and the certificate both do", async () => {
  const trust = { trustedUserCAKeys: [ca.publicKey()] };
  // No authorizedPrincipals (the user name is the principal): the certificate alone says, as sshd.
  assert.equal(await login("", certified(0x00, { noTouch: true }), undefined, trust), "in");
  assert.equal(await login("", certified(0x00), undefined, trust), "refused");
  // A function (sshd's AuthorizedPrincipalsCommand) names principals without options: touch stays.
  const fn = { ...trust, authorizedPrincipals: () => ["alice"] };
  assert.equal(await login("", certified(0x00, { noTouch: true }), undefined, fn), "refused");
  assert.equal(await login("", certified(0x01, { noTouch: true }), undefined, fn), "in");
});
