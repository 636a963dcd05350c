/**
 * Fan-out bench (issue #15), in one run:
 *
 * - **fleet**: N hosts (default 1,000) served by our `listen()` on distinct loopback addresses
 *   (127.0.1.1, 127.0.1.2, …, 250 per /24) in a separate process; `runMany(hosts, "true")` at
 *   concurrency C (default 200) against the `ssh2` package doing the same (N clients, C at once):
 *   wall time, client CPU per host (user + sys of the client process), peak client RSS (VmHWM),
 *   hosts lost.
 * - **sshd**: 200 concurrent connect + `exec true` against OpenSSH's sshd (the conformance
 *   fixture: needs root, `sshd`, `ssh`): ours, `ssh2`, and 200 OpenSSH `ssh` processes.
 * - **idle**: 1,000 idle authenticated connections between two processes of the same runtime
 *   (client: `connect()`, server: `listen()`), RSS growth per connection on each side after a
 *   full garbage collection, for Node, Deno and Bun.
 * - **login**: client CPU per login (connect + curve25519 kex + ed25519 auth + `exec true` +
 *   close), sequential, on each runtime, against the fleet server; then the same as users call
 *   `connect()`: options from an ssh_config file (identity file, a hashed known_hosts of 1,010
 *   lines) and the default algorithms (`--defaults` of the login client).
 *
 * Run: `node_modules/.bin/node bench/fanout_bench.ts` with `--only fleet,sshd,idle,login`,
 * `--hosts 1000`, `--concurrency 200`, `--idle 1000`, `--sshd-conns 200`, `--logins 300`,
 * `--runtimes node,deno,bun`. Every client and server runs in its own child process; the
 * orchestrator only starts them and prints the tables (Markdown) on stdout.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const USER = "sshtest";

// ---- helpers shared by every role ----

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
}

/** The i-th fleet address: 127.0.1.1 … 127.0.1.250, 127.0.2.1 …, one per host. */
export function fleetAddress(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/**
 * A full, memory-reducing collection: what the runtime does under memory pressure. On V8 (Node,
 * Deno) a plain `gc()` leaves the young generation at the size a burst of handshakes grew it to
 * (32 → 64 MiB here, a per-process allowance, not memory any connection holds); the "last
 * resort" collection also shrinks it. Bun: a full collection, then `Bun.shrink()` returns freed
 * pages. The same collection runs before the baseline and before each reading.
 */
function collectGarbage(): void {
  const g = globalThis as {
    gc?: (o?: { type: string; execution: string; flavor?: string }) => void;
    Bun?: { gc(force: boolean): void; shrink?(): void };
  };
  const reduce = option("gc", "reduce") === "reduce";
  for (let i = 0; i < 3; i++) {
    if (g.Bun) g.Bun.gc(true);
    else if (reduce) g.gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
    else g.gc?.();
  }
  if (reduce) g.Bun?.shrink?.();
}

/**
 * Resident set size and its high-water mark of this process (from /proc), and its JavaScript
 * heap in use plus memory outside the heap that JavaScript objects hold (`heapUsed` +
 * `external`), KiB.
 */
function memKiB(): { rss: number; hwm: number; resident: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const u = process.memoryUsage();
  return {
    rss: Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1] ?? 0),
    hwm: Number(/^VmHWM:\s+(\d+)/m.exec(s)?.[1] ?? 0),
    resident: Math.round((u.heapUsed + u.external) / 1024),
  };
}

/** user + sys CPU of this process, ms (from /proc: every runtime has it). */
function cpuMs(pid: number | "self" = "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const tick = 10; // USER_HZ = 100 on Linux
  return (Number(f[11]) + Number(f[12])) * tick;
}

/** user + sys CPU ms of one thread of this process (10 ms ticks; from /proc). */
function threadCpuMs(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Precise user+sys CPU ms where the runtime has process.cpuUsage (all three do). */
function cpuNow(): number {
  const u = (process as { cpuUsage?: () => { user: number; system: number } }).cpuUsage?.();
  return u ? (u.user + u.system) / 1000 : cpuMs();
}

/** Lines from stdin, as an async queue. */
function stdinLines(): () => Promise<string> {
  let buf = "";
  const waiting: ((l: string) => void)[] = [];
  const queued: string[] = [];
  process.stdin.on("data", (b: Uint8Array) => {
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

function say(line: string): void {
  process.stdout.write(line + "\n");
}

async function pool<T>(n: number, concurrency: number, one: (i: number) => Promise<T>) {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

// ---- role: the fleet server ----

async function fleetServer(): Promise<void> {
  const { listen } = await import("../io/server/listen.ts");
  const { readPrivateKey } = await import("../io/keys/files.ts");
  const hosts = Number(option("hosts", "1000"));
  // One key object for every listener, as one server process serving many addresses would
  // hold it (a path per listener would load, and prepare for signing, 1,000 copies of it:
  // each host's only login would then pay the key's one-time set-up).
  const hostKey = await readPrivateKey(readFileSync(option("host-key", ""), "utf8"));
  const authorized = readFileSync(option("authorized", ""), "utf8");
  const base = {
    hostKeys: [hostKey],
    authorizedClientKeys: authorized,
    processFactory: (p: { exit(n: number): void }) => p.exit(0),
    maxStartups: 100_000,
    sendHostKeys: false,
  };
  const first = await listen({ ...base, host: fleetAddress(0), port: 0 });
  const port = first.address.port;
  const servers = [first];
  for (let i = 1; i < hosts; i++) {
    servers.push(await listen({ ...base, host: fleetAddress(i), port }));
  }
  say(`READY ${port}`);
  const next = stdinLines();
  for (;;) {
    const cmd = await next();
    if (cmd === "gc") {
      await new Promise((r) => setTimeout(r, Number(option("settle", "500"))));
      collectGarbage();
      const m = memKiB();
      const conns = servers.reduce((s, x) => s + x.connections, 0);
      say(`MEM ${m.rss} ${conns} ${cpuNow()} ${m.resident}`);
    } else if (cmd === "quit") {
      await Promise.all(servers.map((s) => s.close()));
      process.exit(0);
    }
  }
}

// ---- role: clients ----

interface ClientSetup {
  readonly port: number;
  readonly keyText: string;
  readonly keyPath: string;
}

function clientSetup(): ClientSetup {
  const keyPath = option("key", "");
  return { port: Number(option("port", "0")), keyText: readFileSync(keyPath, "utf8"), keyPath };
}

async function sshtsConnectOptions(s: ClientSetup) {
  const { readPrivateKey } = await import("../io/keys/files.ts");
  const key = await readPrivateKey(s.keyText);
  return {
    port: s.port,
    username: USER,
    clientKeys: [key],
    knownHosts: null,
    config: false,
    agent: false,
    kexAlgs: ["curve25519-sha256"],
  } as const;
}

/**
 * Holds N idle authenticated connections, opened in two halves; after each half (and a garbage
 * collection) reports its memory (`HALF`, `HELD`: RSS and RSS less LazyFree, KiB).
 */
async function idleClient(): Promise<void> {
  const s = clientSetup();
  const n = Number(option("n", "1000"));
  const impl = option("impl", "sshts");
  let open: (i: number) => Promise<{ close(): Promise<unknown> | void }>;
  if (impl === "ssh2") {
    const { Client } = createRequire(import.meta.url)("ssh2");
    const privateKey = readFileSync(s.keyPath);
    open = (i) =>
      new Promise((resolve, reject) => {
        const sock = net.connect(s.port, fleetAddress(i % 1000));
        sock.setNoDelay(true);
        const c = new Client();
        c.on("error", reject);
        c.on("ready", () => resolve({ close: () => void c.end() }));
        c.connect({ sock, username: USER, privateKey, algorithms: { kex: ["curve25519-sha256"] } });
      });
  } else {
    const { connect } = await import("../io/client/connect.ts");
    const opts = await sshtsConnectOptions(s);
    open = (i) => connect(fleetAddress(i % 1000), opts);
  }
  // One-time costs (code, caches, WebAssembly) go into the baseline.
  for (const c of await pool(8, 4, open)) await c.close();
  const settle = async () => {
    await new Promise((r) => setTimeout(r, Number(option("settle", "500"))));
    collectGarbage();
  };
  await settle();
  const next = stdinLines();
  const mu0 = process.memoryUsage();
  const m0 = memKiB();
  say(`WARM ${m0.rss} ${m0.resident}`);
  await next();
  const half = Math.floor(n / 2);
  const conns = await pool(half, 50, open);
  await settle();
  const m1 = memKiB();
  say(`HALF ${m1.rss} ${m1.resident}`);
  await next();
  conns.push(...await pool(n - half, 50, (i) => open(i + half)));
  await settle();
  const mu1 = process.memoryUsage();
  const per = (k: "heapUsed" | "external" | "arrayBuffers" | "heapTotal") =>
    `${k} ${((mu1[k] - mu0[k]) / 1024 / n).toFixed(1)}`;
  process.stderr.write(
    `  idle ${impl} client per conn KiB: ${per("heapTotal")} ${per("heapUsed")} ${
      per("external")
    } ${per("arrayBuffers")}\n`,
  );
  const m2 = memKiB();
  say(`HELD ${m2.rss} ${m2.resident}`);
  if (option("snapshot", "") !== "") {
    const v8 = await import("node:v8");
    v8.writeHeapSnapshot(option("snapshot", ""));
    say("SNAP");
  }
  await next();
  await Promise.all(conns.map((c) => Promise.resolve(c.close()).catch(() => {})));
  process.exit(0);
}

/** One ssh2 login (curve25519, the key given) that runs `true` and closes. */
function ssh2Exec(port: number, host: string, privateKey: Uint8Array): Promise<void> {
  const { Client } = createRequire(import.meta.url)("ssh2");
  return new Promise<void>((resolve, reject) => {
    const sock = net.connect(port, host);
    sock.setNoDelay(true);
    const c = new Client();
    c.on("error", reject);
    c.on("ready", () => {
      c.exec("true", (err: Error | undefined, stream: NodeJS.ReadableStream) => {
        if (err) return reject(err);
        let code: number | undefined;
        stream.on("exit", (x: number) => (code = x));
        stream.on("close", () => {
          c.end();
          code === 0 ? resolve() : reject(new Error(`exit ${code}`));
        });
        stream.resume();
      });
    });
    c.connect({
      sock,
      username: USER,
      privateKey,
      algorithms: { kex: ["curve25519-sha256"] },
      readyTimeout: 60_000,
    });
  });
}

interface FleetReport {
  wallMs: number;
  cpuMs: number;
  peakRssKiB: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
}

async function fleetClient(): Promise<void> {
  const impl = option("impl", "sshts");
  const hosts = Number(option("hosts", "1000"));
  const concurrency = Number(option("concurrency", "200"));
  const s = clientSetup();
  const addr = (i: number) => option("target", "") || fleetAddress(i);
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const fail = (e: unknown) => {
    failed++;
    const k = (e as { code?: string }).code ?? (e as Error).message ?? String(e);
    errors[k] = (errors[k] ?? 0) + 1;
  };
  let run: () => Promise<void>;
  if (impl === "sshts") {
    const { runMany } = await import("../io/fanout/run_many.ts");
    const opts = await sshtsConnectOptions(s);
    const list = Array.from({ length: hosts }, (_, i) => addr(i));
    run = async () => {
      const conn: number[] = [], total: number[] = [];
      for await (const r of runMany(list, "true", { ...opts, concurrency, timeout: 60_000 })) {
        if (r.timing.connectMs !== undefined) conn.push(r.timing.connectMs);
        total.push(r.timing.totalMs);
        if (r.ok && r.exitStatus === 0) ok++;
        else fail(r.ok ? new Error(`exit ${r.exitStatus}`) : r.error);
      }
      const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]?.toFixed(1);
      process.stderr.write(
        `  sshts per host: connect median ${med(conn)} ms, total ${med(total)} ms\n`,
      );
    };
  } else {
    const privateKey = readFileSync(s.keyPath);
    const one = (host: string) => ssh2Exec(s.port, host, privateKey);
    run = async () => {
      await pool(hosts, concurrency, (i) => one(addr(i)).then(() => void ok++, fail));
    };
  }
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await run();
  const report: FleetReport = {
    wallMs: performance.now() - t0,
    cpuMs: cpuNow() - cpu0,
    peakRssKiB: memKiB().hwm,
    ok,
    failed,
    errors,
  };
  say(`REPORT ${JSON.stringify(report)}`);
  process.exit(0);
}

/**
 * A directory with the ssh_config file of `--defaults` logins: `IdentityFile` the client key,
 * `UserKnownHostsFile` a hashed known_hosts (`HashKnownHosts yes`, Debian's default) with
 * every fleet host on the port and a thousand other hosts, `IdentityAgent none`. Its files
 * are backdated, and the run waits until they have settled, as files written before a run
 * would have.
 */
async function defaultsConfig(s: ClientSetup): Promise<string> {
  const { mkdtempSync, writeFileSync, utimesSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { addKnownHost } = await import("../keys/trust/known_hosts.ts");
  const { readPublicKey } = await import("../io/keys/files.ts");
  const hostKey = await readPublicKey(readFileSync(option("host-pub", ""), "utf8"));
  const dir = mkdtempSync(join(tmpdir(), "sshts-defaults-"));
  let kh = "";
  for (let i = 0; i < 1000; i++) {
    kh += addKnownHost("", `other${i}.example`, 22, hostKey, { hashed: true });
  }
  const hosts = Number(option("hosts", "1000"));
  for (let i = 0; i < Math.min(hosts, 10); i++) {
    kh += addKnownHost("", fleetAddress(i), s.port, hostKey, { hashed: true });
  }
  const knownHosts = join(dir, "known_hosts"), config = join(dir, "config");
  writeFileSync(knownHosts, kh);
  writeFileSync(
    config,
    `Host *\n  UserKnownHostsFile ${knownHosts}\n  IdentityFile ${s.keyPath}\n  IdentityAgent none\n`,
  );
  const old = Date.now() / 1000 - 60;
  utimesSync(knownHosts, old, old);
  utimesSync(config, old, old);
  // Their change times are now (utimes sets it): files changed this recently are read again at
  // every connection until they settle (io/runtime/file_cache.ts). Files written before a run
  // have settled long since.
  const { SETTLE_MS } = await import("../io/runtime/file_cache.ts");
  await new Promise((r) => setTimeout(r, SETTLE_MS + 500));
  return config;
}

/** Sequential logins (connect + kex + auth + exec true + close); client CPU per login. */
async function loginClient(): Promise<void> {
  const { connect } = await import("../io/client/connect.ts");
  const s = clientSetup();
  const n = Number(option("n", "300"));
  const opts = await sshtsConnectOptions(s);
  const host = (i: number) => fleetAddress(i % Number(option("hosts", "1000")));
  const privateKey = readFileSync(s.keyPath);
  // --defaults: connect() as a user calls it, options from an ssh_config file (an identity
  // file, a hashed known_hosts of a thousand-odd lines) and the default algorithms.
  const defaults = process.argv.includes("--defaults")
    ? { port: s.port, username: USER, config: await defaultsConfig(s) }
    : undefined;
  const once = option("impl", "sshts") === "ssh2"
    ? (i: number) => ssh2Exec(s.port, host(i), privateKey)
    : async (i: number) => {
      const c = await connect(host(i), defaults ?? opts);
      const r = await c.run("true");
      if (r.exitStatus !== 0) throw new Error(`exit ${r.exitStatus}`);
      await c.close();
    };
  for (let i = 0; i < 30; i++) await once(i); // warm-up (JIT)
  const mainCpu0 = threadCpuMs(String(process.pid));
  const cpu0 = cpuNow();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once(i);
  const wall = performance.now() - t0;
  const total = cpuNow() - cpu0;
  // Where the CPU went: the main thread against the runtime's helper threads (GC, compilers).
  const main = threadCpuMs(String(process.pid)) - mainCpu0;
  say(
    `REPORT ${
      JSON.stringify({
        cpuMsPerLogin: total / n,
        mainThreadCpuMsPerLogin: main / n,
        msPerLogin: wall / n,
      })
    }`,
  );
  process.exit(0);
}

// ---- the orchestrator ----

const RUNTIMES: Record<string, (script: string) => string[]> = {
  node: (s) => [join(REPO, "node_modules/.bin/node"), "--expose-gc", s],
  deno: (s) => [join(REPO, "node_modules/.bin/deno"), "run", "-A", "--v8-flags=--expose-gc", s],
  bun: (s) => [join(REPO, "node_modules/.bin/bun"), s],
};

interface Child {
  readonly proc: ChildProcess;
  next(): Promise<string>;
  send(line: string): void;
  done: Promise<number | null>;
}

function child(runtime: string, args: string[]): Child {
  const [cmd, ...pre] = RUNTIMES[runtime]!(SELF);
  const proc = spawn(cmd!, [...pre, ...args, "--gc", option("gc", "reduce")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let buf = "";
  const waiting: ((l: string) => void)[] = [];
  const queued: string[] = [];
  proc.stdout!.on("data", (b: Uint8Array) => {
    buf += new TextDecoder().decode(b);
    for (let nl; (nl = buf.indexOf("\n")) >= 0;) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!/^(READY|MEM|WARM|HALF|HELD|REPORT|SNAP)\b/.test(l)) {
        process.stderr.write(`  [${runtime}] ${l}\n`);
        continue;
      }
      const w = waiting.shift();
      if (w) w(l);
      else queued.push(l);
    }
  });
  const done = new Promise<number | null>((r) => proc.on("close", r));
  void done.then((code) => {
    for (const w of waiting.splice(0)) w(`EXIT ${code}`);
  });
  return {
    proc,
    next: () =>
      queued.length ? Promise.resolve(queued.shift()!) : new Promise((r) => waiting.push(r)),
    send: (l) => proc.stdin!.write(l + "\n"),
    done,
  };
}

interface Keys {
  readonly hostKeyPath: string;
  readonly clientKeyPath: string;
  readonly authorizedPath: string;
}

async function fixtureKeys(): Promise<Keys> {
  const { ensureKeyMaterial } = await import("../conformance/fixtures/keys.ts");
  const { writeFileSync, mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const m = await ensureKeyMaterial();
  const client = m.clientKeys.find((k) => k.name === "ed25519")!;
  const dir = mkdtempSync(join(tmpdir(), "sshts-fanout-"));
  const authorizedPath = join(dir, "authorized_keys");
  writeFileSync(authorizedPath, client.publicKeyLine + "\n");
  return {
    hostKeyPath: m.hostKeys.find((k) => k.name === "ed25519")!.privateKeyPath,
    clientKeyPath: client.privateKeyPath,
    authorizedPath,
  };
}

async function startFleet(runtime: string, keys: Keys, hosts: number) {
  const srv = child(runtime, [
    "--role",
    "fleet-server",
    "--hosts",
    String(hosts),
    "--host-key",
    keys.hostKeyPath,
    "--authorized",
    keys.authorizedPath,
  ]);
  const ready = await srv.next();
  const port = Number(/^READY (\d+)/.exec(ready)?.[1]);
  if (!port) throw new Error(`${runtime} fleet server did not start: ${ready}`);
  const mem = async () => {
    srv.send("gc");
    const m = /^MEM (\d+) (\d+) ([\d.]+) (\d+)/.exec(await srv.next());
    return {
      rss: Number(m?.[1]),
      connections: Number(m?.[2]),
      cpuMs: Number(m?.[3]),
      resident: Number(m?.[4]),
    };
  };
  const stop = async () => {
    srv.send("quit");
    await srv.done;
  };
  return { port, mem, stop };
}

interface IdleRow {
  runtime: string;
  impl: string;
  n: number;
  /** KiB per connection: RSS growth over all n, over the second half only; heap + external. */
  client: { avg: number; marginal: number; avgResident: number };
  server: { avg: number; marginal: number; avgResident: number };
}

async function idle(runtime: string, keys: Keys, n: number, impl = "sshts"): Promise<IdleRow> {
  const fleet = await startFleet(
    runtime === "node-ssh2" ? "node" : runtime,
    keys,
    Math.min(n, 1000),
  );
  try {
    const snap = option("snapshot", "");
    const cl = child(runtime, [
      "--role",
      "idle-client",
      "--impl",
      impl,
      "--port",
      String(fleet.port),
      "--key",
      keys.clientKeyPath,
      "--n",
      String(n),
      "--settle",
      option("settle", "500"),
      ...(snap ? ["--snapshot", `${snap}-client-${runtime}.heapsnapshot`] : []),
    ]);
    const nums = async (tag: string) => {
      const l = await cl.next();
      const m = new RegExp(`^${tag} (\\d+) (\\d+)`).exec(l);
      if (!m) throw new Error(`idle client (${runtime}, ${impl}): ${l}`);
      return { rss: Number(m[1]), resident: Number(m[2]) };
    };
    const c0 = await nums("WARM");
    const s0 = await fleet.mem();
    cl.send("go");
    const c1 = await nums("HALF");
    const s1 = await fleet.mem();
    cl.send("go");
    const c2 = await nums("HELD");
    if (snap) await cl.next();
    const s2 = await fleet.mem();
    cl.send("quit");
    await cl.done;
    if (s2.connections !== n) {
      process.stderr.write(`warning: server holds ${s2.connections} connections, not ${n}\n`);
    }
    const half = Math.floor(n / 2);
    const side = (a: typeof c0, b: typeof c0, c: typeof c0) => ({
      avg: (c.rss - a.rss) / n,
      marginal: (c.rss - b.rss) / (n - half),
      avgResident: (c.resident - a.resident) / n,
    });
    return { runtime, impl, n, client: side(c0, c1, c2), server: side(s0, s1, s2) };
  } finally {
    await fleet.stop();
  }
}

async function fleetRun(
  impl: string,
  runtime: string,
  keys: Keys,
  port: number,
  hosts: number,
  concurrency: number,
  target?: string,
): Promise<FleetReport> {
  const cl = child(runtime, [
    "--role",
    "fleet-client",
    "--impl",
    impl,
    "--port",
    String(port),
    "--key",
    keys.clientKeyPath,
    "--hosts",
    String(hosts),
    "--concurrency",
    String(concurrency),
    ...(target ? ["--target", target] : []),
  ]);
  const line = await cl.next();
  await cl.done;
  const m = /^REPORT (.*)$/.exec(line);
  if (!m) throw new Error(`${impl} fleet client on ${runtime}: ${line}`);
  return JSON.parse(m[1]!) as FleetReport;
}

async function openSshProcesses(
  port: number,
  keyPath: string,
  knownHostsPath: string,
  n: number,
): Promise<FleetReport> {
  const args = [
    "-F",
    "/dev/null",
    "-p",
    String(port),
    "-l",
    USER,
    "-i",
    keyPath,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${knownHostsPath}`,
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
    "127.0.0.1",
    "true",
  ];
  // Children's CPU: the kernel adds reaped children's time to ours (cutime/cstime).
  const childCpu = () => {
    const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
    return (Number(f[13]) + Number(f[14])) * 10;
  };
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const cpu0 = childCpu();
  const t0 = performance.now();
  let peak = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        // GNU time prints ssh's peak RSS (KiB) as the last line of stderr.
        const c = spawn("/usr/bin/time", ["-f", "%M", "ssh", ...args], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        c.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
        c.on("close", (status) => {
          const lines = err.trim().split("\n");
          peak = Math.max(peak, Number(lines.pop()) || 0);
          err = lines.join("\n");
          if (status === 0) ok++;
          else {
            failed++;
            const k = err.trim().split("\n").pop() || `exit ${status}`;
            errors[k] = (errors[k] ?? 0) + 1;
          }
          resolve();
        });
      })),
  );
  return {
    wallMs: performance.now() - t0,
    cpuMs: childCpu() - cpu0,
    peakRssKiB: peak,
    ok,
    failed,
    errors,
  };
}

async function login(
  runtime: string,
  keys: Keys,
  port: number,
  n: number,
  impl = "sshts",
  defaults = false,
) {
  const cl = child(runtime, [
    "--role",
    "login-client",
    "--impl",
    impl,
    "--port",
    String(port),
    "--key",
    keys.clientKeyPath,
    "--n",
    String(n),
    // The defaults' known_hosts lists ten fleet hosts: the logins go round those.
    ...(defaults ? ["--defaults", "--hosts", "10", "--host-pub", `${keys.hostKeyPath}.pub`] : []),
  ]);
  const line = await cl.next();
  await cl.done;
  const m = /^REPORT (.*)$/.exec(line);
  if (!m) throw new Error(`login client on ${runtime}: ${line}`);
  return JSON.parse(m[1]!) as {
    cpuMsPerLogin: number;
    mainThreadCpuMsPerLogin: number;
    msPerLogin: number;
  };
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))
      .join(" | ") +
    " |";
  const sep = "| " +
    widths.map((w, i) => (i === 0 ? ":" + "-".repeat(w - 1) : "-".repeat(w - 1) + ":"))
      .join(" | ") +
    " |";
  return [line(head), sep, ...rows.map(line)].join("\n");
}

function loadAvg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function fleetRow(name: string, r: FleetReport, hosts: number): string[] {
  const errs = Object.entries(r.errors).map(([k, v]) => `${k} ×${v}`).join("; ");
  return [
    name,
    (r.wallMs / 1000).toFixed(2),
    (r.cpuMs / hosts).toFixed(2),
    (r.peakRssKiB / 1024).toFixed(0),
    `${r.ok}/${hosts}`,
    errs || "—",
  ];
}

async function main(): Promise<void> {
  const only = option("only", "fleet,sshd,idle,login").split(",");
  const runtimes = option("runtimes", "node,deno,bun").split(",");
  const hosts = Number(option("hosts", "1000"));
  const concurrency = Number(option("concurrency", "200"));
  const idleN = Number(option("idle", "1000"));
  const sshdN = Number(option("sshd-conns", "200"));
  const logins = Number(option("logins", "300"));
  const keys = await fixtureKeys();
  const out: string[] = [];
  const log = (s: string) => process.stderr.write(s + "\n");
  out.push(`Run ${new Date().toISOString()}, load average at start ${loadAvg()}`);

  if (only.includes("fleet")) {
    log(`fleet: ${hosts} hosts, concurrency ${concurrency}`);
    const fleet = await startFleet("node", keys, hosts);
    try {
      const rows: string[][] = [];
      const order = option("fleet-order", "ssh2,sshts,ssh2,sshts").split(",");
      const all: Record<string, FleetReport[]> = {};
      for (const impl of order) {
        const srv0 = await fleet.mem();
        const r = await fleetRun(impl, "node", keys, fleet.port, hosts, concurrency);
        const srv1 = await fleet.mem();
        (all[impl] ??= []).push(r);
        log(
          `  ${impl}: ${JSON.stringify(r)}; server CPU ${(srv1.cpuMs - srv0.cpuMs).toFixed(0)} ms`,
        );
        rows.push(fleetRow(impl === "sshts" ? "sshts runMany (node)" : "ssh2 (node)", r, hosts));
      }
      out.push(
        `\n### Simulated fleet: ${hosts} hosts (our listen() on Node, one process), concurrency ${concurrency}, \`true\`\n`,
      );
      out.push(
        table(
          ["client", "wall s", "client CPU ms/host", "peak RSS MiB", "hosts ok", "errors"],
          rows,
        ),
      );
      const sum = (impl: string, k: "wallMs" | "cpuMs") =>
        (all[impl] ?? []).reduce((t, r) => t + r[k], 0) / Math.max(1, all[impl]?.length ?? 0);
      out.push(
        `\nMean over the runs, sshts ÷ ssh2: wall ${
          (sum("sshts", "wallMs") / sum("ssh2", "wallMs")).toFixed(2)
        } (target ≤ 0.5), client CPU ${(sum("sshts", "cpuMs") / sum("ssh2", "cpuMs")).toFixed(2)}.`,
      );
    } finally {
      await fleet.stop();
    }
  }

  if (only.includes("login")) {
    const fleet = await startFleet("node", keys, 1000);
    try {
      const rows: string[][] = [];
      // ssh2 on Node between our runtimes, so a change in the machine's load shows.
      const cases: [string, string, boolean][] = [["node", "ssh2", false]];
      for (const rt of runtimes) cases.push([rt, "sshts", false], ["node", "ssh2", false]);
      // connect() as users call it (see defaultsConfig): not the target's conditions.
      for (const rt of runtimes) cases.push([rt, "sshts", true]);
      for (const [rt, impl, defaults] of cases) {
        const r = await login(rt, keys, fleet.port, logins, impl, defaults);
        log(`  login ${impl}${defaults ? " defaults" : ""} ${rt}: ${JSON.stringify(r)}`);
        rows.push([
          `${impl}${defaults ? " with ssh_config defaults" : ""} (${rt})`,
          r.cpuMsPerLogin.toFixed(2),
          r.mainThreadCpuMsPerLogin.toFixed(1),
          r.msPerLogin.toFixed(1),
        ]);
      }
      out.push(
        `\n### Client CPU per login (${logins} sequential logins after 30 untimed: connect + curve25519 + ed25519 auth + \`exec true\` + close, against listen() on Node; target ≤ 1.5 ms on Node. "with ssh_config defaults": \`connect(host, { port, username, config })\`, the config naming the identity file and a hashed known_hosts of 1,010 lines, default algorithms — mlkem768x25519-sha256)\n`,
      );
      out.push(
        table(["client", "CPU ms/login", "main thread (10 ms ticks)", "wall ms/login"], rows),
      );
    } finally {
      await fleet.stop();
    }
  }

  if (only.includes("sshd")) {
    log(`sshd: ${sshdN} concurrent connect + exec true`);
    const { startPeer } = await import("../conformance/fixtures/peers.ts");
    const f = await startPeer(
      "openssh",
      {
        maxStartups: `${sshdN + 50}:30:${sshdN + 100}`,
        hostKeys: ["ed25519"],
        logLevel: "ERROR",
      } as Parameters<typeof startPeer>[1],
    );
    try {
      const rows: string[][] = [];
      for (const impl of ["sshts", "ssh2"]) {
        const r = await fleetRun(impl, "node", keys, f.port, sshdN, sshdN, "127.0.0.1");
        log(`  ${impl}: ${JSON.stringify(r)}`);
        rows.push(fleetRow(`${impl} (node)`, r, sshdN));
      }
      const o = await openSshProcesses(f.port, keys.clientKeyPath, f.knownHostsPath, sshdN);
      log(`  openssh: ${JSON.stringify(o)}`);
      rows.push(fleetRow(`${sshdN} OpenSSH ssh processes`, o, sshdN));
      out.push(`\n### Against OpenSSH's sshd: ${sshdN} concurrent connect + \`exec true\`\n`);
      out.push(
        table(
          ["client", "wall s", "client CPU ms/host", "peak RSS MiB", "hosts ok", "errors"],
          rows,
        ),
      );
      out.push(
        "\n(OpenSSH: peak RSS is the largest one ssh process reached; CPU is all ssh processes' " +
          "user + sys. The client's figures are its own process's.)",
      );
    } finally {
      await f.stop();
    }
  }

  if (only.includes("idle")) {
    const rows: string[][] = [];
    const f = (x: number) => x.toFixed(1);
    const cases: [string, string][] = runtimes.map((r) => [r, "sshts"]);
    if (!process.argv.includes("--no-ssh2")) cases.push(["node", "ssh2"]);
    for (const [rt, impl] of cases) {
      log(`idle: ${idleN} ${impl} connections on ${rt}`);
      const r = await idle(rt, keys, idleN, impl);
      log(`  ${JSON.stringify(r)}`);
      rows.push([
        `${impl} (${rt})`,
        f(r.client.avg),
        f(r.client.avgResident),
        f(r.server.avg),
        f(r.server.avgResident),
      ]);
    }
    out.push(
      `\n### Idle memory: ${idleN} idle authenticated connections (KiB per connection after GC; target ≤ 32)\n`,
    );
    out.push(
      table([
        "client",
        "client RSS",
        "client JS heap + external",
        "server RSS",
        "server JS heap + external",
      ], rows),
    );
    out.push(
      "\nRSS = growth over the same process before the connections opened (after a few " +
        "connections came and went, so code and caches are in the baseline), ÷ N, after a full " +
        "garbage collection. JS heap + external = growth of `heapUsed + external` " +
        "(process.memoryUsage()): the objects and buffers the connections keep; RSS adds the " +
        "runtime's own per-socket memory and the heap the runtime keeps reserved. The server is " +
        "listen() on the same runtime (ssh2 row: on Node).",
    );
  }
  out.push(`\nload average at end ${loadAvg()}`);
  console.log(out.join("\n"));
}

const role = option("role", "");
if (role === "fleet-server") await fleetServer();
else if (role === "idle-client") await idleClient();
else if (role === "fleet-client") await fleetClient();
else if (role === "login-client") await loginClient();
else await main();
