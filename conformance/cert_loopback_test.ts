/**
 * OpenSSH certificates end to end between our own client and server on
 * loopback: a host certificate checked through a known_hosts `@cert-authority`
 * line, and a user certificate checked through an authorized_keys
 * `cert-authority` line — with nothing but the public io/ and keys/ API.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../io/client/connect.ts";
import { clientKeyFromSSHKey, hostKeyFromSSHKey, hostKeyFromX509 } from "../io/keys/signers.ts";
import { x509HostKeyVerifier } from "../io/keys/x509_verifier.ts";
import { listen } from "../io/server/listen.ts";
import { SSHError } from "../core/errors.ts";
import { parseAuthorizedKeys } from "../keys/trust/authorized_keys.ts";
import {
  generateHostCertificate,
  generateUserCertificate,
} from "../keys/certificates/certificate.ts";
import { checkAuthorizedKey } from "../keys/trust/certificate_policy.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import { formatKnownHostsLine } from "../keys/trust/known_hosts.ts";
import { generateX509CACertificate, generateX509HostCertificate } from "../keys/x509/generate.ts";
import { X509KeyPair } from "../keys/x509/ssh.ts";

/** Process output as text, whichever form run() gives it in. */
const text = (b: string | Uint8Array): string =>
  typeof b === "string" ? b : new TextDecoder().decode(b);

const hostCa = generatePrivateKey("ed25519");
const userCa = generatePrivateKey("ecdsa");
const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519");
const hostCert = generateHostCertificate(hostCa, hostKey, "loopback", {
  principals: ["127.0.0.1", "localhost"],
});
const authorized = parseAuthorizedKeys(
  `cert-authority,principals="ops" ${userCa.exportPublicKey()}`,
);

async function withServer(
  fn: (port: number) => Promise<void>,
  served = hostCert,
): Promise<void> {
  await using server = await listen({
    port: 0,
    hostKeys: [hostKeyFromSSHKey(hostKey, served), hostKeyFromSSHKey(hostKey)],
    validateCertificate: (username, c, conn) =>
      checkAuthorizedKey(c.certificateBlob, {
        username,
        authorizedKeys: authorized,
        client: {
          host: conn.remoteAddress ?? "",
          addr: (conn.remoteAddress ?? "").replace(/^::ffff:/, ""),
          now: Date.now(),
        },
      }),
    processFactory: async (p) => {
      await p.write(`ran ${p.command}\n`);
    },
  });
  await fn(server.address.port);
}

test("connect() accepts a CA-signed host certificate and logs in with a user certificate", async () => {
  await withServer(async (port) => {
    const cert = generateUserCertificate(userCa, userKey, "ops-key", { principals: ["ops"] });
    const knownHosts = formatKnownHostsLine("127.0.0.1", port, hostCa, {
      marker: "cert-authority",
    });
    await using conn = await connect("127.0.0.1", {
      port,
      username: "deploy",
      clientKeys: [new SSHKeyPair(userKey, cert)],
      knownHosts: { text: knownHosts },
    });
    const info = conn.getExtraInfo();
    assert.equal(info.algorithms?.hostKey, "ssh-ed25519-cert-v01@openssh.com");
    assert.deepEqual(info.hostKeyBlob, hostCert.blob);
    const r = await conn.run("id", { check: true });
    assert.equal(text(r.stdout), "ran id\n");
  });
});

test("connect() falls back to the certified key when no CA vouches for the host", async () => {
  await withServer(async (port) => {
    const cert = generateUserCertificate(userCa, userKey, "ops-key", { principals: ["ops"] });
    const plain = formatKnownHostsLine("127.0.0.1", port, hostKey);
    await using conn = await connect("127.0.0.1", {
      port,
      username: "deploy",
      clientKeys: [clientKeyFromSSHKey(userKey, cert)],
      knownHosts: { text: plain },
    });
    assert.equal(text((await conn.run("x", { check: true })).stdout), "ran x\n");
  });
});

test("connect() refuses a host certificate from an unknown CA or for another host", async () => {
  await withServer(async (port) => {
    const cert = generateUserCertificate(userCa, userKey, "ops-key", { principals: ["ops"] });
    const stranger = generatePrivateKey("ed25519");
    for (
      const [text, pattern] of [
        [
          formatKnownHostsLine("127.0.0.1", port, stranger, { marker: "cert-authority" }),
          /not known/,
        ],
        [
          formatKnownHostsLine("127.0.0.1", port, hostCa, { marker: "cert-authority" }) +
          formatKnownHostsLine("127.0.0.1", port, hostCa, { marker: "revoked" }),
          // As ssh: a revoked CA revokes what it signed (no fall back to the plain key).
          /which is revoked in known_hosts/,
        ],
      ] as const
    ) {
      await assert.rejects(
        connect("127.0.0.1", {
          port,
          username: "deploy",
          clientKeys: [new SSHKeyPair(userKey, cert)],
          knownHosts: { text },
        }),
        (e: unknown) =>
          e instanceof SSHError && e.code === "ERR_HOST_KEY_NOT_VERIFIABLE" &&
          pattern.test(e.message),
      );
    }
  });
});

test("connect() refuses a host certificate that does not name the host", async () => {
  const other = generateHostCertificate(hostCa, hostKey, "x", { principals: ["other.example"] });
  await withServer(async (port) => {
    await assert.rejects(
      connect("127.0.0.1", {
        port,
        username: "deploy",
        password: "x",
        knownHosts: {
          text: formatKnownHostsLine("127.0.0.1", port, hostCa, { marker: "cert-authority" }),
        },
      }),
      (e: unknown) =>
        e instanceof SSHError && e.code === "ERR_HOST_KEY_NOT_VERIFIABLE" &&
        /not valid for host '127.0.0.1'/.test(e.message),
    );
  }, other);
});

test("connect() is refused with a user certificate whose principals the server does not accept", async () => {
  await withServer(async (port) => {
    const cert = generateUserCertificate(userCa, userKey, "dev-key", { principals: ["dev"] });
    await assert.rejects(
      connect("127.0.0.1", {
        port,
        username: "deploy",
        clientKeys: [new SSHKeyPair(userKey, cert)],
        knownHosts: null,
      }),
      (e: unknown) => e instanceof SSHError && e.code === "ERR_PERMISSION_DENIED",
    );
  });
});

test("connect() checks an X.509 host certificate chain (RFC 6187) that listen() serves", async () => {
  const rootKey = generatePrivateKey("ecdsa");
  const root = generateX509CACertificate(rootKey, rootKey, "CN=Loopback Root", { now: Date.now() });
  const leafKey = generatePrivateKey("ed25519");
  const leaf = generateX509HostCertificate(rootKey, leafKey, "CN=loopback", {
    now: Date.now(),
    issuerCertificate: root,
    principals: ["127.0.0.1"],
  });
  await using server = await listen({
    port: 0,
    hostKeys: [hostKeyFromX509(new X509KeyPair(leafKey, [leaf, root]))],
    validatePassword: () => true,
    processFactory: async (p) => {
      await p.write(`x509 ${p.command}\n`);
    },
  });
  const port = server.address.port;
  await using conn = await connect("127.0.0.1", {
    port,
    username: "u",
    password: "p",
    serverHostKeyAlgs: ["x509v3-ssh-ed25519"],
    hostKeyVerifier: x509HostKeyVerifier([root]),
  });
  assert.equal(conn.getExtraInfo().algorithms?.hostKey, "x509v3-ssh-ed25519");
  assert.equal(text((await conn.run("ok", { check: true })).stdout), "x509 ok\n");
  const stranger = generateX509CACertificate(leafKey, leafKey, "CN=Other", { now: Date.now() });
  await assert.rejects(
    connect("127.0.0.1", {
      port,
      username: "u",
      password: "p",
      serverHostKeyAlgs: ["x509v3-ssh-ed25519"],
      hostKeyVerifier: x509HostKeyVerifier([stranger]),
    }),
    (e: unknown) => e instanceof SSHError && /not trusted/.test(e.message),
  );
});
