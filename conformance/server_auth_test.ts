/**
 * OpenSSH's `ssh` (9.2 and 10.x) and Dropbear's `dbclient` authenticate to our server by
 * ed25519, ecdsa and rsa keys (from `authorizedClientKeys`), password and keyboard-interactive;
 * wrong credentials are refused; authorized_keys options are enforced.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after } from "node:test";
import { generatePrivateKey } from "../keys/generate.ts";
import {
  conformanceTest,
  KEY_NAMES,
  runCommand,
  TEST_PASSWORD,
  TEST_USER,
} from "./fixtures/mod.ts";
import {
  authorizedKeysText,
  clientFile,
  keys,
  runSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
  type TestServer,
} from "./server_fixture.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

interface Info {
  command?: string;
  originalCommand?: string;
  term?: string;
  env: Record<string, string>;
  user: string;
  method?: string;
}

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh logs in to listen() with ed25519, ecdsa and rsa keys from authorizedClientKeys`,
    { peers: [client] },
    async () => {
      await using server = await startServer();
      for (const name of KEY_NAMES) {
        const r = await runSsh(client, server, {
          identity: name,
          options: ["PreferredAuthentications=publickey"],
          command: "info",
        });
        assert.equal(r.status, 0, `${name}: ${r.stderr}`);
        const info = JSON.parse(r.stdout) as Info;
        assert.equal(info.user, TEST_USER);
        assert.equal(info.method, "publickey");
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh logs in to listen() by password and by keyboard-interactive`,
    { peers: [client] },
    async () => {
      await using server = await startServer();
      for (const method of ["password", "keyboard-interactive"]) {
        const r = await runSsh(client, server, {
          password: TEST_PASSWORD,
          options: [`PreferredAuthentications=${method}`],
          command: "info",
        });
        assert.equal(r.status, 0, `${method}: ${r.stderr}`);
        assert.equal((JSON.parse(r.stdout) as Info).method, method);
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh answers a multi-prompt keyboard-interactive challenge from listen()`,
    { peers: [client] },
    async () => {
      const asked: string[] = [];
      await using server = await startServer({
        getKbdintChallenge: (user, submethods) => {
          asked.push(`${user}/${submethods}`);
          return {
            name: "Two factors",
            instruction: "Answer both",
            prompts: [{ prompt: "Password: ", echo: false }, {
              prompt: "Password again: ",
              echo: false,
            }],
          };
        },
        validateKbdintResponse: (_user, answers) =>
          answers.length === 2 && answers.every((a) => a === TEST_PASSWORD),
      });
      const r = await runSsh(client, server, {
        password: TEST_PASSWORD,
        options: ["PreferredAuthentications=keyboard-interactive"],
        command: "whoami",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${TEST_USER}\n`);
      assert.deepEqual(asked, [`${TEST_USER}/`]);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh is refused by listen() with a wrong password or an unknown key`,
    { peers: [client] },
    async () => {
      await using server = await startServer();
      for (const method of ["password", "keyboard-interactive"]) {
        const r = await runSsh(client, server, {
          password: "wrong",
          options: [`PreferredAuthentications=${method}`],
          command: "whoami",
        });
        assert.equal(r.status, 255);
        assert.match(r.stderr, /Permission denied/);
      }
      const stranger = generatePrivateKey("ed25519");
      const r = await runSsh(client, server, {
        identity: {
          name: "ed25519",
          keyType: "ssh-ed25519",
          algorithms: ["ssh-ed25519"],
          privateKeyPath: "",
          privateKeyText: stranger.exportPrivateKey("openssh"),
          publicKeyLine: stranger.exportPublicKey("openssh").trim(),
          fingerprint: stranger.getFingerprint(),
        },
        options: ["PreferredAuthentications=publickey"],
        command: "whoami",
        user: "stranger",
      });
      assert.equal(r.status, 255);
      assert.match(r.stderr, /Permission denied \(publickey,keyboard-interactive,password\)/);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh gets authorized_keys command, environment and no-pty applied by listen()`,
    { peers: [client] },
    async () => {
      const authorizedClientKeys = await authorizedKeysText(
        'command="info",environment="FORCED=yes",no-pty',
      );
      // Even with every name accepted, the client sets neither environment='s nor the server's.
      await using server = await startServer({
        authorizedClientKeys,
        acceptEnv: ["*"],
        permitUserEnvironment: true,
      });
      const r = await runSsh(client, server, {
        identity: "ecdsa-p256",
        options: ["SetEnv=CLIENT=sent FORCED=no SSH_ORIGINAL_COMMAND=id"],
        command: "rm -rf /",
      });
      assert.equal(r.status, 0, r.stderr);
      const info = JSON.parse(r.stdout) as Info;
      assert.equal(info.command, "info");
      assert.equal(info.originalCommand, "rm -rf /");
      assert.equal(info.env.SSH_ORIGINAL_COMMAND, "rm -rf /");
      assert.equal(info.env.FORCED, "yes");
      assert.equal(info.env.CLIENT, "sent");
      // By default, as sshd's AcceptEnv and PermitUserEnvironment, no client variable reaches
      // the forced command, and the key's environment= does only where permitted.
      await using strict = await startServer({
        authorizedClientKeys,
        permitUserEnvironment: ["FORCED"],
      });
      const d = await runSsh(client, strict, {
        identity: "ecdsa-p256",
        options: ["SetEnv=CLIENT=sent LD_PRELOAD=/tmp/x.so"],
        command: "rm -rf /",
      });
      assert.equal(d.status, 0, d.stderr);
      assert.deepEqual((JSON.parse(d.stdout) as Info).env, {
        FORCED: "yes",
        SSH_ORIGINAL_COMMAND: "rm -rf /",
      });
      // ssh -tt treats a refused pty as fatal.
      const tty = await runSsh(client, server, { identity: "ecdsa-p256", args: ["-tt"] });
      assert.equal(tty.status, 255);
      assert.match(tty.stderr, /PTY allocation request failed/);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh is refused by listen() when authorized_keys from=, expiry-time or principals= (on a plain key, as sshd) rule it out`,
    { peers: [client] },
    async () => {
      for (
        const [options, allowed] of [
          ['from="10.9.9.9"', false],
          ['from="127.0.0.0/8,!10.*"', true],
          ['expiry-time="20000101"', false],
          ['expiry-time="29991231"', true],
          // sshd: "principals on non-CA key" denies the line.
          ['principals="sshtest"', false],
        ] as const
      ) {
        await using server = await startServer({
          authorizedClientKeys: await authorizedKeysText(options),
        });
        const r = await runSsh(client, server, { identity: "rsa-3072", command: "whoami" });
        assert.equal(r.status === 0, allowed, `${options}: ${r.stderr}`);
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh certificates from a cert-authority line are accepted by listen() for their principals only`,
    { peers: [client] },
    async () => {
      const m = await keys();
      const dir = mkdtempSync(join(tmpdir(), "sshts-cert-"));
      try {
        const ca = join(dir, "ca");
        await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ca], {
          check: true,
        });
        const user = m.clientKeys.find((k) => k.name === "ed25519")!;
        writeFileSync(join(dir, "id"), user.privateKeyText, { mode: 0o600 });
        writeFileSync(join(dir, "id.pub"), user.publicKeyLine + "\n");
        const caLine = readFileSync(`${ca}.pub`, "utf8").trim();
        await using server = await startServer({
          authorizedClientKeys: `cert-authority ${caLine}\n`,
        });
        const sshWithCert = async (principal: string) => {
          await runCommand(
            ["ssh-keygen", "-q", "-s", ca, "-I", "test", "-n", principal, join(dir, "id.pub")],
            { check: true },
          );
          return await runSsh(client, server, {
            identity: "ed25519",
            options: [
              `CertificateFile=${
                clientFile(
                  client,
                  `id_ed25519-${principal}-cert.pub`,
                  readFileSync(join(dir, "id-cert.pub"), "utf8"),
                )
              }`,
            ],
            command: "whoami",
          });
        };
        // The default policy (no validateCertificate hook) is sshd's: the CA line vouches
        // for certificates whose principals name the user.
        const ok = await sshWithCert(TEST_USER);
        assert.equal(ok.status, 0, ok.stderr);
        assert.equal(ok.stdout.trim(), TEST_USER);
        const wrong = await sshWithCert("somebody-else");
        assert.equal(wrong.status, 255, wrong.stdout);
        assert.match(wrong.stderr, /Permission denied/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh logs in to listen() with an ssh-keygen -s certificate of trustedUserCAKeys, refused once revokedKeys lists the CA or an ssh-keygen -k KRL its serial`,
    { peers: [client] },
    async () => {
      const m = await keys();
      const dir = mkdtempSync(join(tmpdir(), "sshts-user-ca-"));
      try {
        const ca = join(dir, "ca");
        await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ca], {
          check: true,
        });
        const user = m.clientKeys.find((k) => k.name === "ed25519")!;
        writeFileSync(join(dir, "id.pub"), user.publicKeyLine + "\n");
        const sign = async (principal: string, extra: readonly string[] = []) => {
          await runCommand(
            [
              "ssh-keygen",
              "-q",
              "-s",
              ca,
              "-I",
              "test",
              "-n",
              principal,
              ...extra,
              join(dir, "id.pub"),
            ],
            { check: true },
          );
          return clientFile(
            client,
            `id_ed25519-ca-${principal}${extra.length}-cert.pub`,
            readFileSync(join(dir, "id-cert.pub"), "utf8"),
          );
        };
        const good = await sign(TEST_USER);
        const wrong = await sign("somebody-else");
        const forced = await sign(TEST_USER, ["-O", "force-command=echo forced"]);
        const ssh = (server: TestServer, cert: string, command = "whoami") =>
          runSsh(client, server, {
            identity: "ed25519",
            options: [`CertificateFile=${cert}`, "PreferredAuthentications=publickey"],
            command,
          });
        // The CA from its .pub file; the user's plain key is in no authorized_keys.
        {
          await using server = await startServer({
            authorizedClientKeys: [],
            trustedUserCAKeys: `${ca}.pub`,
          });
          const ok = await ssh(server, good);
          assert.equal(ok.status, 0, ok.stderr);
          assert.equal(ok.stdout.trim(), TEST_USER);
          const no = await ssh(server, wrong);
          assert.equal(no.status, 255, no.stdout);
          assert.match(no.stderr, /Permission denied/);
          const f = await ssh(server, forced, "whoami");
          assert.equal(f.status, 0, f.stderr);
          assert.equal(f.stdout.trim(), "forced");
        }
        {
          await using server = await startServer({
            authorizedClientKeys: [],
            trustedUserCAKeys: `${ca}.pub`,
            revokedKeys: `${ca}.pub`,
          });
          const revoked = await ssh(server, good);
          assert.equal(revoked.status, 255, revoked.stdout);
          assert.match(revoked.stderr, /Permission denied/);
        }
        // A binary KRL from ssh-keygen -k revoking serial 5 of this CA: that certificate only.
        {
          const serial5 = await sign(TEST_USER, ["-z", "5", "-V", "always:forever"]);
          writeFileSync(join(dir, "krl.spec"), "serial: 5\n");
          await runCommand(
            [
              "ssh-keygen",
              "-k",
              "-f",
              join(dir, "revoked.krl"),
              "-s",
              `${ca}.pub`,
              join(dir, "krl.spec"),
            ],
            { check: true },
          );
          await using server = await startServer({
            authorizedClientKeys: [],
            trustedUserCAKeys: `${ca}.pub`,
            revokedKeys: join(dir, "revoked.krl"),
          });
          const revoked = await ssh(server, serial5);
          assert.equal(revoked.status, 255, revoked.stdout);
          assert.match(revoked.stderr, /Permission denied/);
          const ok = await ssh(server, good);
          assert.equal(ok.status, 0, ok.stderr);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

let dropbearDir: string | undefined;
after(() => {
  if (dropbearDir) rmSync(dropbearDir, { recursive: true, force: true });
});

/** A fixture client key in Dropbear's format. */
async function dropbearKey(name: string, text: string): Promise<string> {
  dropbearDir ??= mkdtempSync(join(tmpdir(), "sshts-dbclient-"));
  const src = join(dropbearDir, `${name}.openssh`);
  const dst = join(dropbearDir, `${name}.dropbear`);
  writeFileSync(src, text, { mode: 0o600 });
  await runCommand(["dropbearconvert", "openssh", "dropbear", src, dst], { check: true });
  return dst;
}

async function dbclient(port: number, args: readonly string[], env: Record<string, string> = {}) {
  dropbearDir ??= mkdtempSync(join(tmpdir(), "sshts-dbclient-"));
  return await runCommand(
    ["dbclient", "-y", "-y", "-p", String(port), ...args, `${TEST_USER}@127.0.0.1`, "info"],
    {
      env: { ...process.env as Record<string, string>, HOME: dropbearDir, ...env },
      timeoutMs: 30_000,
    },
  );
}

conformanceTest(
  "Dropbear dbclient logs in to listen() with ed25519, ecdsa and rsa keys and a password",
  { peers: ["dropbear"] },
  async () => {
    const m = await keys();
    await using server = await startServer();
    for (const k of m.clientKeys) {
      const r = await dbclient(server.port, ["-i", await dropbearKey(k.name, k.privateKeyText)]);
      assert.equal(r.status, 0, `${k.name}: ${r.stderr}`);
      assert.equal((JSON.parse(r.stdout) as Info).method, "publickey");
    }
    // dbclient answers keyboard-interactive prompts with DROPBEAR_PASSWORD too, and prefers it.
    const kbd = await dbclient(server.port, [], { DROPBEAR_PASSWORD: TEST_PASSWORD });
    assert.equal(kbd.status, 0, kbd.stderr);
    assert.equal((JSON.parse(kbd.stdout) as Info).method, "keyboard-interactive");
    await using passwordOnly = await startServer({ kbdintAuth: false });
    const r = await dbclient(passwordOnly.port, [], { DROPBEAR_PASSWORD: TEST_PASSWORD });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Info).method, "password");
    // dbclient exits 0 even when the server gives up on it; it never got to run the command.
    const wrong = await dbclient(passwordOnly.port, [], { DROPBEAR_PASSWORD: "wrong" });
    assert.equal(wrong.stdout, "");
    assert.match(wrong.stderr, /exited: Disconnect received/);
  },
);
