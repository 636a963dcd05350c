/**
 * Rekey matrix, OpenSSH's `ssh` (9.2 and 10.x) against our server (after OpenSSH's
 * regress/rekey.sh; the cases are in rekey_matrix.ts): 320 KiB each way through `cat`,
 * hash-checked, with rekey limits from 16 bytes to 256 KiB set on our side (`listen({
 * rekeyBytes })`) or on ssh's (`-o RekeyLimit`), for every key exchange, cipher and MAC; and 1 MiB
 * each way through `ssh -L` while both sides rekey every 64 KiB.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import process from "node:process";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";
import type { ListenOptions } from "../io/server/options.ts";
import { conformanceTest, freePort, runCommand, runTrixieCommand } from "./fixtures/mod.ts";
import {
  caseLabel,
  eachLimited,
  echoServer,
  echoThrough,
  FULL_MATRIX,
  type RekeyCase,
  rekeyCases,
  rekeyData,
  sha256,
} from "./rekey_matrix.ts";
import {
  runSsh,
  spawnSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
  type TestServer,
} from "./server_fixture.ts";

const DATA = rekeyData();
const DATA_HASH = sha256(DATA);
const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

async function query(client: SshClient, what: string): Promise<string[]> {
  const r = client === "openssh-trixie"
    ? await runTrixieCommand(["ssh", "-Q", what], { check: true })
    : await runCommand(["ssh", "-Q", what], { check: true });
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** Our server with every algorithm on, reporting each connection's key exchange count. */
async function serve(
  extra: Partial<ListenOptions>,
  kexCounts: number[],
): Promise<TestServer> {
  return await startServer({
    kexAlgs: SUPPORTED_KEX,
    encryptionAlgs: SUPPORTED_CIPHERS,
    macAlgs: SUPPORTED_MACS,
    connectionLost: (conn) => kexCounts.push(conn.getExtraInfo().kexCount),
    ...extra,
  });
}

async function trial(client: SshClient, c: RekeyCase): Promise<void> {
  const kexCounts: number[] = [];
  await using server = await serve(c.ours !== undefined ? { rekeyBytes: c.ours } : {}, kexCounts);
  // The key exchange under test, else a fast one (the default hybrids cost ~0.3 s each here).
  const options = [`KexAlgorithms=${c.kex ?? "curve25519-sha256"}`];
  if (c.cipher) options.push(`Ciphers=${c.cipher}`);
  if (c.mac) options.push(`MACs=${c.mac}`);
  if (c.peer !== undefined) options.push(`RekeyLimit=${c.peer}`);
  const r = await runSsh(client, server, { identity: "ed25519", options, command: "cat" }, {
    input: DATA,
    timeoutMs: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha256(r.stdout), DATA_HASH, `data intact (${r.stdout.length} bytes back)`);
  for (let i = 0; i < 40 && kexCounts.length === 0; i++) {
    await new Promise((res) => setTimeout(res, 25));
  }
  assert.ok((kexCounts[0] ?? 0) >= 2, `no rekey happened (kexCount ${kexCounts[0]})`);
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

for (const client of SSH_CLIENTS) {
  conformanceTest(
    `OpenSSH ${VERSION[client]} ssh keeps 320 KiB each way intact through rekeys with listen() (${
      FULL_MATRIX ? "full" : "representative"
    } matrix)`,
    { peers: [client] },
    async () => {
      const cases = rekeyCases({
        kex: await query(client, "kex"),
        ciphers: await query(client, "cipher"),
        macs: await query(client, "mac"),
      });
      const failures: string[] = [];
      await eachLimited(cases, 4, async (c) => {
        try {
          await trial(client, c);
        } catch (e) {
          failures.push(`${caseLabel(c)}: ${(e as Error).message}`);
        }
      });
      console.error(`rekey ${client} ssh: ${cases.length} connections, ${failures.length} failed`);
      assert.deepEqual(failures, []);
    },
  );

  conformanceTest(
    `ssh -L (OpenSSH ${
      VERSION[client]
    }) through listen() keeps 1 MiB each way intact while both sides rekey every 64 KiB`,
    { peers: [client] },
    async () => {
      const echo = await echoServer();
      const kexCounts: number[] = [];
      await using server = await serve({
        rekeyBytes: 64 * 1024,
        connectionRequested: () => true,
      }, kexCounts);
      const port = await freePort();
      await using ssh = await spawnSsh(client, server, {
        identity: "ed25519",
        options: [
          "KexAlgorithms=curve25519-sha256",
          "RekeyLimit=64K",
          "ExitOnForwardFailure=yes",
        ],
        args: ["-N", "-L", `127.0.0.1:${port}:127.0.0.1:${echo.port}`],
      });
      try {
        await waitListening(port);
        const data = rekeyData(1024 * 1024);
        const got = await Promise.all([0, 1].map(() => echoThrough(port, data)));
        assert.deepEqual(got, [sha256(data), sha256(data)]);
        const conn = server.server.getConnections()[0]!;
        assert.ok(conn.getExtraInfo().kexCount > 20, `kexCount ${conn.getExtraInfo().kexCount}`);
      } finally {
        await echo.close();
        if (process.env.SSHTS_DEBUG) console.error(ssh.stderr);
      }
    },
  );
}
