/**
 * Server benchmark: handshakes per second and memory per idle authenticated connection for
 * our `listen()` on Node, Deno and Bun, next to OpenSSH's sshd (the conformance fixture), as
 * ratios.
 *
 * - Handshakes: OpenSSH's `ssh` logs in (curve25519, ed25519 host and user keys,
 *   chacha20-poly1305) and runs `true`, from several loops at once for a few seconds.
 * - Memory: our client holds N connections open, authenticated and idle (no channel); the
 *   server's proportional set size (PSS, so pages shared between sshd's processes count once)
 *   grows by that much over the idle server, after a garbage collection. For sshd, every
 *   process of its tree counts (privileged monitor and user child per connection).
 *
 * Run (as root, for sshd): `node bench/server_bench.ts` (or `deno run -A`, `bun`), options
 * `--runtimes node,deno,bun`, `--seconds 5`, `--concurrency 4`, `--connections 1000`,
 * `--no-sshd`.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const USER = "sshtest";

// ---- the server child: `--serve` ----

async function serve(): Promise<void> {
  const { listen } = await import("../io/server/listen.ts");
  const { ensureKeyMaterial } = await import("../conformance/fixtures/keys.ts");
  const m = await ensureKeyMaterial();
  const server = await listen({
    port: 0,
    hostKeys: [m.hostKeys.find((k) => k.name === "ed25519")!.privateKeyPath],
    authorizedClientKeys: m.clientKeys.map((k) => k.publicKeyLine).join("\n") + "\n",
    processFactory: () => {},
    maxStartups: 100,
  });
  process.stdout.write(`PORT ${server.address.port}\n`);
  let buf = "";
  process.stdin.on("data", (b: Uint8Array) => {
    buf += new TextDecoder().decode(b);
    for (let nl; (nl = buf.indexOf("\n")) >= 0;) {
      const cmd = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (cmd === "gc") {
        collectGarbage();
        process.stdout.write(`ok ${server.connections}\n`);
      }
      if (cmd === "quit") void server.close().then(() => process.exit(0));
    }
  });
}

function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  for (let i = 0; i < 3; i++) {
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
  }
}

// ---- measuring ----

/** Proportional set size of a process, in KiB (from /proc; 0 if gone). */
function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU time of a process in ms, with its reaped children (sshd's per-connection processes
 * are reaped by the listener, so their time lands in its cutime/cstime).
 */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14..17 of stat (utime, stime, cutime, cstime), in clock ticks of 10 ms here.
    return [11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0) * 10;
  } catch {
    return 0;
  }
}

interface Target {
  readonly port: number;
  readonly knownHostsPath: string;
  /** Processes whose memory counts (re-read each time: sshd forks per connection). */
  pids(): number[];
  /** Runs a garbage collection where there is one. */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

interface Keys {
  readonly clientKeyPath: string;
  readonly clientKeyText: string;
  readonly hostKeyLine: string;
}

/**
 * Runs `ssh … true` in `concurrency` loops for `seconds`; returns completed logins per second
 * and the server's CPU time per login.
 */
async function handshakes(
  target: Target,
  keys: Keys,
  seconds: number,
  concurrency: number,
): Promise<{ perSecond: number; cpuMsPerLogin: number }> {
  const args = [
    "-F",
    "/dev/null",
    "-p",
    String(target.port),
    "-l",
    USER,
    "-i",
    keys.clientKeyPath,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${target.knownHostsPath}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "KexAlgorithms=curve25519-sha256",
    "-o",
    "HostKeyAlgorithms=ssh-ed25519",
    "-o",
    "Ciphers=chacha20-poly1305@openssh.com",
    "127.0.0.1",
    "true",
  ];
  const one = () =>
    new Promise<boolean>((resolve) => {
      const c = spawn("ssh", args, { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      c.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
      c.on("close", (status) => {
        if (status !== 0) process.stderr.write(`ssh failed (${status}): ${err}`);
        resolve(status === 0);
      });
    });
  // Warm up (JIT, caches) before timing.
  for (let i = 0; i < 3; i++) await one();
  let done = 0;
  const cpuBefore = cpuMs(target.pids()[0]!);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) if (await one()) done++;
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    perSecond: done / elapsed,
    cpuMsPerLogin: (cpuMs(target.pids()[0]!) - cpuBefore) / done,
  };
}

/** Opens `n` idle authenticated connections with our client; returns the PSS growth per connection in KiB. */
async function idleMemory(target: Target, keys: Keys, n: number): Promise<number> {
  const { connect } = await import("../io/client/connect.ts");
  const open = (): Promise<{ close(): Promise<void> }> =>
    connect(
      "127.0.0.1",
      {
        port: target.port,
        username: USER,
        clientKeys: [keys.clientKeyText],
        knownHosts: null,
        kexAlgs: ["curve25519-sha256"],
        encryptionAlgs: ["chacha20-poly1305@openssh.com"],
        hostKeyRotation: false,
      } as Parameters<typeof connect>[1],
    );
  // A few connections first, so one-time costs (code, caches) are in the baseline.
  await Promise.all((await Promise.all(Array.from({ length: 5 }, open))).map((c) => c.close()));
  await target.gc();
  const before = target.pids().reduce((s, p) => s + pssKiB(p), 0);
  const conns: { close(): Promise<void> }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        next++;
        conns.push(await open());
      }
    }),
  );
  await target.gc();
  const after = target.pids().reduce((s, p) => s + pssKiB(p), 0);
  await Promise.all(conns.map((c) => c.close().catch(() => {})));
  return (after - before) / n;
}

// ---- targets ----

function lines(child: ChildProcess): () => Promise<string> {
  let buf = "";
  const waiting: ((l: string) => void)[] = [];
  const queued: string[] = [];
  child.stdout!.on("data", (b: Uint8Array) => {
    buf += new TextDecoder().decode(b);
    for (let nl; (nl = buf.indexOf("\n")) >= 0;) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(l);
      else queued.push(l);
    }
  });
  return () =>
    queued.length ? Promise.resolve(queued.shift()!) : new Promise((r) => waiting.push(r));
}

const RUNTIMES: Record<string, (script: string) => string[]> = {
  node: (s) => [join(REPO, "node_modules/.bin/node"), "--expose-gc", s],
  deno: (s) => [join(REPO, "node_modules/.bin/deno"), "run", "-A", "--v8-flags=--expose-gc", s],
  bun: (s) => [join(REPO, "node_modules/.bin/bun"), s],
};

async function ourServer(runtime: string, keys: Keys, dir: string): Promise<Target> {
  const [cmd, ...args] = RUNTIMES[runtime]!(SELF);
  const child = spawn(cmd!, [...args, "--serve"], { stdio: ["pipe", "pipe", "inherit"] });
  const next = lines(child);
  const first = await next();
  const port = Number(/^PORT (\d+)$/.exec(first)?.[1]);
  if (!port) throw new Error(`${runtime} server did not start: ${first}`);
  const knownHostsPath = join(dir, `known_hosts_${runtime}`);
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${keys.hostKeyLine}\n`);
  return {
    port,
    knownHostsPath,
    pids: () => [child.pid!],
    gc: async () => {
      child.stdin!.write("gc\n");
      await next();
    },
    stop: async () => {
      child.stdin!.write("quit\n");
      await new Promise((r) => child.on("close", r));
    },
  };
}

async function sshdServer(): Promise<Target> {
  const { startPeer } = await import("../conformance/fixtures/peers.ts");
  const { descendantsOf } = await import("../conformance/fixtures/command.ts");
  const f = await startPeer(
    "openssh",
    {
      maxStartups: "100:30:200",
      hostKeys: ["ed25519"],
      logLevel: "ERROR",
    } as Parameters<typeof startPeer>[1],
  );
  return {
    port: f.port,
    knownHostsPath: f.knownHostsPath,
    pids: () => [f.pid, ...descendantsOf(f.pid)],
    gc: () => Promise.resolve(),
    stop: () => f.stop(),
  };
}

// ---- main ----

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
}

interface Row {
  server: string;
  handshakes: number;
  cpu: number;
  kib: number;
}

async function main(): Promise<void> {
  const runtimes = option("runtimes", "node,deno,bun").split(",");
  const seconds = Number(option("seconds", "5"));
  const concurrency = Number(option("concurrency", "4"));
  const connections = Number(option("connections", "1000"));
  const { ensureKeyMaterial } = await import("../conformance/fixtures/keys.ts");
  const m = await ensureKeyMaterial();
  const client = m.clientKeys.find((k) => k.name === "ed25519")!;
  const keys: Keys = {
    clientKeyPath: client.privateKeyPath,
    clientKeyText: client.privateKeyText,
    hostKeyLine: m.hostKeys.find((k) => k.name === "ed25519")!.publicKeyLine,
  };
  const dir = mkdtempSync(join(tmpdir(), "sshts-server-bench-"));
  const rows: Row[] = [];
  const measure = async (name: string, start: () => Promise<Target>) => {
    const t = await start();
    try {
      const hs = await handshakes(t, keys, seconds, concurrency);
      const kib = await idleMemory(t, keys, connections);
      rows.push({ server: name, handshakes: hs.perSecond, cpu: hs.cpuMsPerLogin, kib });
      process.stderr.write(
        `${name}: ${hs.perSecond.toFixed(1)} logins/s, ${
          hs.cpuMsPerLogin.toFixed(1)
        } ms CPU/login, ` +
          `${kib.toFixed(1)} KiB/conn\n`,
      );
    } finally {
      await t.stop();
    }
  };
  try {
    if (!process.argv.includes("--no-sshd")) {
      try {
        await measure("OpenSSH sshd 9.2", sshdServer);
      } catch (e) {
        process.stderr.write(`sshd skipped: ${(e as Error).message.split("\n")[0]}\n`);
      }
    }
    for (const r of runtimes) await measure(`sshts on ${r}`, () => ourServer(r, keys, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.server.startsWith("OpenSSH"));
  const head = [
    "server",
    "logins/s",
    "vs sshd",
    "server CPU ms/login",
    "vs sshd",
    "KiB per idle conn",
    "vs sshd",
  ];
  const ratio = (a: number, b: number | undefined) => b ? `${(a / b).toFixed(2)}x` : "-";
  const body = rows.map((r) => [
    r.server,
    r.handshakes.toFixed(1),
    ratio(r.handshakes, base?.handshakes),
    r.cpu.toFixed(1),
    ratio(r.cpu, base?.cpu),
    r.kib.toFixed(1),
    ratio(r.kib, base?.kib),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(
    `\nServer: ${seconds} s of ssh logins (${concurrency} at once), ${connections} idle connections\n`,
  );
  console.log(fmt(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(fmt(b));
  console.log(
    "\nlogins/s (ssh clients share the machine's cores, so this is bounded by them): higher is " +
      "better;\nserver CPU per login (login + `true`; sshd's includes its forked processes, PAM " +
      "and the shell): lower is better;\nKiB per idle authenticated connection (PSS growth): " +
      "lower is better.",
  );
}

if (process.argv.includes("--serve")) await serve();
else await main();
