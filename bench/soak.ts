/**
 * Soak run: a mixed workload against our server for a long time (30 minutes by default), to show
 * that throughput, latency and memory hold steady and every error is one we caused on purpose.
 * Not part of the test suite.
 *
 * Run: `npm run bench -- soak [--minutes N]`, or directly
 * `node_modules/.bin/node bench/soak.ts [--minutes N | --seconds N] [--workers N]`
 * (also under `deno run -A` and `bun`). The server (`bench/soak_server.ts`) runs in a child
 * process of the same runtime, so its memory is its own.
 *
 * Workload, per worker, picked at random by weight:
 * - `login`: a fresh connection, password or public key, closed at once;
 * - `exec`: `echo` on the worker's long-lived connection;
 * - `bulk`: 1 MiB through `sha256` on a connection that rekeys every 256 KiB (the server every
 *   1 MiB), hash-checked;
 * - `forward`: 64 KiB round trip through a local forward to an echo server, hash-checked;
 * - `abrupt`: a session started, then the socket dropped without DISCONNECT;
 * - `bad`: a wrong password, garbage instead of a version line, garbage after it, or a
 *   connection that stalls and leaves.
 *
 * Reports (stdout and `bench/results/soak-<runtime>-<time>.{md,json,svg}`): per operation the
 * count, rate, p50/p99 latency and errors by code; the server's connection ends by code, each
 * with why it is expected; the server's RSS and heap over time (after a full collection), as a
 * table and an SVG plot.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "../io/client/connect.ts";
import type { SSHClientConnection } from "../io/client/connection.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { renderSoak, type Sample, type SoakData } from "./soak_report.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

// ---- options ----

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const seconds = flag("--seconds") !== undefined
  ? Number(flag("--seconds"))
  : Number(flag("--minutes") ?? 30) * 60;
const workers = Number(flag("--workers") ?? 6);
const sampleMs = Number(flag("--sample-ms") ?? (seconds >= 600 ? 10_000 : 2_000));
const resultsDir = flag("--results") ?? join(HERE, "results");
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

// ---- the server child ----

const clientKey = generatePrivateKey("ssh-ed25519");

function serverArgv(): string[] {
  const script = join(HERE, "soak_server.ts");
  const args = [
    script,
    "--sample-ms",
    String(sampleMs),
    "--authorized-key",
    clientKey.exportPublicKey("openssh").trim(),
  ];
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), "run", "-A", "--v8-flags=--expose-gc", ...args];
  if (runtime === "bun") return [process.execPath, ...args];
  return [process.execPath, "--expose-gc", ...args];
}

const samples: Sample[] = [];
const [cmd, ...args] = serverArgv();
const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "inherit"] });
const port = await new Promise<number>((resolve, reject) => {
  let buf = "";
  child.on("exit", (code) => reject(new Error(`soak server exited (${code})`)));
  child.stdout!.on("data", (b: Uint8Array) => {
    buf += new TextDecoder().decode(b);
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith("port ")) resolve(Number(line.slice(5)));
      else if (line.startsWith("{")) {
        samples.push(JSON.parse(line) as Sample);
        const s = samples.at(-1)!;
        process.stderr.write(
          `soak ${(s.t / 60).toFixed(1)} min: rss ${(s.rss / 2 ** 20).toFixed(1)} MiB, heap ${
            (s.heap / 2 ** 20).toFixed(1)
          } MiB, ${s.connections} open, ${s.connectionsTotal} total, ${summary()}\n`,
        );
      }
    }
  });
});

// ---- an echo server for forwarding ----

const echo = net.createServer({ allowHalfOpen: true }, (s) => {
  s.on("error", () => s.destroy());
  s.pipe(s);
});
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
const echoPort = (echo.address() as net.AddressInfo).port;

// ---- bookkeeping ----

interface OpStats {
  count: number;
  ok: number;
  latencies: number[];
  errors: Map<string, number>;
  bytes: number;
}
const OPS = ["login", "exec", "bulk", "forward", "abrupt", "bad"] as const;
type Op = (typeof OPS)[number];
const WEIGHTS: Record<Op, number> = {
  login: 15,
  exec: 30,
  bulk: 8,
  forward: 17,
  abrupt: 10,
  bad: 20,
};
const stats = new Map<Op, OpStats>(
  OPS.map((o) => [o, { count: 0, ok: 0, latencies: [], errors: new Map(), bytes: 0 }]),
);
let rekeys = 0;

function summary(): string {
  return OPS.map((o) => `${o} ${stats.get(o)!.count}`).join(", ");
}

function codeOf(e: unknown): string {
  const c = (e as { code?: string })?.code;
  return c ?? `untyped: ${(e as Error)?.message ?? e}`;
}

function pickOp(rnd: () => number): Op {
  const total = OPS.reduce((a, o) => a + WEIGHTS[o], 0);
  let x = rnd() * total;
  for (const o of OPS) if ((x -= WEIGHTS[o]) < 0) return o;
  return "exec";
}

function login(
  extra: Parameters<typeof connect>[1] = {},
  byKey = false,
): Promise<SSHClientConnection> {
  return connect("127.0.0.1", {
    port,
    username: "soak",
    ...(byKey ? { clientKeys: [clientKey] } : { password: "soak-pw" }),
    hostKeyVerifier: () => true,
    kexAlgs: ["curve25519-sha256"],
    connectTimeout: 30_000,
    ...extra,
  });
}

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

// ---- a worker ----

class Worker {
  #main: SSHClientConnection | undefined;
  #bulk: SSHClientConnection | undefined;
  #fwdPort: number | undefined;
  readonly #rnd: () => number;
  #n = 0;

  constructor(seed: number) {
    let s = seed >>> 0 || 1;
    this.#rnd = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
  }

  async #mainConn(): Promise<SSHClientConnection> {
    if (!this.#main || this.#main.closeError || this.#isClosed(this.#main)) {
      this.#main = await login();
      const l = await this.#main.forwardLocalPort({
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: echoPort,
      });
      this.#fwdPort = l.port;
    }
    return this.#main;
  }

  #closed = new WeakSet<SSHClientConnection>();
  #isClosed(c: SSHClientConnection): boolean {
    void c.closed.then(() => this.#closed.add(c));
    return this.#closed.has(c);
  }

  async run(until: number): Promise<void> {
    while (performance.now() < until) {
      const op = pickOp(this.#rnd);
      const st = stats.get(op)!;
      st.count++;
      const t0 = performance.now();
      try {
        const bytes = await this.#do(op);
        st.ok++;
        st.bytes += bytes;
        st.latencies.push(performance.now() - t0);
      } catch (e) {
        const code = codeOf(e);
        st.errors.set(code, (st.errors.get(code) ?? 0) + 1);
        // A broken long-lived connection is replaced on next use.
        if (op === "exec" || op === "forward") this.#main = undefined;
        if (op === "bulk") this.#bulk = undefined;
      }
    }
    await this.#main?.close();
    await this.#bulk?.close();
  }

  async #do(op: Op): Promise<number> {
    switch (op) {
      case "login": {
        const byKey = ++this.#n % 2 === 0;
        const c = await login({}, byKey);
        await c.close();
        return 0;
      }
      case "exec": {
        const c = await this.#mainConn();
        const r = await c.run("echo hi", { timeout: 30_000 });
        if (r.stdout !== "hi\n") throw new Error(`echo returned ${JSON.stringify(r.stdout)}`);
        return 0;
      }
      case "bulk": {
        if (!this.#bulk || this.#bulk.closeError) {
          this.#bulk = await login({ rekeyBytes: 256 * 1024 });
        }
        const before = this.#bulk.getExtraInfo().kexCount;
        const data = new Uint8Array(1024 * 1024);
        for (let i = 0; i < data.length; i += 4096) data[i] = (this.#rnd() * 256) | 0;
        const r = await this.#bulk.run("sha256", { input: data, timeout: 60_000 });
        if (r.stdout.trim() !== sha256(data)) throw new Error("bulk hash mismatch");
        rekeys += this.#bulk.getExtraInfo().kexCount - before;
        return data.length;
      }
      case "forward": {
        await this.#mainConn();
        const data = new Uint8Array(64 * 1024);
        for (let i = 0; i < data.length; i += 512) data[i] = (this.#rnd() * 256) | 0;
        const got = await echoThrough(this.#fwdPort!, data);
        if (got !== sha256(data)) throw new Error("forward hash mismatch");
        return data.length * 2;
      }
      case "abrupt": {
        const c = await login();
        const p = await c.createProcess("hold");
        await p.stdin.getWriter().write(new Uint8Array(100));
        c.abort();
        return 0;
      }
      case "bad":
        return await this.#bad();
    }
  }

  async #bad(): Promise<number> {
    const kind = ++this.#n % 4;
    if (kind === 0) {
      // A wrong password: must be refused with ERR_PERMISSION_DENIED.
      try {
        const c = await login({ password: "wrong" });
        await c.close();
      } catch (e) {
        if (codeOf(e) === "ERR_PERMISSION_DENIED") return 0;
        throw e;
      }
      throw new Error("a wrong password was accepted");
    }
    // Raw sockets: garbage, garbage after the version line, or a stall that leaves.
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      const done = () => resolve();
      s.on("error", done);
      s.on("close", done);
      s.on("data", () => {});
      s.on("connect", () => {
        const junk = new Uint8Array(300).map(() => (this.#rnd() * 256) | 0);
        if (kind === 1) s.write(junk);
        if (kind === 2) {
          s.write("SSH-2.0-soak-bad\r\n");
          s.write(junk);
        }
        // kind 3: say nothing, leave after a while (before the login timeout).
        setTimeout(() => s.destroy(), kind === 3 ? 1000 : 2000);
      });
    });
    return 0;
  }
}

async function echoThrough(p: number, data: Uint8Array): Promise<string> {
  const sock = net.connect({ host: "127.0.0.1", port: p, allowHalfOpen: true, noDelay: true });
  const h = createHash("sha256");
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    sock.on("connect", () => {
      sock.write(data);
      sock.end();
    });
    sock.on("data", (b: Uint8Array) => {
      h.update(b);
      got += b.length;
    });
    sock.on("end", () => resolve());
    sock.on("error", reject);
  });
  sock.destroy();
  if (got !== data.length) throw new Error(`forward returned ${got} of ${data.length}`);
  return h.digest("hex");
}

// ---- run ----

const startedAt = new Date();
process.stderr.write(
  `soak: ${runtime}, ${workers} workers, ${(seconds / 60).toFixed(1)} min, server on ${port}\n`,
);
const until = performance.now() + seconds * 1000;
await Promise.all(Array.from({ length: workers }, (_, i) => new Worker(i * 7919 + 1).run(until)));
// Let the server see the last closes, then take its final sample.
await new Promise((r) => setTimeout(r, 6000));
const exited = new Promise((r) => child.on("exit", r));
child.stdin!.end();
await exited;
echo.close();

// ---- report ----

const data: SoakData = {
  runtime,
  version: process.versions.node ?? "",
  workers,
  seconds,
  sampleMs,
  startedAt: startedAt.toISOString(),
  rekeys,
  samples,
  ops: Object.fromEntries(
    [...stats].map(([k, v]) => [k, { ...v, errors: Object.fromEntries(v.errors) }]),
  ),
};
const { table, svg, unexplained } = renderSoak(data);
mkdirSync(resultsDir, { recursive: true });
const stamp = data.startedAt.replace(/[:.]/g, "-").slice(0, 19);
const base = join(resultsDir, `soak-${runtime}-${stamp}`);
writeFileSync(`${base}.md`, table + "\n");
writeFileSync(`${base}.svg`, svg);
writeFileSync(`${base}.json`, JSON.stringify(data, null, 1));
console.log(table);
process.stderr.write(`soak: wrote ${base}.{md,svg,json}\n`);
process.exit(unexplained === 0 ? 0 : 1);
