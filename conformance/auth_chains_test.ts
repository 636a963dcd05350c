/**
 * listen({ authenticationMethods }) with real clients that follow a partial success:
 * paramiko's Transport (publickey, then keyboard-interactive), and OpenSSH's `ssh` (a
 * key, then a password through SSH_ASKPASS).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { interopTest, pythonFor } from "./interop_peers.ts";
import { conformanceTest } from "./fixtures/mod.ts";
import { listen } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";

const dir = mkdtempSync(join(tmpdir(), "sshts-chains-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519");
const keyPath = join(dir, "id_ed25519");
writeFileSync(keyPath, userKey.exportPrivateKey("openssh"), { mode: 0o600 });

async function chained() {
  return await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys: [userKey.publicKey()],
    validatePassword: (_u, pw) => pw === "second-factor",
    getKbdintChallenge: () => ({ prompts: [{ prompt: "Code: ", echo: false }] }),
    validateKbdintResponse: (_u, answers) => answers[0] === "123456",
    authenticationMethods: [["publickey", "keyboard-interactive"], ["publickey", "password"]],
    processFactory: (p) => p.write(`in by ${p.connection?.authMethod}\n`),
  });
}

function run(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let out = "";
    child.stdout.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
    child.stderr.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

interopTest("paramiko: publickey is a partial success, keyboard-interactive completes the login", {
  tools: ["paramiko"],
}, async () => {
  await using s = await chained();
  const py = pythonFor("paramiko")!;
  const script = `
import paramiko, sys, socket
sock = socket.create_connection(("127.0.0.1", ${s.address.port}))
t = paramiko.Transport(sock)
t.start_client(timeout=20)
key = paramiko.Ed25519Key.from_private_key_file(${JSON.stringify(keyPath)})
left = t.auth_publickey("alice", key)
print("after key:", ",".join(sorted(left)), t.is_authenticated())
left = t.auth_interactive("alice", lambda title, instr, prompts: ["123456" for _ in prompts])
print("after code:", ",".join(left), t.is_authenticated())
ch = t.open_session(); ch.exec_command("x"); print(ch.makefile().read().decode().strip())
t.close()
`;
  const r = await run([py, "-W", "ignore", "-c", script]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /after key: keyboard-interactive,password False/);
  assert.match(r.out, /after code: {2}True/);
  assert.match(r.out, /in by keyboard-interactive/);
});

conformanceTest("OpenSSH ssh: a key, then the password (SSH_ASKPASS) as the second method", {
  peers: ["openssh"],
}, async () => {
  await using s = await chained();
  const askpass = join(dir, "askpass.sh");
  writeFileSync(askpass, "#!/bin/sh\necho second-factor\n");
  chmodSync(askpass, 0o700);
  const r = await run([
    "ssh",
    "-F",
    "/dev/null",
    "-p",
    String(s.address.port),
    "-i",
    keyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    `UserKnownHostsFile=${join(dir, "known_hosts")}`,
    "-o",
    "PreferredAuthentications=publickey,password",
    "-o",
    "BatchMode=no",
    "-v",
    "alice@127.0.0.1",
    "x",
  ], { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /in by password/);
  assert.match(r.out, /Authenticated using "publickey" with partial success/);
});

interopTest(
  "paramiko's SSHClient: a key the server refuses, then the password (a service request before each)",
  {
    tools: ["paramiko"],
  },
  async () => {
    const other = generatePrivateKey("ed25519");
    const otherPath = join(dir, "id_other");
    writeFileSync(otherPath, other.exportPrivateKey("openssh"), { mode: 0o600 });
    await using s = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      authorizedClientKeys: [userKey.publicKey()],
      validatePassword: (_u, pw) => pw === "pw",
      processFactory: (p) => p.write(`in by ${p.connection?.authMethod}\n`),
    });
    const script = `
import paramiko
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect("127.0.0.1", port=${s.address.port}, username="alice", password="pw",
          key_filename=${JSON.stringify(otherPath)}, look_for_keys=False, allow_agent=False)
_, out, _ = c.exec_command("x")
print(out.read().decode().strip())
c.close()
`;
    const r = await run([pythonFor("paramiko")!, "-W", "ignore", "-c", script]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /in by password/);
  },
);
