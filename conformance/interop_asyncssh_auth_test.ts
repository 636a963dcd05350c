/**
 * AsyncSSH 2.10 (with pyOpenSSL, so it speaks X.509) against us for the
 * authentication and trust rows of #20, both ways:
 *
 * - its server asks our client for a password change (SSH_MSG_USERAUTH_PASSWD_CHANGEREQ;
 *   OpenSSH's sshd never sends it) and sends a banner from `begin_auth`: our
 *   `onPasswordChangeFailed` / `onPasswordChanged` / `onBanner`;
 * - its server presents an X.509 host certificate: our `x509TrustedCerts`;
 * - its client logs in to listen() with X.509 user certificates
 *   (x509v3-ecdsa-sha2-nistp256, x509v3-ssh-rsa) against `x509TrustedCerts`,
 *   by host-based auth against `knownClientHosts`, and through our server's
 *   password change with `sendAuthBanner`: its `password_changed` and
 *   `auth_banner_received` callbacks.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import {
  interopTest,
  PEERS_DIR,
  pythonFor,
  runDriver,
  startDriverServer,
} from "./interop_peers.ts";
import { connect } from "../io/client/connect.ts";
import { listen } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { formatKnownHostsLine } from "../keys/trust/known_hosts.ts";
import {
  generateX509CACertificate,
  generateX509HostCertificate,
  generateX509UserCertificate,
} from "../keys/x509/generate.ts";
import type { SSHKey } from "../keys/ssh_key.ts";

const dir = mkdtempSync(join(tmpdir(), "sshts-asyncssh-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: string): string {
  const p = join(dir, name);
  writeFileSync(p, data, { mode: 0o600 });
  return p;
}

const now = Date.now();
const rootKey = generatePrivateKey("ecdsa");
const root = generateX509CACertificate(rootKey, rootKey, "CN=Interop Root", { now });

function driver(mode: "client" | "server"): string[] {
  const py = pythonFor("asyncssh");
  if (py === null) throw new Error("python3 cannot import asyncssh");
  return [py, "-W", "ignore", join(PEERS_DIR, "asyncssh_auth_peer.py"), mode];
}

interface Result {
  id: string;
  ok: boolean;
  error?: string;
  output?: string;
  events?: string[];
}

interopTest(
  "AsyncSSH's server: password change outcome, dynamic banner and an X.509 host key reach our client",
  { tools: ["asyncssh"] },
  async () => {
    const plainHost = generatePrivateKey("ed25519");
    const x509HostKey = generatePrivateKey("ecdsa");
    const hostCert = generateX509HostCertificate(rootKey, x509HostKey, "CN=asyncssh", {
      now,
      issuerCertificate: root,
      principals: ["127.0.0.1"],
    });
    await using peer = await startDriverServer(driver("server"), {
      hostKeys: [
        [file("plain_host", plainHost.exportPrivateKey("openssh")), null],
        [
          file("x509_host", x509HostKey.exportPrivateKey("openssh")),
          file("x509_host.pem", hostCert.exportPem() + root.exportPem()),
        ],
      ],
    });
    const base = {
      port: peer.port,
      username: "alice",
      agent: false as const,
      clientKeys: [],
      config: false as const,
      connectTimeout: 20_000,
    };
    // A retry, then an accepted change; banners from begin_auth.
    const events: string[] = [];
    const offers = ["retry", "good-new"];
    {
      await using conn = await connect("127.0.0.1", {
        ...base,
        knownHosts: null,
        password: "old",
        passwordChange: (prompt) => {
          events.push(`prompt:${prompt}`);
          return { oldPassword: "old", newPassword: offers.shift()! };
        },
        onPasswordChanged: () => events.push("changed"),
        onPasswordChangeFailed: (r) => events.push(`failed:${r.reason}`),
        onBanner: (m) => events.push(`banner:${m.trim()}`),
      });
      const r = await conn.run("whoami", { check: true, encoding: "utf8" });
      assert.equal(r.stdout, "alice\n");
    }
    assert.deepEqual(events, [
      "banner:AsyncSSH banner for alice",
      "prompt:Password expired, choose a new one:",
      "failed:retry",
      "prompt:Too weak, again:",
      "changed",
    ]);
    // A refused change.
    const refused: string[] = [];
    await assert.rejects(
      connect("127.0.0.1", {
        ...base,
        knownHosts: null,
        password: "old",
        passwordChange: () => ({ oldPassword: "old", newPassword: "nope" }),
        onPasswordChangeFailed: (r) => refused.push(r.reason),
      }),
      (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
    );
    assert.deepEqual(refused, ["refused"]);
    // Its X.509 host certificate, checked by x509TrustedCerts (x509 algorithms offered first).
    {
      await using conn = await connect("127.0.0.1", {
        ...base,
        knownHosts: { text: "" },
        x509TrustedCerts: [root],
        password: "good-new",
      });
      assert.equal(conn.getExtraInfo().algorithms?.hostKey, "x509v3-ecdsa-sha2-nistp256");
    }
    const stranger = generateX509CACertificate(plainHost, plainHost, "CN=Stranger", { now });
    await assert.rejects(
      connect("127.0.0.1", {
        ...base,
        knownHosts: { text: "" },
        x509TrustedCerts: [stranger],
        password: "good-new",
      }),
      (e: Error & { code?: string }) => e.code === "ERR_HOST_KEY_NOT_VERIFIABLE",
    );
  },
);

function userCert(key: SSHKey, principals: string[], purposes?: string): string {
  const cert = generateX509UserCertificate(rootKey, key, "CN=alice", {
    now,
    issuerCertificate: root,
    principals,
    ...(purposes ? { purposes } : {}),
  });
  return cert.exportPem() + root.exportPem();
}

interopTest(
  "AsyncSSH's client logs in to listen() by X.509 certificates, hostbased and a password change",
  { tools: ["asyncssh"] },
  async () => {
    const clientHost = generatePrivateKey("ecdsa");
    const otherHost = generatePrivateKey("ecdsa");
    const banners: string[] = [];
    await using server = await listen({
      port: 0,
      hostKeys: [generatePrivateKey("ed25519")],
      authFailureDelay: 0,
      x509TrustedCerts: [root.exportPem()],
      knownClientHosts: { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) },
      beginAuth: (user, conn) => {
        conn.sendAuthBanner(`our banner for ${user}\n`);
        banners.push(user);
        return true;
      },
      validatePassword: (_u, pw) => pw === "old" ? { changePassword: "Expired:" } : false,
      changePassword: (_u, oldPw, newPw) =>
        oldPw !== "old"
          ? false
          : newPw === "retry"
          ? { changePassword: "Again:" }
          : newPw === "good-new",
      processFactory: async (p) => {
        await p.write(`${p.connection?.username} ${p.connection?.authMethod}\n`);
        p.exit(0);
      },
    });
    const ecdsa = generatePrivateKey("ecdsa");
    const rsa = generatePrivateKey("rsa", { keySize: 2048 });
    const bob = generatePrivateKey("ecdsa");
    const hostPurpose = generatePrivateKey("ecdsa");
    const cases = [
      {
        id: "x509-ecdsa",
        auth: "x509",
        key: file("ecdsa", ecdsa.exportPrivateKey("openssh")),
        certs: file("ecdsa.pem", userCert(ecdsa, ["alice"])),
      },
      {
        id: "x509-rsa",
        auth: "x509",
        key: file("rsa", rsa.exportPrivateKey("openssh")),
        certs: file("rsa.pem", userCert(rsa, [])),
      },
      {
        id: "x509-other-user",
        auth: "x509",
        key: file("bob", bob.exportPrivateKey("openssh")),
        certs: file("bob.pem", userCert(bob, ["bob"])),
      },
      {
        id: "x509-host-purpose",
        auth: "x509",
        key: file("hp", hostPurpose.exportPrivateKey("openssh")),
        certs: file("hp.pem", userCert(hostPurpose, ["alice"], "secureShellServer")),
      },
      {
        id: "hostbased",
        auth: "hostbased",
        hostKey: file("client_host", clientHost.exportPrivateKey("openssh")),
        clientHost: "client.example",
        clientUser: "alice",
      },
      {
        id: "hostbased-unknown",
        auth: "hostbased",
        hostKey: file("other_host", otherHost.exportPrivateKey("openssh")),
        clientHost: "client.example",
        clientUser: "alice",
      },
      { id: "password-change", auth: "password-change", offers: ["retry", "good-new"] },
    ];
    const { results, stderr } = await runDriver(driver("client"), {
      port: server.address.port,
      user: "alice",
      cases,
    });
    const by = new Map((results as unknown as Result[]).map((r) => [r.id, r]));
    const ok = (id: string, method: string) => {
      const r = by.get(id);
      assert.ok(r?.ok, `${id}: ${r?.error ?? "no result"}\n${stderr}`);
      assert.equal(r.output, `alice ${method}\n`, id);
    };
    ok("x509-ecdsa", "publickey");
    ok("x509-rsa", "publickey");
    ok("hostbased", "hostbased");
    ok("password-change", "password");
    for (const id of ["x509-other-user", "x509-host-purpose", "hostbased-unknown"]) {
      assert.equal(by.get(id)?.ok, false, `${id} should be refused`);
      assert.match(by.get(id)!.error!, /PermissionDenied/, id);
    }
    assert.deepEqual(by.get("password-change")!.events, [
      "banner:our banner for alice",
      "prompt:Expired:",
      "failed",
      "prompt:Again:",
      "changed",
    ]);
    assert.ok(banners.length >= cases.length);
  },
);
