/**
 * Sessions on our server driven by OpenSSH's `ssh` (9.2 and 10.x) and Dropbear's `dbclient`:
 * `ssh host cmd` returns output and exit status (and signals), stdin streams through,
 * environment variables arrive, and `ssh -tt` drives the line editor, both from a pipe and
 * from a real terminal (`script` gives ssh a pty, so ssh switches it to raw mode).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { conformanceTest, runCommand, TEST_USER } from "./fixtures/mod.ts";
import {
  keys,
  runSsh,
  spawnSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
  testShell,
} from "./server_fixture.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh host cmd returns the output and exit status from listen()`,
    { peers: [client] },
    async () => {
      await using server = await startServer();
      const ok = await runSsh(client, server, { identity: "ed25519", command: "echo hello world" });
      assert.deepEqual([ok.status, ok.stdout], [0, "hello world\n"]);
      const three = await runSsh(client, server, { identity: "ed25519", command: "exit 3" });
      assert.equal(three.status, 3);
      const err = await runSsh(client, server, { identity: "ed25519", command: "stderr oops" });
      assert.deepEqual([err.status, err.stdout, err.stderr], [0, "", "oops\n"]);
      const missing = await runSsh(client, server, { identity: "ed25519", command: "nope" });
      assert.equal(missing.status, 127);
      assert.match(missing.stderr, /nope: command not found/);
      const killed = await runSsh(client, server, { identity: "ed25519", command: "kill TERM" });
      assert.equal(killed.status, 255);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh: listen({ processRequested }) refuses one command, runs another`,
    { peers: [client] },
    async () => {
      await using server = await startServer({
        processRequested: (r) => !(r.type === "exec" && r.command?.startsWith("forbidden")),
      });
      const refused = await runSsh(client, server, { identity: "ed25519", command: "forbidden" });
      assert.equal(refused.status, 255);
      assert.match(refused.stderr, /exec request failed/);
      const ok = await runSsh(client, server, { identity: "ed25519", command: "echo allowed" });
      assert.deepEqual([ok.status, ok.stdout], [0, "allowed\n"]);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh streams stdin to listen() and gets its environment variables through`,
    { peers: [client] },
    async () => {
      await using server = await startServer({ acceptEnv: ["LANG", "LC_*"] });
      const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7 + (i >> 11)) & 0xff);
      const hash = createHash("sha256").update(data).digest("hex");
      const r = await runSsh(client, server, { identity: "ed25519", command: "sha256" }, {
        input: data,
      });
      assert.deepEqual([r.status, r.stdout], [0, `${hash}\n`]);
      const cat = await runSsh(client, server, { identity: "ed25519", command: "cat" }, {
        input: "line 1\nline 2\n",
      });
      assert.equal(cat.stdout, "line 1\nline 2\n");
      for (const [name, expected] of [["LC_TEST", "yes"], ["OTHER", ""]]) {
        const env = await runSsh(client, server, {
          identity: "ed25519",
          options: ["SetEnv=LC_TEST=yes OTHER=no"],
          command: `env ${name}`,
        });
        assert.equal(env.stdout, `${expected}\n`, `${name}: ${env.stderr}`);
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -tt drives the line editor of listen() from a pipe`,
    { peers: [client] },
    async () => {
      await using server = await startServer();
      await using ssh = await spawnSsh(client, server, { identity: "ed25519", args: ["-tt"] });
      await ssh.waitFor(/\$ $/);
      // Typos fixed with home, delete, end, backspace, cursor left and an insert.
      ssh.write("ehco tw\x01\x1b[3~\x1b[3~\x1b[3~\x1b[3~echo\x05\x7f\x7ftXwo\x1b[D\x1b[D\x7f\r");
      await ssh.waitFor(/\r\ntwo\r\n\$ $/);
      // History: up recalls the last line.
      ssh.write("\x1b[A\r");
      await ssh.waitFor(/two\r\n\$ echo two\r\ntwo\r\n\$ $/);
      // Ctrl-C throws the line away.
      ssh.write("echo never\x03");
      await ssh.waitFor(/echo never\^C\r\n$/);
      ssh.write("info\r");
      const [json] = (await ssh.waitFor(/\{.*\}/))!;
      const info = JSON.parse(json) as { term: string; size: number[] };
      assert.ok(info.term);
      ssh.write("exit\r");
      const { status } = await ssh.exited;
      assert.equal(status, 0, ssh.stderr);
      assert.ok(!ssh.stdout.includes("never\r\n"), "the interrupted line ran");
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh in a real terminal drives the line editor of listen(): size, keys, Ctrl-D`,
    { peers: [client] },
    async () => {
      await using server = await startServer();
      // script(1) runs ssh on a pty of its own: ssh sends the terminal's size and type and
      // puts it in raw mode, so keys reach our line editor as a user would type them.
      await using ssh = await spawnSsh(
        client,
        server,
        { identity: "ed25519", args: ["-tt"] },
        (argv) => [
          "script",
          "-qfec",
          `stty cols 97 rows 31; exec ${
            argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")
          }`,
          "/dev/null",
        ],
      );
      await ssh.waitFor(/\$ $/);
      ssh.write("info\x01\x1b[3~\x1b[3~\x1b[3~\x1b[3~infx\x7fo\r");
      const [json] = (await ssh.waitFor(/\{.*\}/))!;
      const info = JSON.parse(json) as { term: string; size: number[]; user: string };
      assert.deepEqual(info.size, [97, 31]);
      assert.equal(info.user, TEST_USER);
      await ssh.waitFor(/\}\r\n\$ $/);
      ssh.write("\x04"); // Ctrl-D on an empty line ends the shell
      const { status } = await ssh.exited;
      assert.equal(status, 0, ssh.stdout);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -s runs a subsystem on listen()`,
    { peers: [client] },
    async () => {
      await using server = await startServer({
        processFactory: async (p) => {
          if (p.subsystem !== "greeter") return testShell(p);
          await p.write(`subsystem ${p.subsystem} for ${p.username}\n`);
        },
      });
      const r = await runSsh(client, server, {
        identity: "ed25519",
        args: ["-s"],
        command: "greeter",
      });
      assert.deepEqual([r.status, r.stdout], [0, `subsystem greeter for ${TEST_USER}\n`]);
    },
  );
}

conformanceTest(
  "Dropbear dbclient runs commands on listen() and gets their output and exit status",
  { peers: ["dropbear"] },
  async () => {
    const m = await keys();
    const dir = mkdtempSync(join(tmpdir(), "sshts-dbclient-"));
    try {
      const key = m.clientKeys[0]!;
      writeFileSync(join(dir, "id"), key.privateKeyText, { mode: 0o600 });
      await runCommand(
        ["dropbearconvert", "openssh", "dropbear", join(dir, "id"), join(dir, "id.db")],
        { check: true },
      );
      await using server = await startServer();
      const run = (command: string, input?: string) =>
        runCommand([
          "dbclient",
          "-y",
          "-y",
          "-i",
          join(dir, "id.db"),
          "-p",
          String(server.port),
          `${TEST_USER}@127.0.0.1`,
          command,
        ], {
          env: { ...process.env as Record<string, string>, HOME: dir },
          ...(input !== undefined ? { input } : {}),
        });
      assert.deepEqual(
        [(await run("echo from dropbear")).stdout, (await run("exit 7")).status],
        ["from dropbear\n", 7],
      );
      assert.equal((await run("cat", "piped\n")).stdout, "piped\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
