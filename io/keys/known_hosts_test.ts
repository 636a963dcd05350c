/**
 * knownHostsVerifier() and host certificates, as OpenSSH's ssh decides: a CA marked
 * `@revoked` revokes every certificate it signed (no fallback to the certified key), and a
 * certificate that fails its CA's checks (a wrong principal, expired) leaves the certified
 * key to be trusted on its own, as a plain known_hosts line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { knownHostsVerifier } from "./known_hosts.ts";

const ca = generatePrivateKey("ed25519");
const host = generatePrivateKey("ed25519");
const line = (prefix: string, key: { exportPublicKey(f: "openssh"): string }) =>
  `${prefix} ${key.exportPublicKey("openssh").trimEnd()}\n`;

function certFor(principal: string) {
  return createCertificate({
    key: host.publicKey(),
    caKey: ca,
    type: "host",
    keyId: "h",
    principals: [principal],
  });
}

const check = async (text: string, principal = "server.example") =>
  (await knownHostsVerifier({ text }))({
    host: "server.example",
    port: 22,
    keyBlob: certFor(principal).blob,
  } as never);

test("a host certificate whose CA is @revoked is refused, even when its key is listed", async () => {
  const text = line("@revoked *", ca.publicKey()) + line("server.example", host.publicKey());
  await assert.rejects(check(text), /signed by .* which is revoked/);
  await assert.rejects(
    check(line("@cert-authority *", ca.publicKey()) + line("@revoked *", ca.publicKey())),
    /revoked/,
  );
});

test("a host certificate for another name falls back to its key's own known_hosts line", async () => {
  const caLine = line("@cert-authority server.example", ca.publicKey());
  assert.equal(await check(caLine), true);
  // The wrong principal: trusted through the plain line, as ssh retries with the plain key.
  assert.equal(
    await check(caLine + line("server.example", host.publicKey()), "wrong.example"),
    true,
  );
  // Without that line the certificate's own reason is given.
  await assert.rejects(
    check(caLine, "wrong.example"),
    /not valid for host 'server.example'.*not trusted on its own either/,
  );
});
