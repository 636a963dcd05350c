/**
 * Benchmark worker for this library's client (`connect()` from `io/client/connect.ts`), run on Deno,
 * Node 24 and Bun. It measures what `ssh2_worker.cjs` measures, the same way, through the public
 * API: `connect()`, `conn.createProcess()` with Web Streams, `conn.run()`, `conn.close()`.
 *
 * Input: one command-line argument, a {@link WorkerJob} as JSON. Output: one line of JSON, a
 * {@link WorkerAnswer}, on standard output. Any failure (including the client failing to load)
 * becomes `{ ok: false, error }` so the table can say why.
 *
 * The client is loaded by URL and described by the small local interfaces below rather than by
 * its own types, so this worker keeps type-checking while `io/` changes underneath; the runtime
 * checks below catch a mismatch and report it.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { median } from "./stats.ts";
import { START_MARKER, type WorkerAnswer, type WorkerJob } from "./types.ts";

/** What the worker needs of a running remote process. */
interface ProcessLike {
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exitStatus: number | null;
  waitClosed(): Promise<void>;
}

/** What the worker needs of a connection. */
interface ConnectionLike {
  createProcess(command: string): Promise<ProcessLike>;
  run(command: string): Promise<{ readonly exitStatus: number | null }>;
  close(): Promise<void>;
  getExtraInfo?(): { readonly algorithms?: unknown; readonly cryptoProviders?: unknown };
}

/** A key the client can sign with (`ClientKeyPair` in io/keys/types.ts). */
interface KeyPairLike {
  readonly keyType: string;
  readonly publicKeyBlob: Uint8Array;
  sign(data: Uint8Array, algorithm: string): Uint8Array | Promise<Uint8Array>;
}

type Connect = (host: string, options: Record<string, unknown>) => Promise<ConnectionLike>;

type Target = WorkerJob["target"];
type BulkJob = Extract<WorkerJob, { op: "bulk" }>;

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The module that exports `connect()`: `io/client/connect.ts`, or the file or URL in the environment
 * variable `SSHTS_BENCH_CLIENT` (to measure another build of the client, or to check this worker
 * with a stand-in).
 */
function clientModuleUrl(): string {
  const override = process.env.SSHTS_BENCH_CLIENT;
  if (override === undefined || override === "") {
    return new URL("../../io/client/connect.ts", import.meta.url).href;
  }
  return /^[a-z]+:/.test(override) ? override : new URL(override, `file://${process.cwd()}/`).href;
}

async function loadClient(): Promise<Connect> {
  // A computed specifier: loaded at run time, not type-checked against io/ (see @module).
  const clientUrl = clientModuleUrl();
  const client = (await import(clientUrl)) as { connect?: unknown };
  if (typeof client.connect !== "function") {
    throw new Error(`${clientUrl} does not export a connect() function`);
  }
  return client.connect as Connect;
}

async function loadKey(path: string): Promise<KeyPairLike> {
  const { importPrivateKey } = await import("../../keys/formats/import.ts");
  const { signData } = await import("../../core/publickey/sign.ts");
  const key = importPrivateKey(readFileSync(path, "utf8"));
  return {
    keyType: key.getAlgorithm(),
    publicKeyBlob: key.publicBlob,
    sign: (data, algorithm) => signData(key.material, algorithm, data),
  };
}

interface Session {
  readonly connect: Connect;
  readonly key: KeyPairLike;
}

function connectTo(
  session: Session,
  target: Target,
  algorithms: { cipher?: string; mac?: string | undefined },
): Promise<ConnectionLike> {
  const blobs = target.hostKeyBlobs.map(fromBase64);
  const options: Record<string, unknown> = {
    port: target.port,
    username: target.user,
    clientKeys: [session.key],
    hostKeyVerifier: (info: { keyBlob: Uint8Array }) =>
      blobs.some((b) => sameBytes(b, info.keyBlob)),
    connectTimeout: 20_000,
  };
  if (algorithms.cipher !== undefined) options.encryptionAlgs = [algorithms.cipher];
  if (algorithms.mac !== undefined) options.macAlgs = [algorithms.mac];
  if (target.kex !== undefined) options.kexAlgs = [...target.kex];
  return session.connect(target.host, options);
}

/**
 * Reads a stream to its end; resolves with the byte count. A BYOB reader with one reused
 * buffer, as a user who wants the bytes and not a buffer per packet reads a channel: the
 * packet's buffer is freed as its bytes are copied out (see `ChannelIO.readable`).
 */
async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stream.getReader({ mode: "byob" });
  let buf = new Uint8Array(256 * 1024);
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read(buf);
    if (done) return n;
    n += value.length;
    buf = new Uint8Array(value.buffer);
  }
}

/** When the start marker arrived on standard error, once it has. */
interface StartMark {
  at: number | undefined;
}

/**
 * Reads standard error to its end, noting when the remote command's start marker arrives: the
 * clock starts there, as it does for every subject.
 */
function watchStart(stream: ReadableStream<Uint8Array>): { mark: StartMark; done: Promise<void> } {
  const mark: StartMark = { at: undefined };
  const decoder = new TextDecoder("latin1");
  const done = (async () => {
    const reader = stream.getReader();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (mark.at === undefined) {
        text += decoder.decode(value);
        if (text.includes(START_MARKER)) mark.at = performance.now();
      }
    }
  })();
  return { mark, done };
}

function elapsedSince(mark: StartMark): number {
  if (mark.at === undefined) throw new Error("The remote command ended without its start marker");
  return performance.now() - mark.at;
}

/** Problems that do not spoil the timing but should be seen: reported beside the table. */
const warnings = new Set<string>();

/**
 * Fails on a non-zero exit status. A missing one (null) is a client bug worth reporting, not a
 * reason to lose the measurement: it becomes a warning.
 */
function checkExit(status: number | null, command: string): void {
  if (status === null) {
    warnings.add(`"${command}" finished without an exit status reaching the client`);
  } else if (status !== 0) throw new Error(`"${command}" ended with status ${status}`);
}

async function finished(p: ProcessLike, command: string): Promise<void> {
  await p.waitClosed();
  checkExit(p.exitStatus, command);
}

async function upload(conn: ConnectionLike, job: BulkJob): Promise<number> {
  const chunk = new Uint8Array(job.chunkSize);
  const p = await conn.createProcess(job.command);
  const start = watchStart(p.stderr);
  const outputs = Promise.all([drain(p.stdout), start.done]);
  const writer = p.stdin.getWriter();
  for (let sent = 0; sent < job.bytes;) {
    const n = Math.min(job.chunkSize, job.bytes - sent);
    await writer.ready;
    // Failures surface through `ready` and `close`; don't wait for each write to settle.
    writer.write(n === job.chunkSize ? chunk : chunk.subarray(0, n)).catch(() => {});
    sent += n;
  }
  await writer.close();
  await outputs;
  await finished(p, job.command);
  return elapsedSince(start.mark);
}

async function download(conn: ConnectionLike, job: BulkJob): Promise<number> {
  const p = await conn.createProcess(job.command);
  const start = watchStart(p.stderr);
  const [received] = await Promise.all([drain(p.stdout), start.done]);
  await finished(p, job.command);
  const ms = elapsedSince(start.mark);
  if (received !== job.bytes) throw new Error(`Received ${received} bytes instead of ${job.bytes}`);
  return ms;
}

function extraInfo(conn: ConnectionLike): Record<string, unknown> {
  try {
    const info = conn.getExtraInfo?.();
    return { algorithms: info?.algorithms, cryptoProviders: info?.cryptoProviders };
  } catch {
    return {};
  }
}

async function runJob(job: WorkerJob): Promise<{ ms: number[]; info: Record<string, unknown> }> {
  const session: Session = { connect: await loadClient(), key: await loadKey(job.target.keyPath) };
  const ms: number[] = [];
  let info: Record<string, unknown> = {};
  if (job.op === "bulk") {
    // Client CPU (user+sys of this process) per run: connect, transfer and close, as an
    // OpenSSH run's whole `ssh` process is counted.
    const cpuMs: number[] = [];
    for (let i = 0; i < job.runs; i++) {
      const cpu = process.cpuUsage();
      const conn = await connectTo(session, job.target, { cipher: job.cipher, mac: job.mac });
      try {
        info = extraInfo(conn);
        ms.push(
          job.direction === "upload" ? await upload(conn, job) : await download(conn, job),
        );
      } finally {
        await conn.close();
      }
      const used = process.cpuUsage(cpu);
      cpuMs.push((used.user + used.system) / 1000);
    }
    info.cpuMs = cpuMs;
  } else {
    // Our client always sets TCP_NODELAY; `noDelay: false` is not offered for this subject.
    const phases: Record<"connectMs" | "execMs" | "closeMs", number[]> = {
      connectMs: [],
      execMs: [],
      closeMs: [],
    };
    for (let i = 0; i < job.warmup + job.rounds; i++) {
      const start = performance.now();
      const conn = await connectTo(session, job.target, {});
      const connected = performance.now();
      let executed = connected;
      try {
        info = extraInfo(conn);
        const r = await conn.run("true");
        executed = performance.now();
        checkExit(r.exitStatus, "true");
      } finally {
        await conn.close();
      }
      const end = performance.now();
      if (i >= job.warmup) {
        ms.push(end - start);
        phases.connectMs.push(connected - start);
        phases.execMs.push(executed - connected);
        phases.closeMs.push(end - executed);
      }
    }
    // Where a round's time goes: connect+auth, `run("true")`, `close()`.
    info.phaseMedians = Object.fromEntries(
      Object.entries(phases).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]),
    );
  }
  return {
    ms,
    info: {
      ...info,
      runtime: runtimeName(),
      ...(warnings.size === 0 ? {} : { warnings: [...warnings] }),
    },
  };
}

function runtimeName(): string {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno !== undefined ? "deno" : g.Bun !== undefined ? "bun" : "node";
}

function answer(a: WorkerAnswer): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(a)}\n`, () => resolve()));
}

async function main(): Promise<number> {
  try {
    const job = JSON.parse(process.argv[process.argv.length - 1] ?? "") as WorkerJob;
    const { ms, info } = await runJob(job);
    await answer({ ok: true, ms, info });
    return 0;
  } catch (error) {
    await answer({ ok: false, error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}

process.exit(await main());
