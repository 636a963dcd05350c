/**
 * Our SCP server (`listen({ scp, sftp })`) driven by OpenSSH's `scp`, 9.2
 * and 10.x: the legacy protocol (`scp -O`, which runs `scp -t` / `scp -f` on
 * our server) and SFTP mode (plain `scp`, OpenSSH 9+'s default), single
 * files, `-r` and `-p`, both directions; every result checked on disk.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  conformanceTest,
  runCommand,
  TEST_USER,
  trixieCommand,
  trixieTempDir,
} from "./fixtures/mod.ts";
import {
  clientFile,
  keys,
  type SshClient,
  startServer,
  type TestServer,
} from "./server_fixture.ts";
import { hostNames, makeHostFile } from "../io/sftp/_byte_names_test_util.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

interface ClientDir {
  readonly client: string;
  readonly host: string;
  remove(): Promise<void>;
}

async function clientDir(client: SshClient): Promise<ClientDir> {
  if (client === "openssh-trixie") {
    const t = trixieTempDir();
    return { client: t.chrootPath, host: t.hostPath, remove: () => t.remove() };
  }
  const d = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-client-"));
  return { client: d, host: d, remove: () => fsp.rm(d, { recursive: true, force: true }) };
}

/** Runs OpenSSH's scp from `client` against our server with the fixture ed25519 key. */
async function runScp(client: SshClient, server: TestServer, args: string[]) {
  const m = await keys();
  const k = m.clientKeys.find((c) => c.name === "ed25519")!;
  const tag = createHash("sha256").update(k.privateKeyText).digest("hex").slice(0, 8);
  const identity = clientFile(client, `id_${k.name}_${tag}`, k.privateKeyText);
  const known = clientFile(client, `known_hosts_${server.port}`, server.knownHosts);
  const argv = [
    "scp",
    "-F",
    "/dev/null",
    "-P",
    String(server.port),
    "-o",
    `UserKnownHostsFile=${known}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "BatchMode=yes",
    "-i",
    identity,
    ...args,
  ];
  const r = await runCommand(client === "openssh-trixie" ? trixieCommand(argv) : argv, {
    timeoutMs: 60_000,
  });
  return r;
}

const remote = (path: string) => `${TEST_USER}@127.0.0.1:${path}`;

for (const client of ["openssh", "openssh-trixie"] as const) {
  for (const mode of ["legacy", "sftp"] as const) {
    const v = VERSION[client];
    const flag = mode === "legacy" ? ["-O"] : [];
    conformanceTest(
      `OpenSSH ${v} scp${
        mode === "legacy" ? " -O" : ""
      }: files, -r and -p both ways against listen({ scp, sftp })`,
      { peers: [client] },
      async () => {
        const dir = await clientDir(client);
        const root = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-root-"));
        try {
          // The legacy run has no SFTP at all: it must not fall back to it.
          await using server = await startServer(
            mode === "legacy" ? { scp: { root } } : { scp: { root }, sftp: { root } },
          );
          const data = randomBytes(900_000);
          await fsp.writeFile(join(dir.host, "a.bin"), data);
          await fsp.mkdir(join(dir.host, "tree", "sub"), { recursive: true });
          await fsp.writeFile(join(dir.host, "tree", "t1.txt"), "one\n");
          await fsp.writeFile(join(dir.host, "tree", "sub", "t2.txt"), "two\n");
          await fsp.chmod(join(dir.host, "tree", "t1.txt"), 0o604);
          await fsp.utimes(join(dir.host, "tree", "t1.txt"), 1_400_000_000, 1_300_000_000);
          const c = dir.client;
          const ok = async (args: string[]) => {
            const r = await runScp(client, server, [...flag, ...args]);
            assert.equal(r.status, 0, `scp ${args.join(" ")}: ${r.stderr}`);
          };
          // Single file up and down.
          await ok([`${c}/a.bin`, remote("/a.bin")]);
          assert.deepEqual(await fsp.readFile(join(root, "a.bin")), data);
          await ok([remote("/a.bin"), `${c}/back.bin`]);
          assert.deepEqual(await fsp.readFile(join(dir.host, "back.bin")), data);
          // -r -p up.
          await ok(["-r", "-p", `${c}/tree`, remote("/tree")]);
          assert.equal(await fsp.readFile(join(root, "tree/sub/t2.txt"), "utf8"), "two\n");
          const st = await fsp.stat(join(root, "tree/t1.txt"));
          assert.equal(st.mode & 0o777, 0o604);
          assert.equal(Math.floor(st.mtimeMs / 1000), 1_300_000_000);
          // -r -p down.
          await ok(["-r", "-p", remote("/tree"), `${c}/tree2`]);
          assert.equal(await fsp.readFile(join(dir.host, "tree2/sub/t2.txt"), "utf8"), "two\n");
          const st2 = await fsp.stat(join(dir.host, "tree2/t1.txt"));
          assert.equal(st2.mode & 0o777, 0o604);
          assert.equal(Math.floor(st2.mtimeMs / 1000), 1_300_000_000);
          // Into an existing directory, two files.
          await fsp.mkdir(join(root, "into"));
          await ok([`${c}/a.bin`, `${c}/tree/t1.txt`, remote("/into/")]);
          assert.deepEqual((await fsp.readdir(join(root, "into"))).sort(), ["a.bin", "t1.txt"]);
          // A glob, expanded by our server (legacy: no shell) or by scp's SFTP client.
          await fsp.writeFile(join(root, "tree/t3.txt"), "three\n");
          await fsp.writeFile(join(root, "tree/skip.bin"), "no\n");
          await fsp.mkdir(join(dir.host, "globbed"));
          await ok([remote("/tree/*.txt"), `${c}/globbed/`]);
          assert.deepEqual((await fsp.readdir(join(dir.host, "globbed"))).sort(), [
            "t1.txt",
            "t3.txt",
          ]);
          // A missing remote file fails with OpenSSH's message and a non-zero exit.
          const miss = await runScp(client, server, [...flag, remote("/nope"), `${c}/nope`]);
          assert.notEqual(miss.status, 0);
          assert.match(miss.stderr, /nope/);
        } finally {
          await fsp.rm(root, { recursive: true, force: true });
          await dir.remove();
        }
      },
    );
  }
}

const BYTE_PATHS = !("Deno" in globalThis);

for (const client of ["openssh", "openssh-trixie"] as const) {
  for (const mode of ["legacy", "sftp"] as const) {
    const flag = mode === "legacy" ? ["-O"] : [];
    conformanceTest(
      `OpenSSH ${VERSION[client]} scp${
        mode === "legacy" ? " -O" : ""
      } -r: a file name that is not UTF-8 (Latin-1) both ways through listen({ scp, sftp })`,
      { peers: [client] },
      async () => {
        const dir = await clientDir(client);
        const root = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-root-"));
        const latin1 = Uint8Array.of(0x63, 0x61, 0x66, 0xe9); // "caf\xe9"
        try {
          await using server = await startServer(
            mode === "legacy" ? { scp: { root } } : { scp: { root }, sftp: { root } },
          );
          await fsp.mkdir(join(dir.host, "tree"));
          makeHostFile(join(dir.host, "tree"), latin1, "latin1\n");
          // The names travel inside the tree: spawn() would re-encode them on a command line.
          const up = await runScp(client, server, [
            ...flag,
            "-r",
            `${dir.client}/tree`,
            remote("/up"),
          ]);
          if (!BYTE_PATHS) {
            // Deno's file APIs cannot name the file: the copy fails on it (the legacy protocol
            // shows our reason; scp's SFTP mode its own "upload ... failed").
            assert.notEqual(up.status, 0);
            assert.match(up.stderr, mode === "legacy" ? /not UTF-8/ : /caf\\351" failed/);
            return;
          }
          assert.equal(up.status, 0, up.stderr);
          assert.deepEqual(hostNames(join(root, "up")), ["636166e9"]);
          const down = await runScp(client, server, [
            ...flag,
            "-r",
            remote("/up"),
            `${dir.client}/down`,
          ]);
          assert.equal(down.status, 0, down.stderr);
          assert.deepEqual(hostNames(join(dir.host, "down")), ["636166e9"]);
        } finally {
          await fsp.rm(root, { recursive: true, force: true });
          await dir.remove();
        }
      },
    );
  }
}
