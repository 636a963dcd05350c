/**
 * OpenSSH's own `ssh` (9.2 here, 10.x from the trixie tree) logs in to our server once
 * per algorithm it offers (`ssh -Q`), forcing that algorithm: every kex (both post-quantum
 * hybrids included), cipher, MAC and host key algorithm we implement. What the client offers
 * and we do not implement must be on the list below, so a new algorithm shows up here.
 */
import assert from "node:assert/strict";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import { conformanceTest, runCommand, runTrixieCommand } from "./fixtures/mod.ts";
import {
  runSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
  type TestServer,
  testShell,
} from "./server_fixture.ts";

/** Offered by OpenSSH but not implemented here, and why. */
const NOT_IMPLEMENTED: Readonly<Record<string, string>> = {
  "ssh-dss": "DSA host keys cannot sign here",
  "webauthn-sk-ecdsa-sha2-nistp256@openssh.com": "a server cannot hold a FIDO host key",
  "sk-ssh-ed25519@openssh.com": "a server cannot hold a FIDO host key",
  "sk-ecdsa-sha2-nistp256@openssh.com": "a server cannot hold a FIDO host key",
};

/** Host key algorithms our keys (fixture ed25519, P-256, RSA + generated P-384, P-521) serve. */
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

let extraKeys: SSHKey[] | undefined;
function moreHostKeys(): SSHKey[] {
  return extraKeys ??= [
    generatePrivateKey("ecdsa-sha2-nistp384"),
    generatePrivateKey("ecdsa-sha2-nistp521"),
  ];
}

/** Our server with everything we implement enabled, legacy included. */
function everythingServer(): Promise<TestServer> {
  return startServer({
    kexAlgs: SUPPORTED_KEX,
    encryptionAlgs: SUPPORTED_CIPHERS,
    macAlgs: SUPPORTED_MACS,
    serverHostKeyAlgs: HOST_KEY_ALGORITHMS,
    processFactory: async (p) => {
      if (p.command !== "algorithms") return testShell(p);
      const info = p.connection!.getExtraInfo();
      await p.write(JSON.stringify({ ...info.algorithms, strictKex: info.strictKex }) + "\n");
    },
  }, moreHostKeys());
}

async function query(client: SshClient, what: string): Promise<string[]> {
  const r = client === "openssh-trixie"
    ? await runTrixieCommand(["ssh", "-Q", what], { check: true })
    : await runCommand(["ssh", "-Q", what], { check: true });
  return r.stdout.split("\n").filter((l) => l !== "");
}

const KINDS = [
  { kind: "kex", query: "kex", option: "KexAlgorithms", ours: SUPPORTED_KEX, field: "kex" },
  {
    kind: "cipher",
    query: "cipher",
    option: "Ciphers",
    ours: SUPPORTED_CIPHERS,
    field: "cipherC2S",
  },
  { kind: "MAC", query: "mac", option: "MACs", ours: SUPPORTED_MACS, field: "macC2S" },
  {
    kind: "host key algorithm",
    query: "HostKeyAlgorithms",
    option: "HostKeyAlgorithms",
    ours: HOST_KEY_ALGORITHMS,
    field: "hostKey",
  },
] as const;

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

/** Runs `fn` over items, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

for (const client of SSH_CLIENTS) {
  for (const k of KINDS) {
    conformanceTest(
      `OpenSSH ${VERSION[client]} ssh logs in to listen() with every ${k.kind} it offers`,
      { peers: [client] },
      async () => {
        const offered = await query(client, k.query);
        const missing = offered.filter((a) =>
          !(k.ours as readonly string[]).includes(a) && !a.endsWith("-cert-v01@openssh.com")
        );
        assert.deepEqual(
          missing.filter((a) => NOT_IMPLEMENTED[a] === undefined),
          [],
          "offered but neither implemented nor known to be missing",
        );
        const common = offered.filter((a) => (k.ours as readonly string[]).includes(a));
        assert.ok(common.length > 0);
        if (k.kind === "kex" && client === "openssh-trixie") {
          assert.ok(common.includes("mlkem768x25519-sha256"));
          assert.ok(common.includes("sntrup761x25519-sha512@openssh.com"));
        }
        await using server = await everythingServer();
        const failures: string[] = [];
        await eachLimited(common, 4, async (alg) => {
          const options = [`${k.option}=${alg}`];
          // AEAD ciphers carry their own integrity: a MAC is only used with CTR/CBC.
          if (k.kind === "MAC") options.push("Ciphers=aes128-ctr");
          const r = await runSsh(client, server, {
            identity: "ed25519",
            options,
            command: "algorithms",
          });
          try {
            assert.equal(r.status, 0, r.stderr);
            const negotiated = JSON.parse(r.stdout) as Record<string, string>;
            assert.equal(negotiated[k.field], alg);
          } catch (e) {
            failures.push(`${alg}: ${(e as Error).message}`);
          }
        });
        assert.deepEqual(failures, [], `tried ${common.join(", ")}`);
      },
    );
  }
}

for (const client of SSH_CLIENTS) {
  conformanceTest(
    `OpenSSH ${VERSION[client]} ssh negotiates strict kex and compression with listen()`,
    { peers: [client] },
    async () => {
      await using server = await everythingServer();
      for (const compression of ["no", "yes"]) {
        const r = await runSsh(client, server, {
          identity: "ed25519",
          options: [`Compression=${compression}`],
          command: "algorithms",
          args: ["-v"],
        });
        assert.equal(r.status, 0, r.stderr);
        const negotiated = JSON.parse(r.stdout) as Record<string, string | boolean>;
        assert.equal(negotiated.strictKex, true);
        assert.equal(
          negotiated.compressionC2S,
          compression === "yes" ? "zlib@openssh.com" : "none",
        );
        assert.match(r.stderr, /kex: ext-info|server-sig-algs/);
      }
    },
  );
}
