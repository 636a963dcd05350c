/**
 * connect({ revokedHostKeys }) as ssh's RevokedHostKeys, against our own server
 * on loopback: a revoked host key or host certificate (by its key, its CA, or
 * a KRL's serial or key ID) is refused before known_hosts or a verifier can
 * accept it, from key lists and from binary KRLs, given directly or by ssh_config.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { parseKRL } from "../../keys/trust/krl.ts";
import { certSection, krl, section, str, T, u64 } from "../../keys/trust/_krl_test_util.ts";
import { keygenTest } from "../../keys/_ssh_keygen_test_util.ts";
import { hostKeyFromSSHKey } from "../keys/signers.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";
import { connect } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");
const otherKey = generatePrivateKey("ed25519");
const hostCA = generatePrivateKey("ed25519");
const CERT_ALG = "ssh-ed25519-cert-v01@openssh.com";

function server(options: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return listen({
    port: 0,
    host: "127.0.0.1",
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
}

/** A server whose host key comes with a certificate from `hostCA`. */
function certServer(serial: bigint, keyId = "host"): Promise<SSHServer> {
  const cert = createCertificate({
    key: hostKey.publicKey(),
    caKey: hostCA,
    type: "host",
    keyId,
    principals: ["127.0.0.1"],
    serial,
  });
  return server({ hostKeys: [hostKeyFromSSHKey(hostKey, cert)] });
}

function login(s: SSHServer, o: ConnectOptions) {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "u",
    password: "p",
    config: false,
    agent: false,
    connectTimeout: 10_000,
    knownHosts: null,
    ...o,
  } as ConnectOptions);
}

const revoked = (e: Error & { code?: string }) =>
  e.code === "ERR_HOST_KEY_NOT_VERIFIABLE" && /revoked by revokedHostKeys/.test(e.message);

test("connect({ revokedHostKeys }) refuses a listed host key even with knownHosts: null or a verifier", async () => {
  await using s = await server();
  const dir = mkdtempSync(join(tmpdir(), "revoked-hosts-"));
  try {
    const file = join(dir, "revoked");
    writeFileSync(file, `# retired\n${otherKey.exportPublicKey()}${hostKey.exportPublicKey()}`);
    let asked = 0;
    for (
      const revokedHostKeys of [file, hostKey.exportPublicKey(), [hostKey.publicKey()], [file]]
    ) {
      await assert.rejects(login(s, { revokedHostKeys }), revoked);
      await assert.rejects(
        login(s, { revokedHostKeys, hostKeyVerifier: () => (asked++, true) }),
        revoked,
      );
      await assert.rejects(
        login(s, { revokedHostKeys, knownHosts: { trustedHostKeys: [hostKey.publicKey()] } }),
        revoked,
      );
    }
    assert.equal(asked, 0);
    // Another key revoked: this one is let through.
    await using conn = await login(s, { revokedHostKeys: [otherKey.publicKey()] });
    assert.equal(conn.getExtraInfo().username, "u");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("connect({ revokedHostKeys }) refuses a host certificate by its key, CA, serial or key ID", async () => {
  const byKRL = parseKRL(krl([
    certSection(
      hostCA.publicBlob,
      section(T.serialRange, u64(10n, 20n)),
      section(T.keyId, str("old")),
    ),
  ]));
  for (
    const [serial, keyId, revokedHostKeys] of [
      [1n, "host", [hostKey.publicKey()]],
      [1n, "host", [hostCA.publicKey()]],
      [15n, "host", byKRL],
      [0n, "old", byKRL],
    ] as const
  ) {
    await using s = await certServer(serial, keyId);
    await assert.rejects(
      login(s, {
        revokedHostKeys,
        serverHostKeyAlgs: [CERT_ALG],
        knownHosts: { trustedHostKeys: [], trustedCAKeys: [hostCA.publicKey()] },
      }),
      (e: Error & { code?: string }) => revoked(e) && /Host certificate/.test(e.message),
      `serial ${serial} id ${keyId}`,
    );
  }
  await using s = await certServer(21n);
  await using conn = await login(s, {
    revokedHostKeys: byKRL,
    serverHostKeyAlgs: [CERT_ALG],
    knownHosts: { trustedHostKeys: [], trustedCAKeys: [hostCA.publicKey()] },
  });
  assert.equal(conn.getExtraInfo().username, "u");
});

test("connect({ revokedHostKeys }) fails before connecting when the list cannot be read", async () => {
  await using s = await server();
  await assert.rejects(
    login(s, { revokedHostKeys: "/nonexistent/revoked_host_keys" }),
    (e: Error & { code?: string }) =>
      e.code === "ERR_KEY_IMPORT" && /Cannot load revokedHostKeys/.test(e.message),
  );
  await assert.rejects(
    login(s, { revokedHostKeys: krl([section(7)]) }),
    (e: Error & { code?: string }) =>
      e.code === "ERR_KEY_IMPORT" && /section type 7/.test(e.message),
  );
});

keygenTest(
  "connect() refuses a host key that ssh_config's RevokedHostKeys KRL revokes",
  async (k) => {
    await using s = await server();
    k.write("spec", `key: ${hostKey.exportPublicKey()}`);
    k.run(["-k", "-f", k.path("hosts.krl"), k.path("spec")]);
    assert.equal(parseKRL(readFileSync(k.path("hosts.krl"))).isRevoked(hostKey.publicKey()), true);
    const known = k.path("known_hosts");
    writeFileSync(known, `[127.0.0.1]:${s.address.port} ${hostKey.exportPublicKey()}`);
    const config = (revokedLine: string) =>
      k.write(
        "config",
        `Host app\n  HostName 127.0.0.1\n  Port ${s.address.port}\n  User u\n` +
          `  UserKnownHostsFile ${known}\n  GlobalKnownHostsFile none\n` +
          `  StrictHostKeyChecking no\n${revokedLine}`,
      );
    const opts = { password: "p", agent: false, connectTimeout: 10_000 } as const;
    // Known in known_hosts, StrictHostKeyChecking no, revoked by the KRL: refused.
    await assert.rejects(
      connect("app", { config: config(`  RevokedHostKeys ${k.path("hosts.krl")}\n`), ...opts }),
      revoked,
    );
    // A plain key list works the same.
    k.write("hosts.list", hostKey.exportPublicKey());
    await assert.rejects(
      connect("app", { config: config(`  RevokedHostKeys ${k.path("hosts.list")}\n`), ...opts }),
      revoked,
    );
    // Without RevokedHostKeys (or with "none") the known key is accepted.
    for (const line of ["", "  RevokedHostKeys none\n"]) {
      await using conn = await connect("app", { config: config(line), ...opts });
      assert.equal(conn.getExtraInfo().username, "u");
    }
  },
);
