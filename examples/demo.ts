/**
 * The demo: an embedded SSH server and our client doing real work on loopback,
 * then OpenSSH's own `ssh` against the same server when it is installed.
 *
 * Run: `npm run demo` (or any runtime: `deno run -A examples/demo.ts`, `bun examples/demo.ts`).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connect,
  generatePrivateKey,
  hostKeyFromSSHKey,
  listen,
  SSHKey,
  type SSHServerProcess,
} from "../mod.ts";

const runtime = "Deno" in globalThis
  ? "Deno"
  : "Bun" in globalThis
  ? "Bun"
  : `Node ${process.versions.node}`;
console.log(`sshts demo on ${runtime}\n`);

// 1. A server with a fresh host key, password and public-key logins, and a few commands.
const hostKey = generatePrivateKey("ed25519");
const clientKey = generatePrivateKey("ed25519", { comment: "demo client" });

async function commands(p: SSHServerProcess): Promise<void> {
  const [cmd, ...args] = (p.command ?? "").split(" ");
  switch (cmd) {
    case "echo":
      await p.write(args.join(" ") + "\n");
      return;
    case "whoami":
      await p.write(p.username + "\n");
      return;
    case "sha256sum": {
      const h = createHash("sha256");
      for await (const chunk of p.stdin) h.update(chunk);
      await p.write(`${h.digest("hex")}  -\n`);
      return;
    }
    case "cat":
      for await (const chunk of p.stdin) await p.write(chunk);
      return;
    case "exit":
      p.exit(Number(args[0] ?? 0));
      return;
    default:
      await p.writeStderr(`${cmd}: command not found\n`);
      p.exit(127);
  }
}

await using server = await listen({
  host: "127.0.0.1",
  port: 0,
  hostKeys: [hostKeyFromSSHKey(hostKey)],
  validatePassword: (user, password) => user === "demo" && password === "demo",
  validatePublicKey: (_user, key) => clientKey.equals(SSHKey.fromPublicBlob(key.keyBlob)),
  processFactory: commands,
});
console.log(
  `server listening on 127.0.0.1:${server.address.port}, host key ${hostKey.getFingerprint()}`,
);

// 2. Our client: pin the host key, log in by password, run commands, stream data.
await using conn = await connect("127.0.0.1", {
  port: server.address.port,
  username: "demo",
  password: "demo",
  hostKeyVerifier: ({ keyBlob }) => hostKey.equals(SSHKey.fromPublicBlob(keyBlob)),
});
const info = conn.getExtraInfo();
const a = info.algorithms!;
console.log(
  `client connected: kex ${a.kex}, cipher ${a.cipherC2S}, host key ${a.hostKey}, crypto ${info.cryptoProviders.send}`,
);

const hello = await conn.run("echo hello from the embedded server", { check: true });
console.log(`run("echo ...") -> ${JSON.stringify(hello.stdout)} exit ${hello.exitStatus}`);

const failed = await conn.run("exit 3");
console.log(`run("exit 3") -> exit ${failed.exitStatus}`);

const size = 64 * 1024 * 1024;
const block = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
const expected = createHash("sha256");
const proc = await conn.createProcess("sha256sum");
const result = new Response(proc.stdout).text();
const t0 = performance.now();
for (let sent = 0; sent < size; sent += block.length) {
  expected.update(block);
  await proc.write(block);
}
proc.writeEof();
const remoteHash = (await result).split(" ")[0];
const seconds = (performance.now() - t0) / 1000;
console.log(
  `streamed 64 MiB to the server's sha256sum in ${seconds.toFixed(2)} s ` +
    `(${(size / 1e6 / seconds).toFixed(0)} MB/s); hash ${
      remoteHash === expected.digest("hex") ? "matches" : "DIFFERS"
    }`,
);
await conn.close();

// 3. OpenSSH's own client against our server, when it is installed.
if (existsSync("/usr/bin/ssh")) {
  const dir = mkdtempSync(join(tmpdir(), "sshts-demo-"));
  try {
    const keyPath = join(dir, "id_ed25519");
    writeFileSync(keyPath, clientKey.exportPrivateKey("openssh"), { mode: 0o600 });
    writeFileSync(
      join(dir, "known_hosts"),
      `[127.0.0.1]:${server.address.port} ${hostKey.exportPublicKey("openssh")}\n`,
    );
    // Asynchronous on purpose: the server runs in this very process.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          "ssh",
          [
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            `UserKnownHostsFile=${join(dir, "known_hosts")}`,
            "-o",
            "StrictHostKeyChecking=yes",
            "-i",
            keyPath,
            "-p",
            String(server.address.port),
            "demo@127.0.0.1",
            "echo",
            "hello from OpenSSH's ssh",
          ],
          { encoding: "utf8", timeout: 20_000 },
          (err, stdout, stderr) => {
            resolve({
              status: err ? (typeof err.code === "number" ? err.code : null) : 0,
              stdout,
              stderr,
            });
          },
        );
      },
    );
    console.log(
      `OpenSSH ssh -> ${JSON.stringify(r.stdout)} exit ${r.status}${
        r.status ? ` (${r.stderr.trim()})` : ""
      }`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log("OpenSSH's ssh is not installed here: skipping the interop step");
}
console.log("\ndone");
