/**
 * The server side of `post_auth_hostile_memory_test.ts`, run as a child process so its memory can
 * be measured on its own: `listen()` on a free loopback port with a short login timeout, printing
 * `port N`, then answering commands on stdin, one per line:
 *
 * - `mem`: collects garbage (where the runtime allows: `--expose-gc` on Node and Deno, `Bun.gc`)
 *   and prints `mem {"rss":…,"heap":…,"connections":…}`;
 * - `exit`: closes the server and exits.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { listen } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";

const loginTimeout = Number(process.argv[2] ?? 2000);

/** `plain`: a bare node:net server with the same timeout, as a control for the runtime's own cost. */
const plain = process.argv[3] === "plain";

const server = plain ? await plainServer() : await listen({
  port: 0,
  hostKeys: [generatePrivateKey("ssh-ed25519")],
  validatePassword: (u, p) => u === "memtest" && p === "memtest-pw",
  processFactory: async (p) => {
    await p.write("ok\n");
  },
  authFailureDelay: 0,
  loginTimeout,
  // Let every stalled connection in: this measures what they leave behind, not the drop policy.
  maxStartups: 100_000,
});

async function plainServer(): Promise<
  { address: { port: number }; connections: number; close(): Promise<void> }
> {
  const net = await import("node:net");
  let live = 0;
  const srv = net.createServer((sock) => {
    live++;
    sock.on("close", () => live--);
    sock.on("error", () => {});
    sock.on("data", () => {});
    sock.write("SSH-2.0-plain\r\n");
    setTimeout(() => sock.destroy(), loginTimeout);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    address: { port: (srv.address() as { port: number }).port },
    get connections() {
      return live;
    },
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

async function collect(): Promise<void> {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  for (let i = 0; i < 4; i++) {
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
    // Let finalizers and pending callbacks run between collections.
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

function usage(): { rss: number; heap: number; heapTotal: number; external: number } {
  const d = (globalThis as { Deno?: { memoryUsage(): Usage } }).Deno;
  const m: Usage = d ? d.memoryUsage() : process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

process.stdout.write(`port ${server.address.port}\n`);
const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  if (line === "mem") {
    await collect();
    process.stdout.write(
      `mem ${JSON.stringify({ ...usage(), connections: server.connections })}\n`,
    );
  } else if (line === "exit") {
    rl.close();
    await server.close();
    process.exit(0);
  }
});
