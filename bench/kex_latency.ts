/**
 * Handshake latency per key exchange, against OpenSSH 10.x (the trixie fixture,
 * which offers all three): curve25519 next to the post-quantum hybrids, for
 * OpenSSH's own client and for this library on Node, Deno and Bun. Prints the
 * median connect+auth+close time and the latency each hybrid adds over curve25519.
 *
 * Run: `node_modules/.bin/node bench/kex_latency.ts [--rounds N]` (root: it starts sshd).
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { startPeer, trixieCommand, trixieTempDir } from "../conformance/fixtures/mod.ts";
import { connect } from "../io/client/connect.ts";

const KEX = ["curve25519-sha256", "sntrup761x25519-sha512@openssh.com", "mlkem768x25519-sha256"];
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1] || 15);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Target {
  host: string;
  port: number;
  user: string;
  keyText: string;
  knownHosts: string;
}

/** Our client in this process: connect, authenticate, close. */
async function measureSelf(t: Target): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kex of KEX) {
    const times: number[] = [];
    for (let i = 0; i <= rounds; i++) {
      const t0 = performance.now();
      const conn = await connect(t.host, {
        port: t.port,
        username: t.user,
        clientKeys: [t.keyText],
        knownHosts: { text: t.knownHosts },
        kexAlgs: [kex],
      });
      await conn.close();
      if (i > 0) times.push(performance.now() - t0); // the first round warms up the JIT
    }
    out[kex] = median(times);
  }
  return out;
}

function run(
  cmd: string,
  argv: string[],
  input?: string,
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout }));
    child.stdin.end(input ?? "");
  });
}

if (args.includes("--worker")) {
  // Worker mode: the target comes on stdin; results go to stdout as JSON.
  const target = JSON.parse(
    await new Response(ReadableStream.from(process.stdin)).text(),
  ) as Target;
  console.log(JSON.stringify(await measureSelf(target)));
  process.exit(0);
}

const fixture = await startPeer("openssh-trixie");
try {
  const key = fixture.clientKeys[0]!;
  const target: Target = {
    host: fixture.host,
    port: fixture.port,
    user: fixture.user.name,
    keyText: key.privateKeyText,
    knownHosts: fixture.knownHostsLines.join("\n"),
  };
  const rows: [string, Record<string, number>][] = [];

  // OpenSSH 10's own client, from the trixie tree (its process start is included, as for any `ssh`).
  const tmp = trixieTempDir();
  try {
    const keyPath = tmp.write("id", key.privateKeyText);
    const khPath = tmp.write("known_hosts", target.knownHosts + "\n");
    const res: Record<string, number> = {};
    for (const kex of KEX) {
      const times: number[] = [];
      for (let i = 0; i <= rounds; i++) {
        const argv = trixieCommand([
          "ssh",
          "-F",
          "/dev/null",
          "-o",
          "BatchMode=yes",
          "-o",
          `UserKnownHostsFile=${khPath}`,
          "-o",
          `KexAlgorithms=${kex}`,
          "-i",
          keyPath,
          "-p",
          String(target.port),
          `${target.user}@${target.host}`,
          "true",
        ]);
        const t0 = performance.now();
        const r = await run(argv[0]!, argv.slice(1));
        if (r.code !== 0) throw new Error(`ssh failed with ${kex}`);
        if (i > 0) times.push(performance.now() - t0);
      }
      res[kex] = median(times);
    }
    rows.push(["OpenSSH 10 ssh (incl. exec true)", res]);
  } finally {
    tmp.remove();
  }

  const bin = (n: string) => new URL(`../node_modules/.bin/${n}`, import.meta.url).pathname;
  const self = new URL(import.meta.url).pathname;
  for (
    const [name, cmd, argv] of [
      ["sshts node", bin("node"), [self, "--worker"]],
      ["sshts deno", bin("deno"), ["run", "-A", self, "--worker"]],
      ["sshts bun", bin("bun"), [self, "--worker"]],
    ] as const
  ) {
    const r = await run(cmd, [...argv, "--rounds", String(rounds)], JSON.stringify(target));
    rows.push([name, r.code === 0 ? JSON.parse(r.stdout.trim().split("\n").pop()!) : {}]);
  }

  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`\nhandshake latency against ${fixture.version}, median of ${rounds} rounds (ms)\n`);
  console.log(pad("client", 34) + KEX.map((k) => pad(k.split("@")[0]!, 26)).join(""));
  for (const [name, r] of rows) {
    const base = r[KEX[0]!];
    console.log(
      pad(name, 34) +
        KEX.map((k) => {
          const v = r[k];
          if (v === undefined) return pad("n/a", 26);
          const added = k === KEX[0] || base === undefined
            ? ""
            : ` (${v - base >= 0 ? "+" : ""}${(v - base).toFixed(1)})`;
          return pad(v.toFixed(1) + added, 26);
        }).join(""),
    );
  }
} finally {
  await fixture.stop();
}
