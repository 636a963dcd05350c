// SFTP benchmark worker for the `ssh2` npm package (dev-only comparison dependency):
// fastGet and fastPut of one file, timed from the SFTP session being open to the callback.
// Plain CommonJS so it runs on the machine's Node (for which ssh2's native addon is built).
//
// Input: one argument, JSON { host, port, user, keyPath, hostKeyBlobs, cipher, remote, local,
//   runs, chunkSize?, concurrency? }. Output: one line of JSON { get: [ms], put: [ms] }.
"use strict";

const { readFileSync } = require("node:fs");
const net = require("node:net");
const { Buffer } = require("node:buffer");
const process = require("node:process");
const { Client } = require("ssh2");

function connect(job) {
  const blobs = job.hostKeyBlobs.map((b) => Buffer.from(b, "base64"));
  // TCP_NODELAY set on the socket (ssh2 has no option for it): its fair best.
  const sock = net.connect(job.port, job.host);
  sock.setNoDelay(true);
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn.once("ready", () => resolve(conn));
    conn.once("error", reject);
    conn.connect({
      sock,
      username: job.user,
      privateKey: readFileSync(job.keyPath),
      hostVerifier: (key) => blobs.some((b) => b.equals(key)),
      algorithms: { cipher: [job.cipher], kex: ["curve25519-sha256"] },
      readyTimeout: 20_000,
    });
  });
}

function sftpOf(conn) {
  return new Promise((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

function timed(f) {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    f((err) => (err ? reject(err) : resolve(performance.now() - t0)))
  );
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  const conn = await connect(job);
  const sftp = await sftpOf(conn);
  const opts = {};
  if (job.chunkSize) opts.chunkSize = job.chunkSize;
  if (job.concurrency) opts.concurrency = job.concurrency;
  const get = [];
  const put = [];
  for (let i = 0; i < job.runs; i++) {
    get.push(await timed((cb) => sftp.fastGet(job.remote, job.local, opts, cb)));
    put.push(await timed((cb) => sftp.fastPut(job.local, job.remoteUp, opts, cb)));
  }
  conn.end();
  process.stdout.write(JSON.stringify({ get, put }) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
