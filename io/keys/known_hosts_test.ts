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

test("off port 22, a host not listed as [host]:port is checked under its bare name, as ssh", async () => {
  // ssh's check_host_key: HOST_NEW on [host]:port -> "checking without port identifier".
  const other = generatePrivateKey("ed25519").publicKey();
  const at = async (text: string, port: number, blob = host.publicKey().publicBlob) =>
    (await knownHostsVerifier({ text }))({ host: "server.example", port, keyBlob: blob } as never);
  const bare = line("server.example", host.publicKey());
  assert.equal(await at(bare, 2222), true);
  // A CA for *.example serves every port (its pattern never matches "[name]:port").
  const wildCA = line("@cert-authority *.example", ca.publicKey());
  assert.equal(await at(wildCA, 2222, certFor("server.example").blob), true);
  // What [host]:port says decides: another key there is a changed key...
  await assert.rejects(
    at(line("[server.example]:2222", other.publicKey()) + bare, 2222),
    /changed/,
  );
  // ...and a key revoked there stays refused.
  await assert.rejects(at(line("@revoked [server.example]:2222", host.publicKey()) + bare, 2222));
  await assert.rejects(
    at(
      line("@revoked [server.example]:2222", ca.publicKey()) + wildCA,
      2222,
      certFor("server.example").blob,
    ),
    /revoked/,
  );
  // Refused under the bare name too: still not known on this port.
  await assert.rejects(at(line("server.example", other.publicKey()), 2222), /not known/);
  // The address on the port listing another key keeps the bare name out.
  await assert.rejects(
    (async () =>
      (await knownHostsVerifier({ text: bare + line("[192.0.2.1]:2222", other.publicKey()) }))({
        host: "server.example",
        port: 2222,
        address: "192.0.2.1",
        keyBlob: host.publicKey().publicBlob,
      } as never))(),
  );
});

test("off port 22, with nothing listed as [host]:port, the bare name's key types come first", async () => {
  const ec = generatePrivateKey("ecdsa").publicKey();
  const v = await knownHostsVerifier({ text: line("server.example", ec) });
  const at22 = v.hostKeyAlgorithms("server.example", 22);
  assert.deepEqual(v.hostKeyAlgorithms("server.example", 2222), at22);
  assert.ok(at22.findIndex((a) => a.startsWith("ecdsa")) < at22.indexOf("ssh-ed25519"));
  // What [host]:port lists wins.
  const v2 = await knownHostsVerifier({
    text: line("server.example", ec) + line("[server.example]:2222", host.publicKey()),
  });
  const at2222 = v2.hostKeyAlgorithms("server.example", 2222);
  assert.ok(at2222.indexOf("ssh-ed25519") < at2222.findIndex((a) => a.startsWith("ecdsa")));
});

test("a key not known says which known_hosts files do not exist", async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "sshts-kh-"));
  try {
    const there = join(dir, "known_hosts");
    writeFileSync(there, line("other.example", generatePrivateKey("ed25519")));
    const typo = join(dir, "known_host");
    const info = { host: "server.example", port: 22, keyBlob: host.publicBlob } as never;
    const refusal = (files: string[]) =>
      (async () => (await knownHostsVerifier({ files }))(info))().then(
        () => "",
        (e: Error) => e.message,
      );
    assert.match(
      await refusal([typo]),
      /is not known.*\(no known_hosts file: .*known_host does not exist\)$/,
    );
    assert.match(await refusal([there, typo]), /is not known.*\(.*known_host does not exist\)$/);
    assert.doesNotMatch(await refusal([there]), /exist/);
    // A "~" path is named as the file looked for (GlobalKnownHostsFile ~/… was shown as is).
    const { homedir } = await import("node:os");
    const tilde = await refusal(["~/.sshts-no-such-known-hosts"]);
    assert.ok(tilde.includes(`${homedir()}/.sshts-no-such-known-hosts does not exist`), tilde);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
