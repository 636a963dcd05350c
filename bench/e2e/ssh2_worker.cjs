// Benchmark worker for the `ssh2` npm package (dev-only comparison dependency).
// Plain CommonJS so the same file runs on the machine's Node 20 (for which ssh2's native
// addon is built), Node 24, Deno (`deno run -A`) and Bun.
//
// Input: one command-line argument, a WorkerJob as JSON (see bench/e2e/types.ts).
// Output: one line of JSON, a WorkerAnswer, on standard output; nothing else is printed there.
"use strict";

const { readFileSync } = require("node:fs");
const net = require("node:net");
const { Buffer } = require("node:buffer");
const process = require("node:process");
const { Client } = require("ssh2");

/**
 * Whether ssh2 loaded its native crypto addon on this runtime; without it, ssh2 falls back to
 * node:crypto and its own JavaScript Poly1305. The table shows this next to the runtime.
 */
function variant() {
  try {
    return require("ssh2/lib/protocol/crypto.js").bindingAvailable === true ? "addon" : "no addon";
  } catch {
    return "no addon";
  }
}

/** Connects and authenticates; resolves with the client. */
function connect(target, { cipher, mac, noDelay }) {
  const blobs = target.hostKeyBlobs.map((b) => Buffer.from(b, "base64"));
  const algorithms = {};
  if (cipher) algorithms.cipher = [cipher];
  if (mac) algorithms.hmac = [mac];
  if (target.kex) algorithms.kex = [...target.kex];
  const config = {
    host: target.host,
    port: target.port,
    username: target.user,
    privateKey: readFileSync(target.keyPath),
    hostVerifier: (key) => blobs.some((b) => b.equals(key)),
    algorithms,
    readyTimeout: 20_000,
  };
  if (noDelay) {
    // ssh2's Client has no noDelay option: give it a socket with TCP_NODELAY already set.
    const sock = net.connect(target.port, target.host);
    sock.setNoDelay(true);
    config.sock = sock;
  }
  return new Promise((resolve, reject) => {
    const conn = new Client();
    let negotiated;
    conn.once("handshake", (n) => (negotiated = n));
    conn.once("ready", () => {
      conn.removeAllListeners("error");
      conn.on("error", () => {});
      conn.negotiated = negotiated;
      resolve(conn);
    });
    conn.once("error", reject);
    conn.connect(config);
  });
}

/**
 * Runs `command`. Resolves with the channel and a promise of its end (rejecting unless the exit
 * status is 0). The exit listener is attached inside ssh2's callback: the exit-status message
 * can arrive in the same read as the exec reply, before an awaiting caller would run.
 */
function exec(conn, command) {
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, stream) => {
      if (err) return reject(err);
      let status = null;
      let signal = null;
      stream.on("exit", (code, sig) => {
        status = code;
        signal = sig ?? null;
      });
      const done = new Promise((resolveDone, rejectDone) => {
        stream.on("close", () => {
          if (status === 0) resolveDone();
          else {
            const how = signal ? `signal ${signal}` : `status ${status}`;
            rejectDone(new Error(`"${command}" ended with ${how}`));
          }
        });
      });
      done.catch(() => {}); // Awaited by the caller; this only avoids an unhandled rejection.
      resolve({ stream, done });
    });
  });
}

function end(conn) {
  return new Promise((resolve) => {
    conn.once("close", resolve);
    conn.end();
  });
}

/**
 * Records when the remote command's start marker arrives on standard error: the clock starts
 * there, as it does for every subject. Watching stderr also drains it.
 */
function watchStart(stream) {
  const mark = { at: undefined };
  let text = "";
  const onData = (data) => {
    text += data.toString("latin1");
    if (text.includes("bench-start")) {
      mark.at = performance.now();
      stream.stderr.off("data", onData);
      stream.stderr.resume();
    }
  };
  stream.stderr.on("data", onData);
  return mark;
}

function elapsedSince(mark) {
  if (mark.at === undefined) throw new Error("The remote command ended without its start marker");
  return performance.now() - mark.at;
}

async function upload(conn, job) {
  const { bytes, chunkSize } = job;
  const chunk = Buffer.alloc(chunkSize);
  const { stream, done } = await exec(conn, job.command);
  const mark = watchStart(stream);
  stream.resume();
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(chunkSize, bytes - sent);
    sent += n;
    if (!stream.write(n === chunkSize ? chunk : chunk.subarray(0, n))) {
      await new Promise((resolve) => stream.once("drain", resolve));
    }
  }
  stream.end();
  await done;
  return elapsedSince(mark);
}

async function download(conn, job) {
  const { stream, done } = await exec(conn, job.command);
  const mark = watchStart(stream);
  let received = 0;
  stream.on("data", (data) => (received += data.length));
  await done;
  const ms = elapsedSince(mark);
  if (received !== job.bytes) throw new Error(`Received ${received} bytes instead of ${job.bytes}`);
  return ms;
}

async function bulk(job) {
  const ms = [];
  let negotiated;
  // Client CPU (user+sys of this process) per run: connect, transfer and close.
  const cpuMs = [];
  for (let i = 0; i < job.runs; i++) {
    const cpu = process.cpuUsage();
    const conn = await connect(job.target, { cipher: job.cipher, mac: job.mac, noDelay: true });
    negotiated = conn.negotiated;
    try {
      ms.push(
        job.direction === "upload" ? await upload(conn, job) : await download(conn, job),
      );
    } finally {
      await end(conn);
    }
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
  }
  return { ms, info: { variant: variant(), negotiated, cpuMs } };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function handshake(job) {
  const ms = [];
  const phases = { connectMs: [], execMs: [], closeMs: [] };
  let negotiated;
  for (let i = 0; i < job.warmup + job.rounds; i++) {
    const start = performance.now();
    const conn = await connect(job.target, { noDelay: job.noDelay });
    const connected = performance.now();
    negotiated = conn.negotiated;
    const { stream, done } = await exec(conn, "true");
    stream.resume();
    stream.stderr.resume();
    await done;
    const executed = performance.now();
    await end(conn);
    const end_ = performance.now();
    if (i >= job.warmup) {
      ms.push(end_ - start);
      phases.connectMs.push(connected - start);
      phases.execMs.push(executed - connected);
      phases.closeMs.push(end_ - executed);
    }
  }
  const phaseMedians = Object.fromEntries(
    Object.entries(phases).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]),
  );
  return { ms, info: { variant: variant(), negotiated, phaseMedians } };
}

/** Prints the answer and exits once it is written (stdout may be an asynchronous pipe). */
function answer(value, status) {
  process.stdout.write(`${JSON.stringify(value)}\n`, () => process.exit(status));
}

async function main() {
  const job = JSON.parse(process.argv[process.argv.length - 1]);
  return job.op === "bulk" ? await bulk(job) : await handshake(job);
}

main().then(
  (result) => answer({ ok: true, ...result }, 0),
  (error) =>
    answer({ ok: false, error: error instanceof Error ? error.message : String(error) }, 1),
);
