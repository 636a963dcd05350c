/**
 * SCP download (get) and upload (put) throughput, in one run, over each
 * protocol (legacy `scp -t`/`scp -f`, and SFTP), for:
 *
 * - this library's `scp()` on Node, Deno and Bun;
 * - OpenSSH's `scp` (the machine's 9.2): `scp -O` (legacy) and `scp` (SFTP mode);
 * - OpenSSH's `scp -O` against this library's server (`listen({ scp })`) on Node.
 *
 * All against one OpenSSH server on loopback (a conformance fixture: needs root, sshd, scp).
 *
 * ```sh
 * node_modules/.bin/node bench/scp_bench.ts [--mib 256] [--runs 1] [--only sshts,openssh,server]
 *   [--runtimes node,deno,bun]
 * ```
 *
 * MB/s = 10^6 bytes/s, median of `--runs` round-robin rounds. `scp()` is timed on an open
 * connection, less the median time of the same call copying a 1-byte file on that
 * connection (a legacy copy starts its `scp` process on the server, an SFTP copy its SFTP
 * session). OpenSSH's `scp` is one process per copy, timed whole, less the median time of
 * the same command copying a 1-byte file (its handshake and session start). The cipher is
 * AES-128-GCM for every row (on Deno through the system's libcrypto); a Deno without it
 * (`SSH_LIBCRYPTO=0`) uses chacha20-poly1305, as `connect()` would choose, and is compared
 * with OpenSSH using the same cipher. Our server is a long-lived process: it gets one untimed
 * get and put first (printed), since a fresh process's first transfers include the JIT's
 * warm-up and sshd, compiled ahead of time, has none.
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
  prepareRun,
  type TransferSubject,
  warmUpLongLived,
} from "./e2e/transfer_files.ts";

const GCM = "aes128-gcm@openssh.com";
const CHACHA = "chacha20-poly1305@openssh.com";
const SELF = join(REPO_ROOT, "bench", "scp_bench.ts");
type Protocol = "scp" | "sftp";
const PROTOCOLS: readonly Protocol[] = ["scp", "sftp"];

interface Options {
  mib: number;
  runs: number;
  only: Set<string> | undefined;
  runtimes: Set<string> | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get("only");
  const rts = get("runtimes");
  return {
    mib: Number(get("mib") ?? 256),
    runs: Number(get("runs") ?? 1),
    only: only ? new Set(only.split(",")) : undefined,
    runtimes: rts ? new Set(rts.split(",")) : undefined,
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
  protocol: Protocol;
  remote: string;
  /** A 1-byte file on the server. */
  tiny: string;
  remoteUp: string;
  local: string;
}

async function clientWorker(job: ClientJob): Promise<void> {
  const { connect } = await import("../io/client/connect.ts");
  const { scp } = await import("../io/scp/scp.ts");
  await using conn = await connect(job.host, {
    port: job.port,
    username: job.user,
    clientKeys: [job.keyText],
    knownHosts: job.knownHostsPath,
    kexAlgs: ["curve25519-sha256"],
    encryptionAlgs: [job.cipher],
  });
  const timed = async (from: Parameters<typeof scp>[0], to: Parameters<typeof scp>[1]) => {
    const t0 = performance.now();
    await scp(from, to, { protocol: job.protocol });
    return performance.now() - t0;
  };
  const get = await timed([conn, job.remote], job.local);
  const put = await timed(job.local, [conn, job.remoteUp]);
  // Less what a 1-byte copy costs on this connection (the remote scp process or the SFTP
  // session starting, the open and close), as OpenSSH's rows are less their 1-byte copy:
  // measured after the big copies, so these do not warm anything up for them.
  const tinyGet: number[] = [];
  const tinyPut: number[] = [];
  for (let i = 0; i < 3; i++) {
    tinyGet.push(await timed([conn, job.tiny], `${job.local}.tiny`));
    tinyPut.push(await timed(`${job.local}.tiny`, [conn, `${job.remoteUp}.tiny`]));
  }
  process.stdout.write(
    JSON.stringify({ get: get - median(tinyGet), put: put - median(tinyPut) }) + "\n",
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
    scp: { root: job.root },
    sftp: { root: job.root },
  });
  process.stdout.write(JSON.stringify({ port: server.address.port }) + "\n");
  for await (const _ of process.stdin) { /* runs until stdin closes */ }
  await server.close();
  process.exit(0);
}

// ---- the orchestrator ----

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
    child.stderr.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
    child.stdin.end("");
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

async function startOurServer(rt: Runtime, job: ServerJob) {
  const cmd = rt.command(SELF);
  const child = spawn(cmd[0]!, [...cmd.slice(1), "--worker", "server", JSON.stringify(job)], {
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
  return {
    port,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await closed;
      clearTimeout(timer);
    },
  };
}

interface ScpTarget {
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
  cipher: string;
}

/** Runs OpenSSH's scp; resolves with the wall time in ms. */
async function opensshScp(t: ScpTarget, protocol: Protocol, src: string, dst: string) {
  const argv = [
    "scp",
    ...(protocol === "scp" ? ["-O"] : ["-s"]),
    "-F",
    "/dev/null",
    "-P",
    String(t.port),
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
    "KexAlgorithms=curve25519-sha256",
    "-c",
    t.cipher,
    "-i",
    t.keyPath,
    src,
    dst,
  ];
  const t0 = performance.now();
  const r = await run(argv);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`scp failed: ${r.err.trim()}`);
  return ms;
}

async function opensshRun(
  t: ScpTarget,
  protocol: Protocol,
  remote: string,
  remoteUp: string,
  tiny: string,
  local: string,
) {
  const at = (p: string) => `${t.user}@127.0.0.1:${p}`;
  const base: number[] = [];
  for (let i = 0; i < 3; i++) base.push(await opensshScp(t, protocol, at(tiny), `${local}.tiny`));
  const handshake = median(base);
  const get = (await opensshScp(t, protocol, at(remote), local)) - handshake;
  const put = (await opensshScp(t, protocol, local, at(remoteUp))) - handshake;
  return { get, put };
}

interface Subject extends TransferSubject {
  readonly protocol: Protocol;
  readonly cipher: string;
}

interface Row {
  subject: string;
  protocol: Protocol;
  cipher: string;
  get: number;
  put: number;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const want = (k: string) => !o.only || o.only.has(k);
  const bytes = o.mib * 1024 * 1024;
  const mbs = (ms: number) => bytes / 1e6 / (ms / 1000);
  const { runtimes } = detectRuntimes();
  const ours = runtimes.filter((r) =>
    ["node", "deno", "bun"].includes(r.id) && (!o.runtimes || o.runtimes.has(r.id))
  );
  // Each runtime's default cipher: AES-GCM on Node and Bun, and on Deno too when the
  // system's libcrypto does it (Deno runs with -A here); chacha20-poly1305 for a Deno
  // without it (SSH_LIBCRYPTO=0), as connect() would choose.
  const denoCipher = process.env.SSH_LIBCRYPTO === "0" ? CHACHA : GCM;
  const cipherOf = (rt: Runtime) => (rt.id === "deno" ? denoCipher : GCM);

  const f: PeerFixture = await startPeer("openssh");
  const local = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-bench-"));
  const base = `scp-bench-${process.pid}`;
  const remote = `${f.user.home}/${base}.bin`;
  const tiny = `${f.user.home}/${base}.tiny`;
  const hostSrc = join(f.user.hostHome, `${base}.bin`);
  const subjects: Subject[] = [];
  const stops: (() => Promise<void>)[] = [];
  const rows: Row[] = [];
  try {
    await makeFile(hostSrc, bytes);
    await fsp.writeFile(join(f.user.hostHome, `${base}.tiny`), "x");
    const key = f.clientKeys[0]!;
    const target = (cipher: string): ScpTarget => ({
      port: f.port,
      user: f.user.name,
      keyPath: key.privateKeyPath,
      knownHostsPath: f.knownHostsPath,
      cipher,
    });
    const ciphers = [...new Set(ours.map(cipherOf))];
    for (const protocol of PROTOCOLS) {
      if (want("sshts")) {
        for (const rt of ours) {
          const job: ClientJob = {
            host: f.host,
            port: f.port,
            user: f.user.name,
            keyText: key.privateKeyText,
            knownHostsPath: f.knownHostsPath,
            cipher: cipherOf(rt),
            protocol,
            remote,
            tiny,
            remoteUp: `${f.user.home}/${base}-up-${rt.id}-${protocol}.bin`,
            local: join(local, `ours-${rt.id}-${protocol}.bin`),
          };
          subjects.push({
            subject: `sshts scp(), ${rt.label}`,
            protocol,
            cipher: job.cipher,
            writes: [job.local, join(f.user.hostHome, `${base}-up-${rt.id}-${protocol}.bin`)],
            reads: [hostSrc],
            run: () =>
              lastJson([...rt.command(SELF), "--worker", "client", JSON.stringify(job)], rt.id),
          });
        }
      }
      if (want("openssh")) {
        for (const cipher of ciphers) {
          subjects.push({
            subject: `OpenSSH scp ${f.version}`,
            protocol,
            cipher,
            writes: [join(local, "openssh.bin"), join(f.user.hostHome, `${base}-up-openssh.bin`)],
            reads: [hostSrc],
            run: () =>
              opensshRun(
                target(cipher),
                protocol,
                remote,
                `${f.user.home}/${base}-up-openssh.bin`,
                tiny,
                join(local, "openssh.bin"),
              ),
          });
        }
      }
    }
    if (want("server")) {
      const m = await ensureKeyMaterial();
      const hostKey = m.hostKeys[0]!;
      const root = join(local, "root");
      await fsp.mkdir(root);
      await fsp.copyFile(hostSrc, join(root, "src.bin"));
      await fsp.writeFile(join(root, "tiny"), "x");
      const node = ours.find((r) => r.id === "node")!;
      const srv = await startOurServer(node, {
        hostKeyPath: hostKey.privateKeyPath,
        authorizedKey: m.clientKeys[0]!.publicKeyLine,
        root,
      });
      stops.push(srv.stop);
      const known = join(local, "known_hosts_ours");
      await fsp.writeFile(known, `[127.0.0.1]:${srv.port} ${hostKey.publicKeyLine}\n`);
      for (const protocol of PROTOCOLS) {
        const t: ScpTarget = {
          port: srv.port,
          user: "bench",
          keyPath: m.clientKeys[0]!.privateKeyPath,
          knownHostsPath: known,
          cipher: GCM,
        };
        subjects.push({
          subject: `OpenSSH scp -> sshts server, ${node.label}`,
          protocol,
          longLived: true,
          cipher: GCM,
          writes: [join(local, "srv.bin"), join(root, "up.bin")],
          reads: [join(root, "src.bin")],
          run: () =>
            opensshRun(t, protocol, "/src.bin", "/up.bin", "/tiny", join(local, "srv.bin")),
        });
      }
    }

    console.error(
      `scp bench: ${o.mib} MiB, ${o.runs} round(s) over ${subjects.length} subjects, OpenSSH ${f.version} server`,
    );
    await warmUpLongLived(subjects, mbs, (l) => console.error(l));
    const results = subjects.map(() => ({ get: [] as number[], put: [] as number[] }));
    for (let round = 0; round < o.runs; round++) {
      for (const [i, s] of subjects.entries()) {
        await prepareRun(s);
        const r = await s.run();
        results[i]!.get.push(r.get);
        results[i]!.put.push(r.put);
        console.error(
          `  round ${round + 1}: ${s.subject} [${s.protocol}] (${s.cipher}) get ${
            mbs(r.get).toFixed(0)
          }, put ${mbs(r.put).toFixed(0)} MB/s`,
        );
      }
    }
    for (const [i, s] of subjects.entries()) {
      rows.push({
        subject: s.subject,
        protocol: s.protocol,
        cipher: s.cipher,
        get: mbs(median(results[i]!.get)),
        put: mbs(median(results[i]!.put)),
      });
    }
    // Sanity: what our scp() uploaded is what it downloaded.
    const h = async (p: string) => createHash("sha256").update(await fsp.readFile(p)).digest("hex");
    const want0 = await h(hostSrc);
    for (const rt of want("sshts") ? ours : []) {
      for (const protocol of PROTOCOLS) {
        const up = join(f.user.hostHome, `${base}-up-${rt.id}-${protocol}.bin`);
        if ((await h(up)) !== want0) throw new Error(`Upload by ${rt.id} (${protocol}) differs`);
      }
    }
  } finally {
    for (const s of stops) await s().catch(() => {});
    await fsp.rm(local, { recursive: true, force: true });
    for (const n of await fsp.readdir(f.user.hostHome)) {
      if (n.startsWith(base)) await fsp.rm(join(f.user.hostHome, n), { force: true });
    }
    await f.stop();
  }
  report(rows, o, f.version);
}

function report(rows: Row[], o: Options, version: string): void {
  const w = Math.max(...rows.map((r) => r.subject.length), 10);
  const c = (x: string) => x.replace("@openssh.com", "");
  const lines = [
    `SCP ${o.mib} MiB, median of ${o.runs} round-robin round(s) (MB/s)`,
    `| ${"subject".padEnd(w)} | protocol | cipher            |     get |     put |`,
    `| ${"-".repeat(w)} | :------- | :---------------- | ------: | ------: |`,
    ...rows.map((r) =>
      `| ${r.subject.padEnd(w)} | ${(r.protocol === "scp" ? "legacy" : "sftp").padEnd(8)} | ${
        c(r.cipher).padEnd(17)
      } | ${r.get.toFixed(0).padStart(7)} | ${r.put.toFixed(0).padStart(7)} |`
    ),
  ];
  lines.push("", "Ratios against OpenSSH's scp, same protocol and cipher (above 1: faster):");
  for (const r of rows.filter((x) => !x.subject.startsWith("OpenSSH scp " + version))) {
    const ref = rows.find((x) =>
      x.subject === `OpenSSH scp ${version}` && x.protocol === r.protocol && x.cipher === r.cipher
    );
    if (!ref) continue;
    lines.push(
      `  ${r.subject} [${r.protocol === "scp" ? "legacy" : "sftp"}]: get ${
        (r.get / ref.get).toFixed(2)
      }x, put ${(r.put / ref.put).toFixed(2)}x`,
    );
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
