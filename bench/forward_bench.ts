/**
 * Channel and forwarding throughput of this library's client next to
 * OpenSSH's own `ssh`, against one OpenSSH server (a conformance fixture on
 * loopback; needs what the fixtures need: root, sshd, ssh). Runs on the
 * runtime that starts it:
 *
 * ```sh
 * node_modules/.bin/node bench/forward_bench.ts [--mib 256] [--runs 3] [--cipher NAME]
 * node_modules/.bin/deno run -A bench/forward_bench.ts
 * node_modules/.bin/bun bench/forward_bench.ts
 * ```
 *
 * What is measured (MB/s = 10^6 bytes/s, median of `--runs`):
 * - **1 channel ↓/↑**: one session; `head -c N /dev/zero` read to the end, or N bytes written
 *   into `cat > /dev/null`. The clock starts when the remote command's start marker (on stderr)
 *   arrives and stops at the channel's close (for `ssh`: the process's exit), so neither side's
 *   handshake counts. OpenSSH: one `ssh` process per transfer.
 * - **8 channels ↓/↑**: eight such sessions at once on one connection, N/8 bytes each; from
 *   the first marker to the last close. OpenSSH: a ControlMaster and eight `ssh -S` clients
 *   (its way of running channels in parallel on one connection; the data then also crosses a
 *   UNIX socket between each client and the master).
 * - **-L ↓/↑**: local port forwarding to a local TCP source (sends N bytes) or sink (reads to
 *   the end); a TCP client in this process connects to the forwarded port. From connect to the
 *   last byte (↓) or to the sink's count arriving (↑). OpenSSH: `ssh -N -L`.
 *
 * Ratios are sshts ÷ OpenSSH: above 1 means faster than OpenSSH.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { opensshClientArgs, type PeerFixture, startPeer } from "../conformance/fixtures/mod.ts";
import { connect } from "../io/client/connect.ts";
import { type SSHClientConnection } from "../io/client/connection.ts";

const MARKER = "bench-start";

interface Options {
  mib: number;
  runs: number;
  cipher: string;
}

function parseArgs(argv: readonly string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    mib: Number(get("mib") ?? 256),
    runs: Number(get("runs") ?? 3),
    // Deno's node:crypto AES-GCM is slow (see io/crypto/native_provider.ts); chacha20 is its best.
    cipher: get("cipher") ??
      ("Deno" in globalThis ? "chacha20-poly1305@openssh.com" : "aes128-gcm@openssh.com"),
  };
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

// ---- this library ----

/** One transfer on a new session; resolves with ms from the start marker to the close. */
async function ourTransfer(conn: SSHClientConnection, dir: "down" | "up", bytes: number) {
  const cmd = dir === "down"
    ? `echo ${MARKER} >&2; exec head -c ${bytes} /dev/zero`
    : `echo ${MARKER} >&2; exec cat > /dev/null`;
  const p = await conn.createProcess(cmd);
  let started!: (t: number) => void;
  const start = new Promise<number>((r) => (started = r));
  void (async () => {
    for await (const _ of p.stderr) started(performance.now());
  })();
  if (dir === "down") {
    let n = 0;
    for await (const c of p.stdout) n += c.length;
    if (n !== bytes) throw new Error(`Read ${n} bytes, expected ${bytes}`);
  } else {
    void (async () => {
      for await (const _ of p.stdout) { /* nothing */ }
    })();
    await start;
    const block = new Uint8Array(256 * 1024);
    for (let off = 0; off < bytes; off += block.length) {
      await p.write(off + block.length <= bytes ? block : block.subarray(0, bytes - off));
    }
    p.writeEof();
  }
  await p.waitClosed();
  return { start: await start, end: performance.now() };
}

async function ourChannels(
  conn: SSHClientConnection,
  dir: "down" | "up",
  n: number,
  bytes: number,
) {
  const each = Math.floor(bytes / n);
  const runs = await Promise.all(Array.from({ length: n }, () => ourTransfer(conn, dir, each)));
  return Math.max(...runs.map((r) => r.end)) - Math.min(...runs.map((r) => r.start));
}

// ---- OpenSSH ----

/**
 * Runs `ssh args... command` with its data on /dev/null (↓) or from `head -c N /dev/zero`
 * through a pipe (↑), as bench/e2e does: the JS process only watches stderr for the marker,
 * so it costs `ssh` nothing. Resolves with the marker's arrival and the exit time.
 */
function sshTransfer(args: string[], dir: "down" | "up", bytes: number) {
  const remote = dir === "down"
    ? `echo ${MARKER} >&2; exec head -c ${bytes} /dev/zero`
    : `echo ${MARKER} >&2; exec cat > /dev/null`;
  const quoted = [...args, remote].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const line = dir === "down"
    ? `exec ssh ${quoted} > /dev/null < /dev/null`
    : `head -c ${bytes} /dev/zero | ssh ${quoted} > /dev/null`;
  return new Promise<{ start: number; end: number }>((resolve, reject) => {
    const child = spawn("sh", ["-c", line], { stdio: ["ignore", "ignore", "pipe"] });
    let start = 0;
    let err = "";
    child.stderr.on("data", (b: Uint8Array) => {
      err += new TextDecoder().decode(b);
      if (!start && err.includes(MARKER)) start = performance.now();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const end = performance.now();
      if (code !== 0) return reject(new Error(`ssh exited with ${code}: ${err.trim()}`));
      resolve({ start, end });
    });
  });
}

// ---- -L forwarding ----

/**
 * A local source (sends `bytes` to each client, then closes) or sink (counts what
 * arrives; `received` resolves once `bytes` came in). The sink reports in-process
 * rather than by a reply after a half-close: Deno's node:net client sockets close
 * both ways on end() (see the note in io/forward/bridge.ts).
 */
async function localEndpoint(kind: "source" | "sink", bytes: number) {
  let arrived: (() => void) | undefined;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    if (kind === "source") {
      const block = new Uint8Array(256 * 1024);
      let off = 0;
      const more = () => {
        while (off < bytes) {
          const chunk = off + block.length <= bytes ? block : block.subarray(0, bytes - off);
          off += chunk.length;
          if (!s.write(chunk)) return void s.once("drain", more);
        }
        s.end();
      };
      more();
    } else {
      let n = 0;
      s.on("data", (b: Uint8Array) => {
        n += b.length;
        if (n >= bytes) arrived?.();
      });
      s.on("end", () => s.end());
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => server.close(),
    /** Sink: resolves when the next `bytes` have arrived. */
    received: () => new Promise<void>((r) => (arrived = r)),
  };
}

/** Moves `bytes` through a forwarded port; ms from connect to the last byte arriving. */
async function throughPort(
  port: number,
  dir: "down" | "up",
  bytes: number,
  received: () => Promise<void>,
): Promise<number> {
  const t0 = performance.now();
  const sink = dir === "up" ? received() : undefined;
  const sock = net.connect({ host: "127.0.0.1", port });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    let n = 0;
    sock.on("error", reject);
    if (dir === "down") {
      sock.on("data", (b: Uint8Array) => (n += b.length));
      sock.on("end", () => n === bytes ? resolve() : reject(new Error(`Read ${n} of ${bytes}`)));
    } else {
      sock.on("data", () => {});
      void (async () => {
        const block = new Uint8Array(256 * 1024);
        for (let off = 0; off < bytes; off += block.length) {
          const chunk = off + block.length <= bytes ? block : block.subarray(0, bytes - off);
          if (!sock.write(chunk)) await new Promise((r) => sock.once("drain", r));
        }
        await sink;
        resolve();
      })();
    }
  });
  const ms = performance.now() - t0;
  sock.destroy();
  return ms;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Nothing listens on ${port}`);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

// ---- the run ----

interface Row {
  name: string;
  ours: number;
  openssh: number;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const bytes = o.mib * 1024 * 1024;
  // Room for eight parallel sessions (and their predecessors still closing) on one connection.
  const fixture: PeerFixture = await startPeer("openssh", {
    ciphers: [o.cipher],
    sshdConfig: { MaxSessions: 32 },
  });
  const ctlDir = mkdtempSync(join(tmpdir(), "sshts-fwd-bench-"));
  const sshArgs = opensshClientArgs(fixture, {
    identity: fixture.clientKeys[0],
    options: [`Ciphers=${o.cipher}`, "KexAlgorithms=curve25519-sha256"],
  });
  const host = sshArgs.pop()!;
  const conn = await connect(fixture.host, {
    port: fixture.port,
    username: fixture.user.name,
    clientKeys: [fixture.clientKeys[0]!.privateKeyText],
    knownHosts: fixture.knownHostsPath,
    encryptionAlgs: [o.cipher],
    kexAlgs: ["curve25519-sha256"],
  });
  const rows: Row[] = [];
  const measure = async (
    name: string,
    ours: () => Promise<number>,
    theirs: () => Promise<number>,
  ) => {
    const a: number[] = [];
    const b: number[] = [];
    await ours(); // warm-up
    for (let i = 0; i < o.runs; i++) {
      a.push(mbps(bytes, await ours()));
      b.push(mbps(bytes, await theirs()));
    }
    rows.push({ name, ours: median(a), openssh: median(b) });
    console.error(
      `${name}: sshts ${median(a).toFixed(0)} MB/s, OpenSSH ${median(b).toFixed(0)} MB/s`,
    );
  };
  const sources: { close(): void }[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  try {
    for (const dir of ["down", "up"] as const) {
      await measure(
        `1 channel ${dir === "down" ? "↓" : "↑"}`,
        async () => {
          const r = await ourTransfer(conn, dir, bytes);
          return r.end - r.start;
        },
        async () => {
          const r = await sshTransfer([...sshArgs, host], dir, bytes);
          return r.end - r.start;
        },
      );
    }
    // OpenSSH's parallel channels: a master connection and mux clients.
    const ctl = join(ctlDir, "ctl");
    const master = spawn("ssh", [...sshArgs, "-M", "-S", ctl, "-N", host], { stdio: "ignore" });
    children.push(master);
    for (let i = 0; i < 200; i++) {
      const check = spawn("ssh", [...sshArgs, "-S", ctl, "-O", "check", host], { stdio: "ignore" });
      if (await new Promise((r) => check.on("close", (c) => r(c === 0)))) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const dir of ["down", "up"] as const) {
      await measure(
        `8 channels ${dir === "down" ? "↓" : "↑"}`,
        () => ourChannels(conn, dir, 8, bytes),
        async () => {
          const runs = await Promise.all(
            Array.from(
              { length: 8 },
              () => sshTransfer([...sshArgs, "-S", ctl, host], dir, Math.floor(bytes / 8)),
            ),
          );
          return Math.max(...runs.map((r) => r.end)) - Math.min(...runs.map((r) => r.start));
        },
      );
    }
    for (const dir of ["down", "up"] as const) {
      const endpoint = await localEndpoint(dir === "down" ? "source" : "sink", bytes);
      sources.push(endpoint);
      const ours = await conn.forwardLocalPort({
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: endpoint.port,
      });
      const theirsPort = await freePort();
      const fwd = spawn(
        "ssh",
        [...sshArgs, "-N", "-L", `127.0.0.1:${theirsPort}:127.0.0.1:${endpoint.port}`, host],
        { stdio: "ignore" },
      );
      children.push(fwd);
      await waitForPort(theirsPort);
      await measure(
        `-L forward ${dir === "down" ? "↓" : "↑"}`,
        () => throughPort(ours.port, dir, bytes, endpoint.received),
        () => throughPort(theirsPort, dir, bytes, endpoint.received),
      );
      await ours.close();
      fwd.kill();
    }
  } finally {
    for (const c of children) c.kill();
    for (const s of sources) s.close();
    await conn.close();
    await fixture.stop();
    rmSync(ctlDir, { recursive: true, force: true });
  }
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(
    `\nforward_bench: ${runtimeName()} vs OpenSSH ssh, server ${fixture.version}, ${o.cipher}, ` +
      `${o.mib} MiB, median of ${o.runs}\n`,
  );
  console.log(`| ${pad("measure", 14)} | sshts MB/s | OpenSSH MB/s | ratio |`);
  console.log(`| ${"-".repeat(14)} | ---------: | -----------: | ----: |`);
  for (const r of rows) {
    console.log(
      `| ${pad(r.name, 14)} | ${r.ours.toFixed(0).padStart(10)} | ${
        r.openssh.toFixed(0).padStart(12)
      } | ${(r.ours / r.openssh).toFixed(2).padStart(5)} |`,
    );
  }
}

await main();
