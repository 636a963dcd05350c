/**
 * Trust options of listen() and connect() from AsyncSSH (#20), our client
 * against our server on loopback: `knownClientHosts` / `trustClientHost` for
 * host-based authentication, and X.509 trust (`x509TrustedCerts`,
 * `x509TrustedCertPaths`, `x509Purposes`) for x509v3-* client and host keys.
 * OpenSSH has no X.509 support, so no real peer can take part in those; the
 * host-based rows also run against OpenSSH's `ssh` in
 * conformance/server_known_client_hosts_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { formatKnownHostsLine } from "../../keys/trust/known_hosts.ts";
import {
  generateX509CACertificate,
  generateX509HostCertificate,
  generateX509UserCertificate,
} from "../../keys/x509/generate.ts";
import { X509KeyPair } from "../../keys/x509/ssh.ts";
import { clientKeyFromSSHKey, hostKeyFromX509 } from "../keys/signers.ts";
import { connect } from "../client/connect.ts";
import type { ConnectOptions } from "../client/options.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";

const hostKey = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions>): Promise<SSHServer> {
  return listen({ port: 0, hostKeys: [hostKey], authFailureDelay: 0, ...options });
}

function login(s: SSHServer, options: ConnectOptions = {}) {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    connectTimeout: 10_000,
    ...options,
  });
}

const denied = (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED";

// ---- host-based: knownClientHosts ----

const clientHost = generatePrivateKey("ecdsa");

function hostBased(key: SSHKey, localUsername = "alice", localHostname = "client.example") {
  return { hostKey: clientKeyFromSSHKey(key), localHostname, localUsername };
}

test("listen() knownClientHosts lets in a client host listed under its address", async () => {
  await using s = await server({
    knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
  });
  await using conn = await login(s, { hostBased: hostBased(clientHost) });
  assert.equal(s.getConnections()[0]!.authMethod, "hostbased");
  assert.ok(conn);
});

test("listen() refuses host-based logins signed with an algorithm signatureAlgs leaves out", async () => {
  await using s = await server({
    knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
    signatureAlgs: ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"], // no ECDSA
  });
  await assert.rejects(login(s, { hostBased: hostBased(clientHost) }), denied);
});

test("listen() knownClientHosts refuses an unlisted host key before the hook is asked", async () => {
  let asked = 0;
  await using s = await server({
    knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
    validateHostBasedUser: () => (asked++, true),
  });
  await assert.rejects(login(s, { hostBased: hostBased(generatePrivateKey("ecdsa")) }), denied);
  assert.equal(asked, 0);
});

test("listen() knownClientHosts without a hook wants the same user name on both hosts", async () => {
  await using s = await server({
    knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
  });
  await assert.rejects(login(s, { hostBased: hostBased(clientHost, "mallory") }), denied);
});

test("listen() knownClientHosts then validateHostBasedUser decides the user", async () => {
  const seen: string[] = [];
  await using s = await server({
    knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
    validateHostBasedUser: (user, client) => {
      seen.push(`${user}<-${client.username}@${client.hostname}`);
      return client.username === "bob";
    },
  });
  await using _c = await login(s, { hostBased: hostBased(clientHost, "bob") });
  assert.deepEqual(seen, ["alice<-bob@client.example."]);
});

test("listen() trustClientHost looks the host up by the name it sends, not its address", async () => {
  const text = formatKnownHostsLine(["client.example"], 22, clientHost);
  {
    await using s = await server({ knownClientHosts: { text } });
    // By address (the default), the name-only line does not match.
    await assert.rejects(login(s, { hostBased: hostBased(clientHost) }), denied);
  }
  await using s = await server({ knownClientHosts: { text }, trustClientHost: true });
  await using _c = await login(s, { hostBased: hostBased(clientHost) });
  await assert.rejects(
    login(s, { hostBased: hostBased(clientHost, "alice", "other.example") }),
    denied,
  );
});

test("listen() trustClientHost: a key listed under the client's address vouches for no claimed name", async () => {
  // sshd's HostbasedUsesNameFromPacketOnly looks up the name from the packet only: a host
  // whose key is known for its address must not pass as another host the hook trusts.
  const admin = generatePrivateKey("ed25519");
  const seen: string[] = [];
  await using s = await server({
    knownClientHosts: {
      text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) +
        formatKnownHostsLine(["adminbox"], 22, admin),
    },
    trustClientHost: true,
    validateHostBasedUser: (_user, client) => (seen.push(client.hostname), true),
  });
  await assert.rejects(login(s, { hostBased: hostBased(clientHost, "alice", "adminbox") }), denied);
  await using _c = await login(s, { hostBased: hostBased(admin, "alice", "adminbox") });
  assert.deepEqual(seen, ["adminbox."]);
});

test("listen() trustClientHost: a CA listed under the client's address certifies no claimed name", async () => {
  const ca = generatePrivateKey("ed25519");
  const certified = generatePrivateKey("ed25519");
  const cert = createCertificate({
    key: certified,
    caKey: ca,
    type: "host",
    keyId: "client",
    principals: ["adminbox"],
  });
  await using s = await server({
    knownClientHosts: {
      text: formatKnownHostsLine(["127.0.0.1"], 22, ca, { marker: "cert-authority" }),
    },
    trustClientHost: true,
  });
  await assert.rejects(
    login(s, {
      hostBased: {
        hostKey: clientKeyFromSSHKey(certified, cert),
        localHostname: "adminbox",
        localUsername: "alice",
      },
    }),
    denied,
  );
});

test("listen() knownClientHosts without a hook lets no one in as root, as sshd's hosts.equiv", async () => {
  await using s = await server({
    knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
  });
  await assert.rejects(
    login(s, { username: "root", hostBased: hostBased(clientHost, "root") }),
    denied,
  );
  await assert.rejects(login(s, { username: "", hostBased: hostBased(clientHost, "") }), denied);
});

test("listen() knownClientHosts takes @cert-authority host certificates and @revoked keys", async () => {
  const ca = generatePrivateKey("ed25519");
  const certified = generatePrivateKey("ed25519");
  const cert = createCertificate({
    key: certified,
    caKey: ca,
    type: "host",
    keyId: "client",
    principals: ["127.0.0.1"],
  });
  const certPair = clientKeyFromSSHKey(certified, cert);
  const text = formatKnownHostsLine(["127.0.0.1"], 22, ca, { marker: "cert-authority" }) + "\n" +
    formatKnownHostsLine(["*"], 22, clientHost, { marker: "revoked" }) + "\n" +
    formatKnownHostsLine(["127.0.0.1"], 22, clientHost) + "\n";
  const dir = mkdtempSync(join(tmpdir(), "sshts-kch-"));
  try {
    const path = join(dir, "ssh_known_hosts");
    writeFileSync(path, text);
    await using s = await server({ knownClientHosts: path });
    await using _c = await login(s, {
      hostBased: { hostKey: certPair, localHostname: "client.example", localUsername: "alice" },
    });
    await assert.rejects(login(s, { hostBased: hostBased(clientHost) }), denied);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- X.509 ----

const now = Date.now();
const rootKey = generatePrivateKey("ecdsa");
const root = generateX509CACertificate(rootKey, rootKey, "CN=Parity Root", { now });
const otherRoot = generateX509CACertificate(hostKey, hostKey, "CN=Other Root", { now });

function userPair(
  kind: "ecdsa" | "rsa" | "ed25519",
  options: { principals?: string[]; purposes?: string; subject?: string } = {},
): X509KeyPair {
  const key = generatePrivateKey(kind, kind === "rsa" ? { keySize: 2048 } : undefined);
  const { subject = "CN=alice", ...rest } = options;
  const cert = generateX509UserCertificate(rootKey, key, subject, {
    now,
    issuerCertificate: root,
    ...rest,
  });
  return new X509KeyPair(key, [cert, root]);
}

test("listen() x509TrustedCerts lets in x509v3-ecdsa and x509v3-ssh-rsa client keys", async () => {
  await using s = await server({ x509TrustedCerts: [root.exportPem()] });
  const ecdsa = userPair("ecdsa", { principals: ["alice"] });
  assert.equal(ecdsa.keyType, "x509v3-ecdsa-sha2-nistp256");
  await using _a = await login(s, { clientKeys: [ecdsa] });
  const rsaPair = userPair("rsa");
  const rsa = new X509KeyPair(rsaPair.key, rsaPair.chain, "x509v3-ssh-rsa");
  assert.equal(rsa.keyType, "x509v3-ssh-rsa");
  await using _b = await login(s, { clientKeys: [rsa] });
  const conns = s.getConnections();
  assert.deepEqual(conns.map((c) => c.authMethod), ["publickey", "publickey"]);
});

test("listen() refuses X.509 client keys from another CA, for another user, or without trust", async () => {
  const stranger = (() => {
    const key = generatePrivateKey("ecdsa");
    const cert = generateX509UserCertificate(hostKey, key, "CN=x", {
      now,
      issuerCertificate: otherRoot,
    });
    return new X509KeyPair(key, [cert, otherRoot]);
  })();
  {
    await using s = await server({ x509TrustedCerts: [root] });
    await assert.rejects(login(s, { clientKeys: [stranger] }), denied);
    await assert.rejects(
      login(s, { clientKeys: [userPair("ecdsa", { principals: ["bob"] })] }),
      denied,
    );
  }
  {
    // A certificate that names no user is for none: not for whoever logs in with it (as
    // AsyncSSH, its common name stands in for the user principals when it has no
    // subjectAltName; sshd refuses a trusted CA's certificate without principals).
    await using s = await server({ x509TrustedCerts: [root] });
    await assert.rejects(
      login(s, { clientKeys: [userPair("ecdsa", { subject: "CN=mallory, O=Example" })] }),
      denied,
    );
    await using _ok = await login(s, {
      clientKeys: [userPair("ecdsa", { subject: "CN=alice, O=Example" })],
    });
  }
  // No trusted certificates: X.509 keys are not taken, even with a permissive hook.
  await using s = await server({ validatePublicKey: () => true });
  await assert.rejects(login(s, { clientKeys: [userPair("ecdsa")] }), denied);
});

test("listen() revokedKeys refuses an X.509 client key whose certificate's key or issuer is revoked", async () => {
  const pair = userPair("ecdsa");
  const trust = { x509TrustedCerts: [root] };
  for (const revoked of [pair.key, rootKey]) {
    await using s = await server({ ...trust, revokedKeys: [revoked.publicKey()] });
    await assert.rejects(login(s, { clientKeys: [pair] }), denied);
  }
  // A list that revokes neither lets it in.
  await using s = await server({ ...trust, revokedKeys: [generatePrivateKey("ed25519")] });
  await using _c = await login(s, { clientKeys: [pair] });
});

test("listen() x509Purposes: a host-purpose certificate is refused by default, taken with 'any'", async () => {
  const serverPurpose = userPair("ecdsa", { purposes: "secureShellServer" });
  {
    await using s = await server({ x509TrustedCerts: [root] });
    await assert.rejects(login(s, { clientKeys: [serverPurpose] }), denied);
  }
  {
    await using s = await server({ x509TrustedCerts: [root], x509Purposes: "any" });
    await using _c = await login(s, { clientKeys: [serverPurpose] });
  }
  await using s = await server({
    x509TrustedCerts: [root],
    x509Purposes: ["secureShellClient", "secureShellServer"],
  });
  await using _c = await login(s, { clientKeys: [serverPurpose] });
});

test("listen() x509TrustedCertPaths reads a PEM file and a directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-x509-"));
  try {
    writeFileSync(join(dir, "root.pem"), root.exportPem());
    writeFileSync(join(dir, "README"), "not a certificate\n");
    for (const paths of [[join(dir, "root.pem")], [dir]]) {
      await using s = await server({ x509TrustedCertPaths: paths });
      await using _c = await login(s, { clientKeys: [userPair("ed25519")] });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function x509Server(purposes?: string) {
  const leafKey = generatePrivateKey("ecdsa");
  const leaf = generateX509HostCertificate(rootKey, leafKey, "CN=loopback", {
    now,
    issuerCertificate: root,
    principals: ["127.0.0.1"],
    ...(purposes ? { purposes } : {}),
  });
  return server({
    hostKeys: [hostKeyFromX509(new X509KeyPair(leafKey, [leaf, root])), hostKey],
    beginAuth: () => false,
  });
}

test("connect() x509TrustedCerts offers X.509 host keys first and checks their chain", async () => {
  await using s = await x509Server();
  await using conn = await login(s, { x509TrustedCerts: [root], knownHosts: { text: "" } });
  assert.equal(conn.getExtraInfo().algorithms?.hostKey, "x509v3-ecdsa-sha2-nistp256");
  await assert.rejects(
    login(s, { x509TrustedCerts: [otherRoot], knownHosts: { text: "" } }),
    (e: Error & { code?: string }) => e.code === "ERR_HOST_KEY_NOT_VERIFIABLE",
  );
});

test("connect() revokedHostKeys refuses an X.509 host key whose certificate's key or issuer is revoked", async () => {
  const leafKey = generatePrivateKey("ecdsa");
  const leaf = generateX509HostCertificate(rootKey, leafKey, "CN=loopback", {
    now,
    issuerCertificate: root,
    principals: ["127.0.0.1"],
  });
  await using s = await server({
    hostKeys: [hostKeyFromX509(new X509KeyPair(leafKey, [leaf, root]))],
    beginAuth: () => false,
  });
  const options = { x509TrustedCerts: [root], knownHosts: { text: "" } };
  for (const revoked of [leafKey, rootKey]) {
    await assert.rejects(
      login(s, { ...options, revokedHostKeys: [revoked.publicKey()] }),
      (e: Error & { code?: string }) =>
        e.code === "ERR_HOST_KEY_NOT_VERIFIABLE" && /revoked by revokedHostKeys/.test(e.message),
    );
  }
  await using conn = await login(s, { ...options, revokedHostKeys: [hostKey.publicKey()] });
  assert.equal(conn.getExtraInfo().algorithms?.hostKey, "x509v3-ecdsa-sha2-nistp256");
});

test("connect() x509TrustedCertPaths and x509Purposes", async () => {
  await using s = await x509Server("secureShellClient");
  const dir = mkdtempSync(join(tmpdir(), "sshts-x509c-"));
  try {
    const path = join(dir, "root.pem");
    writeFileSync(path, root.exportPem());
    // A certificate for the wrong purpose is refused by default ...
    await assert.rejects(
      login(s, { x509TrustedCertPaths: [path], knownHosts: { text: "" } }),
      (e: Error & { code?: string }) => e.code === "ERR_HOST_KEY_NOT_VERIFIABLE",
    );
    // ... and taken when that purpose is allowed.
    await using conn = await login(s, {
      x509TrustedCertPaths: [path],
      x509Purposes: ["secureShellServer", "secureShellClient"],
      knownHosts: { text: "" },
    });
    assert.equal(conn.getExtraInfo().algorithms?.hostKey, "x509v3-ecdsa-sha2-nistp256");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
