/**
 * The server side of the soak run (`bench/soak.ts`), in a process of its own so its memory is
 * measured alone: `listen()` on a free loopback port with password and public key logins, a small
 * command set, direct-tcpip forwarding, a 1 MiB rekey limit, a login timeout and keepalives.
 *
 * Prints `port N`, then one JSON line per sample (`--sample-ms`, default 10 s): memory after a
 * full collection where the runtime allows (Node and Deno with `--expose-gc`, `Bun.gc`), open
 * connections, and the errors its connections ended with, by code, since the start.
 *
 * @module
 */

import { createHash } from "node:crypto";
import process from "node:process";
import { listen } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const sampleMs = Number(arg("--sample-ms", "10000"));
const authorizedKey = arg("--authorized-key", "");

const closedBy = new Map<string, number>();
let connectionsTotal = 0;

const server = await listen({
  port: 0,
  hostKeys: [generatePrivateKey("ssh-ed25519")],
  validatePassword: (u, p) => u === "soak" && p === "soak-pw",
  ...(authorizedKey ? { authorizedClientKeys: authorizedKey } : {}),
  authFailureDelay: 0,
  loginTimeout: 5000,
  keepaliveInterval: 15_000,
  rekeyBytes: 1024 * 1024,
  maxStartups: 1000,
  connectionRequested: () => true,
  connectionMade: () => void connectionsTotal++,
  connectionLost: (_conn, error) => {
    const code = (error as { code?: string } | undefined)?.code ?? (error ? "untyped" : "clean");
    closedBy.set(code, (closedBy.get(code) ?? 0) + 1);
  },
  processFactory: async (p) => {
    const [cmd, arg1] = (p.command ?? "").split(" ");
    if (cmd === "echo") return void (await p.write(`${arg1 ?? ""}\n`));
    if (cmd === "sha256") {
      const h = createHash("sha256");
      for await (const chunk of p.stdin) h.update(chunk);
      return void (await p.write(`${h.digest("hex")}\n`));
    }
    if (cmd === "hold") {
      for await (const _ of p.stdin) { /* until EOF or the connection goes */ }
      return;
    }
    await p.writeStderr(`${cmd}: not found\n`);
    p.exit(127);
  },
});

async function collect(): Promise<void> {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  for (let i = 0; i < 2; i++) {
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

function usage(): { rss: number; heap: number; external: number } {
  const d = (globalThis as {
    Deno?: { memoryUsage(): { rss: number; heapUsed: number; external: number } };
  }).Deno;
  const m = d ? d.memoryUsage() : process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

const t0 = performance.now();
process.stdout.write(`port ${server.address.port}\n`);
async function sample(): Promise<void> {
  await collect();
  const line = {
    t: (performance.now() - t0) / 1000,
    ...usage(),
    connections: server.connections,
    connectionsTotal,
    closedBy: Object.fromEntries(closedBy),
  };
  process.stdout.write(JSON.stringify(line) + "\n");
}
await sample();
const timer = setInterval(() => void sample(), sampleMs);
process.stdin.on("data", () => {});
process.stdin.on("end", async () => {
  clearInterval(timer);
  await sample();
  await server.close();
  process.exit(0);
});
