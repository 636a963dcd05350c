/**
 * SFTP get and put throughput, in one run, for:
 *
 * - this library's client (`conn.startSftp()`, default options) on Node, Deno and Bun;
 * - OpenSSH's `sftp` (the machine's 9.2);
 * - the `ssh2` package's fastGet/fastPut, at its defaults (32 KiB chunks, 64 in flight) and
 *   with 255 KiB chunks, on the machine's Node (its native addon is built for that one);
 * - OpenSSH's `sftp` against this library's server (`listen({ sftp: { root } })`) on each
 *   runtime, next to the same client against sshd's own `sftp-server`.
 *
 * All against one OpenSSH server on loopback (a conformance fixture: needs root, sshd, ssh).
 *
 * ```sh
 * node_modules/.bin/node bench/sftp_bench.ts [--mib 256] [--runs 3] [--only sshts,openssh,ssh2,server]
 * node_modules/.bin/node bench/sftp_bench.ts --tree 3000 [--runs 3]
 * ```
 *
 * `--tree N` moves a tree of N small files (100 B to 4 KiB, in 30 directories) instead of one
 * big file: recursive `get`/`put` for our clients, `get -r`/`put -r` for OpenSSH's `sftp`, in
 * files per second. Per-file round trips decide that figure, not the cipher. `ssh2` has no
 * recursive transfer of its own, so its rows are left out there.
 *
 * MB/s = 10^6 bytes/s, median of `--runs`. Clients in this library and ssh2 are timed from
 * an open SFTP session to the end of the transfer; OpenSSH's `sftp` is one process per
 * transfer, timed whole, less the median time of a `sftp -b` that only runs `pwd` (its
 * handshake and session start). The cipher is AES-128-GCM for every row (on Deno through the
 * system's libcrypto); a Deno without it (`SSH_LIBCRYPTO=0`) uses chacha20-poly1305, as
 * `connect()` would choose, and is compared with OpenSSH using the same cipher.
 *
 * Our server is a long-lived process: it gets one untimed get and put first (its cold
 * figures are printed), since a fresh process's first transfers include the JIT's warm-up
 * and sshd, compiled ahead of time, has none. Our clients start a fresh process each round.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ensureKeyMaterial, type PeerFixture, startPeer } from "../conformance/fixtures/mod.ts";
import { detectRuntimes, REPO_ROOT, type Runtime } from "./e2e/runtimes.ts";
import {
  makeFile,
  makeTree,
  prepareRun,
  type TransferSubject,
  warmUpLongLived,
} from "./e2e/transfer_files.ts";

const GCM = "aes128-gcm@openssh.com";
const CHACHA = "chacha20-poly1305@openssh.com";
const SELF = join(REPO_ROOT, "bench", "sftp_bench.ts");

interface Options {
  mib: number;
  /** Files in the tree to move instead of one file of `mib` (`--tree`). */
  tree: number | undefined;
  runs: number;
  only: Set<string> | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get("only");
  return {
    mib: Number(get("mib") ?? 256),
    tree: get("tree") ? Number(get("tree")) : undefined,
    runs: Number(get("runs") ?? 3),
    only: only ? new Set(only.split(",")) : undefined,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---- workers (run on each runtime) ----

interface ClientJob {
  host: string;
  port: number;
  user: string;
  keyText: string;
  knownHostsPath: string;
  cipher: string;
  remote: string;
  remoteUp: string;
  local: string;
  runs: number;
  recurse: boolean;
}

async function clientWorker(job: ClientJob): Promise<void> {
  const { connect } = await import("../io/client/connect.ts");
  await using conn = await connect(job.host, {
    port: job.port,
    username: job.user,
    clientKeys: [job.keyText],
    knownHosts: job.knownHostsPath,
    kexAlgs: ["curve25519-sha256"],
    encryptionAlgs: [job.cipher],
  });
  await using sftp = await conn.startSftp();
  const get: number[] = [];
  const put: number[] = [];
  // Resident memory during the gets (issue #10: a 1 GiB get grows RSS by < 64 MiB).
  const rssStart = process.memoryUsage().rss;
  let rssMax = rssStart;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 20);
  for (let i = 0; i < job.runs; i++) {
    let t0 = performance.now();
    sampler.refresh();
    await sftp.get(job.remote, job.local, { recurse: job.recurse });
    get.push(performance.now() - t0);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    if (i === job.runs - 1) clearInterval(sampler);
    t0 = performance.now();
    await sftp.put(job.local, job.remoteUp, { recurse: job.recurse });
    put.push(performance.now() - t0);
  }
  clearInterval(sampler);
  const rssGrowthMiB = (rssMax - rssStart) / 1048576;
  process.stdout.write(
    JSON.stringify({ get, put, requestSize: sftp.requestSize, rssGrowthMiB }) + "\n",
  );
}

interface ServerJob {
  hostKeyPath: string;
  authorizedKey: string;
  root: string;
}

async function serverWorker(job: ServerJob): Promise<void> {
  const { listen } = await import("../io/server/listen.ts");
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [job.hostKeyPath],
    authorizedClientKeys: job.authorizedKey + "\n",
    sftp: { root: job.root },
  });
  process.stdout.write(JSON.stringify({ port: server.address.port }) + "\n");
  // Runs until the orchestrator closes our stdin.
  for await (const _ of process.stdin) { /* nothing */ }
  await server.close();
  process.exit(0);
}

// ---- the orchestrator ----

function run(argv: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
    child.stderr.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
    child.stdin.end(input ?? "");
  });
}

async function lastJson<T>(argv: string[], what: string): Promise<T> {
  const r = await run(argv);
  const line = r.out.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !line.startsWith("{")) {
    throw new Error(`${what} failed (exit ${r.code}): ${r.err.trim().slice(-2000)}`);
  }
  return JSON.parse(line) as T;
}

/** Starts our server on a runtime; resolves with its port and a stop function. */
async function startOurServer(rt: Runtime, job: ServerJob) {
  const child = spawn(rt.command(SELF)[0]!, [
    ...rt.command(SELF).slice(1),
    "--worker",
    "server",
    JSON.stringify(job),
  ], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (b: Uint8Array) => {
      out += new TextDecoder().decode(b);
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("close", (code) => reject(new Error(`server on ${rt.id} exited ${code}: ${err}`)));
  });
  const closed = new Promise<void>((r) => child.on("close", () => r()));
  let stopping: Promise<void> | undefined;
  return {
    port,
    stop: () => (stopping ??= (async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await closed;
      clearTimeout(timer);
    })()),
  };
}

interface SftpTarget {
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
  cipher: string;
}

/** Runs OpenSSH's `sftp -b` with `commands`; resolves with the wall time in ms. */
async function opensshBatch(t: SftpTarget, dir: string, commands: string): Promise<number> {
  const batch = join(dir, `batch-${Math.random().toString(16).slice(2)}`);
  await fsp.writeFile(batch, commands);
  const argv = [
    "sftp",
    "-F",
    "/dev/null",
    "-P",
    String(t.port),
    "-o",
    `User=${t.user}`,
    "-o",
    `UserKnownHostsFile=${t.knownHostsPath}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "BatchMode=yes",
    "-o",
    `Ciphers=${t.cipher}`,
    "-o",
    "KexAlgorithms=curve25519-sha256",
    "-i",
    t.keyPath,
    "-b",
    batch,
    "127.0.0.1",
  ];
  const t0 = performance.now();
  const r = await run(argv);
  const ms = performance.now() - t0;
  await fsp.rm(batch, { force: true });
  if (r.code !== 0) throw new Error(`sftp failed: ${r.err.trim()}`);
  return ms;
}

/** get and put times (ms, handshake subtracted) for OpenSSH's sftp against `t`. */
async function opensshRuns(
  t: SftpTarget,
  dir: string,
  remote: string,
  remoteUp: string,
  local: string,
  runs: number,
  recurse: boolean,
) {
  const r = recurse ? " -r" : "";
  const base: number[] = [];
  for (let i = 0; i < 3; i++) base.push(await opensshBatch(t, dir, "pwd\n"));
  const handshake = median(base);
  const get: number[] = [];
  const put: number[] = [];
  for (let i = 0; i < runs; i++) {
    get.push(await opensshBatch(t, dir, `get${r} ${remote} ${local}\n`) - handshake);
    put.push(await opensshBatch(t, dir, `put${r} ${local} ${remoteUp}\n`) - handshake);
  }
  return { get, put };
}

interface Row {
  subject: string;
  cipher: string;
  get: number;
  put: number;
}

interface Subject extends TransferSubject {
  readonly cipher: string;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const want = (k: string) => !o.only || o.only.has(k);
  let bytes = o.mib * 1024 * 1024;
  // MB/s for one file; files per second for a tree (`--tree`).
  const mbs = (ms: number) => (o.tree ?? bytes / 1e6) / (ms / 1000);
  const { runtimes } = detectRuntimes();
  const ours = runtimes.filter((r) => ["node", "deno", "bun"].includes(r.id));
  const systemNode = runtimes.find((r) => /^node\d+$/.test(r.id)) ??
    runtimes.find((r) => r.id === "node")!;
  // Each runtime's default cipher: AES-GCM on Node and Bun, and on Deno too when the
  // system's libcrypto does it (Deno runs with -A here); chacha20-poly1305 for a Deno
  // without it (SSH_LIBCRYPTO=0), as connect() would choose.
  const denoCipher = process.env.SSH_LIBCRYPTO === "0" ? CHACHA : GCM;
  const cipherOf = (rt: Runtime) => (rt.id === "deno" ? denoCipher : GCM);

  const f: PeerFixture = await startPeer("openssh");
  const local = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-bench-"));
  const remoteName = `sftp-bench-${process.pid}`;
  const remote = `${f.user.home}/${remoteName}.bin`;
  const remoteUp = `${f.user.home}/${remoteName}-up.bin`;
  const hostSrc = join(f.user.hostHome, `${remoteName}.bin`);
  const hostUp = join(f.user.hostHome, `${remoteName}-up.bin`);
  const subjects: Subject[] = [];
  const stops: (() => Promise<void>)[] = [];
  const rows: Row[] = [];
  try {
    if (o.tree) bytes = await makeTree(hostSrc, o.tree);
    else await makeFile(hostSrc, bytes);
    const key = f.clientKeys[0]!;
    const target = (cipher: string): SftpTarget => ({
      port: f.port,
      user: f.user.name,
      keyPath: key.privateKeyPath,
      knownHostsPath: f.knownHostsPath,
      cipher,
    });
    const ciphers = [...new Set(ours.map(cipherOf))];
    const one = (r: { get: number[]; put: number[] }) => ({ get: r.get[0]!, put: r.put[0]! });

    if (want("sshts")) {
      for (const rt of ours) {
        const job: ClientJob = {
          host: f.host,
          port: f.port,
          user: f.user.name,
          keyText: key.privateKeyText,
          knownHostsPath: f.knownHostsPath,
          cipher: cipherOf(rt),
          remote,
          remoteUp,
          local: join(local, `ours-${rt.id}.bin`),
          runs: 1,
          recurse: o.tree !== undefined,
        };
        subjects.push({
          subject: `sshts client, ${rt.label}`,
          cipher: job.cipher,
          writes: [job.local, hostUp],
          reads: [hostSrc],
          run: async () => {
            const r = await lastJson<{ get: number[]; put: number[]; rssGrowthMiB: number }>(
              [...rt.command(SELF), "--worker", "client", JSON.stringify(job)],
              `sshts client on ${rt.id}`,
            );
            process.stderr.write(
              `sshts client, ${rt.label}: RSS grew ${
                r.rssGrowthMiB.toFixed(1)
              } MiB during the get\n`,
            );
            return one(r);
          },
        });
      }
    }
    if (want("openssh")) {
      for (const cipher of ciphers) {
        subjects.push({
          subject: `OpenSSH sftp ${f.version}`,
          cipher,
          writes: [join(local, "openssh.bin"), hostUp],
          reads: [hostSrc],
          run: async () =>
            one(
              await opensshRuns(
                target(cipher),
                local,
                remote,
                remoteUp,
                join(local, "openssh.bin"),
                1,
                o.tree !== undefined,
              ),
            ),
        });
      }
    }
    if (want("ssh2") && o.tree) console.error("ssh2 has no recursive transfer: no ssh2 rows");
    if (want("ssh2") && !o.tree) {
      for (
        const [label, chunkSize] of [
          ["ssh2 fastGet/fastPut (defaults)", 0],
          ["ssh2 fastGet/fastPut (255 KiB chunks)", 261120],
        ] as const
      ) {
        const job = {
          host: f.host,
          port: f.port,
          user: f.user.name,
          keyPath: key.privateKeyPath,
          hostKeyBlobs: f.hostKeys.map((h) => h.publicKeyLine.split(/\s+/)[1]),
          cipher: GCM,
          remote,
          remoteUp,
          local: join(local, "ssh2.bin"),
          runs: 1,
          ...(chunkSize ? { chunkSize } : {}),
        };
        subjects.push({
          subject: `${label}, ${systemNode.label}`,
          cipher: GCM,
          writes: [job.local, hostUp],
          reads: [hostSrc],
          run: async () =>
            one(
              await lastJson<{ get: number[]; put: number[] }>(
                [
                  ...systemNode.command(join(REPO_ROOT, "bench", "sftp_ssh2_worker.cjs")),
                  JSON.stringify(job),
                ],
                label,
              ),
            ),
        });
      }
    }
    const root = join(local, "root");
    if (want("server")) {
      const m = await ensureKeyMaterial();
      const hostKey = m.hostKeys[0]!;
      await fsp.mkdir(root);
      await fsp.cp(hostSrc, join(root, "src.bin"), { recursive: true });
      for (const rt of ours) {
        const srv = await startOurServer(rt, {
          hostKeyPath: hostKey.privateKeyPath,
          authorizedKey: m.clientKeys[0]!.publicKeyLine,
          root,
        });
        stops.push(srv.stop);
        const known = join(local, `known_hosts_${rt.id}`);
        await fsp.writeFile(known, `[127.0.0.1]:${srv.port} ${hostKey.publicKeyLine}\n`);
        const cipher = cipherOf(rt);
        const t: SftpTarget = {
          port: srv.port,
          user: "bench",
          keyPath: m.clientKeys[0]!.privateKeyPath,
          knownHostsPath: known,
          cipher,
        };
        subjects.push({
          subject: `OpenSSH sftp -> sshts server, ${rt.label}`,
          cipher,
          longLived: true,
          writes: [join(local, "from-ours.bin"), join(root, `up-${rt.id}.bin`)],
          reads: [join(root, "src.bin")],
          run: async () =>
            one(
              await opensshRuns(
                t,
                local,
                "/src.bin",
                `/up-${rt.id}.bin`,
                join(local, "from-ours.bin"),
                1,
                o.tree !== undefined,
              ),
            ),
        });
      }
    }

    console.error(
      `sftp bench: ${o.mib} MiB, ${o.runs} round(s) over ${subjects.length} subjects, OpenSSH ${f.version} server`,
    );
    // Round-robin: each round runs every subject once, so a change in the machine's load
    // touches every row alike instead of the rows that happened to run then.
    await warmUpLongLived(subjects, mbs, (l) => console.error(l), o.tree ? "files/s" : "MB/s");
    const results = subjects.map(() => ({ get: [] as number[], put: [] as number[] }));
    for (let round = 0; round < o.runs; round++) {
      for (const [i, s] of subjects.entries()) {
        await prepareRun(s);
        const r = await s.run();
        results[i]!.get.push(r.get);
        results[i]!.put.push(r.put);
        console.error(
          `  round ${round + 1}: ${s.subject} (${s.cipher}) get ${mbs(r.get).toFixed(0)}, put ${
            mbs(r.put).toFixed(0)
          } ${o.tree ? "files/s" : "MB/s"}`,
        );
      }
    }
    for (const [i, s] of subjects.entries()) {
      rows.push({
        subject: s.subject,
        cipher: s.cipher,
        get: mbs(median(results[i]!.get)),
        put: mbs(median(results[i]!.put)),
      });
    }
    if (want("server")) {
      // Sanity: what came through our server is what went in.
      const h = (p: string) => hashTree(p);
      const want = await h(hostSrc);
      for (const rt of ours) {
        if ((await h(join(root, `up-${rt.id}.bin`))) !== want) {
          throw new Error(`Upload through our server on ${rt.id} differs`);
        }
      }
    }
  } finally {
    for (const s of stops) await s().catch(() => {});
    await fsp.rm(local, { recursive: true, force: true });
    await fsp.rm(hostSrc, { recursive: true, force: true });
    await fsp.rm(hostUp, { recursive: true, force: true });
    await f.stop();
  }
  report(rows, o, f.version);
}

/** SHA-256 of a file, or of a tree's relative paths and contents in name order. */
async function hashTree(path: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (p: string, rel: string): Promise<void> => {
    if (!(await fsp.stat(p)).isDirectory()) {
      hash.update(`${rel}\0`).update(await fsp.readFile(p));
      return;
    }
    for (const name of (await fsp.readdir(p)).sort()) await walk(join(p, name), `${rel}/${name}`);
  };
  await walk(path, "");
  return hash.digest("hex");
}

function report(rows: Row[], o: Options, version: string): void {
  const w = Math.max(...rows.map((r) => r.subject.length), 10);
  const what = o.tree
    ? `SFTP, a tree of ${o.tree} files (100 B–4 KiB), median of ${o.runs} round-robin rounds (files/s)`
    : `SFTP ${o.mib} MiB, median of ${o.runs} round-robin rounds (MB/s)`;
  const lines = [
    what,
    `| ${"subject".padEnd(w)} | cipher              |     get |     put |`,
    `| ${"-".repeat(w)} | :------------------ | ------: | ------: |`,
    ...rows.map((r) =>
      `| ${r.subject.padEnd(w)} | ${r.cipher.replace("@openssh.com", "").padEnd(19)} | ${
        r.get.toFixed(0).padStart(7)
      } | ${r.put.toFixed(0).padStart(7)} |`
    ),
  ];
  const openssh = (cipher: string) =>
    rows.find((r) =>
      r.subject.startsWith("OpenSSH sftp ") && !r.subject.includes("sshts server") &&
      r.cipher === cipher
    );
  const ssh2d = rows.find((r) => r.subject.includes("(defaults)"));
  const ssh2t = rows.find((r) => r.subject.includes("255 KiB"));
  const ratio = (a: Row, b: Row | undefined) =>
    b ? `get ${(a.get / b.get).toFixed(2)}x, put ${(a.put / b.put).toFixed(2)}x` : "n/a";
  lines.push("", "Ratios (above 1: faster):");
  for (const r of rows.filter((x) => x.subject.startsWith("sshts client"))) {
    lines.push(
      `  ${r.subject}: vs OpenSSH sftp ${version} (${r.cipher.replace("@openssh.com", "")}) ${
        ratio(r, openssh(r.cipher))
      }; ` +
        `vs ssh2 defaults ${ratio(r, ssh2d)}; vs ssh2 255 KiB ${ratio(r, ssh2t)}`,
    );
  }
  for (const r of rows.filter((x) => x.subject.includes("sshts server"))) {
    const sshd = openssh(r.cipher);
    lines.push(`  ${r.subject}: vs sshd's sftp-server ${ratio(r, sshd)}`);
  }
  console.log(lines.join("\n"));
}

const args = process.argv.slice(2);
const wi = args.indexOf("--worker");
if (wi >= 0) {
  const job = JSON.parse(args[wi + 2]!);
  (args[wi + 1] === "server" ? serverWorker(job) : clientWorker(job)).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  await main();
}
