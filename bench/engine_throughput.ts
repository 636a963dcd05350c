/**
 * Channel data through a client engine and a server engine in one process, no sockets:
 * the sending engine seals, the receiving engine opens and reports the data consumed
 * (window adjusts go back). Prints MB/s and CPU seconds per GiB, split into the sending
 * and the receiving side, with the crypto the library would use on this runtime
 * (`io/crypto/suite.ts`: node:crypto where it wins, WebCrypto AES-GCM on Deno — though
 * without a driver that one works synchronously here).
 *
 * Without the socket, sshd and the other process, this is the figure to compare two
 * versions of the packet path on a loaded machine: point `--root` at another checkout
 * (its `core/` and `io/` are loaded from there) and alternate runs.
 *
 * ```sh
 * node_modules/.bin/node bench/engine_throughput.ts [--cipher gcm|chacha|ctr|<name>] [--mib 128] [--direction up|down] [--root DIR]
 * node_modules/.bin/deno run -A bench/engine_throughput.ts --cipher chacha
 * node_modules/.bin/bun bench/engine_throughput.ts
 * ```
 *
 * @module
 */

import process from "node:process";

const CIPHERS: Record<string, string> = {
  gcm: "aes128-gcm@openssh.com",
  chacha: "chacha20-poly1305@openssh.com",
  ctr: "aes128-ctr",
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Engine {
  sendData(channel: number, data: Uint8Array): number;
  takeOutgoing(): Uint8Array[];
  receiveData(data: Uint8Array): void;
  pollEvent(): { type: string; channelId?: number; data?: Uint8Array } | undefined;
  consume(channel: number, n: number): void;
  openChannel(type: string, data?: Uint8Array, options?: { window?: number }): number;
  acceptChannel(channel: number, options?: { window?: number }): void;
}

const root = new URL(
  `${arg("root", new URL("..", import.meta.url).pathname).replace(/\/+$/, "")}/`,
  "file:///",
);
const cipher = CIPHERS[arg("cipher", "gcm")] ?? arg("cipher", "gcm");
const mib = Number(arg("mib", "128"));
const direction = arg("direction", "up");

const { makePair } = await import(new URL("core/testing/fixtures.ts", root).href);
const { defaultSuite } = await import(new URL("io/crypto/suite.ts", root).href);
const suite = defaultSuite();
const algorithms = { cipher: [cipher], mac: ["hmac-sha2-256-etm@openssh.com"] };
const pair = makePair({
  client: { suite },
  server: { suite },
  clientAlgorithms: algorithms,
  serverAlgorithms: algorithms,
  password: "secret",
});
pair.run();
const WINDOW = 8 * 1024 * 1024;
const client = pair.client as Engine, server = pair.server as Engine;
const c = client.openChannel("session", undefined, { window: WINDOW });
pair.run();
const req = (pair.serverEvents as { type: string; channelId: number }[])
  .find((e) => e.type === "channelOpenRequest")!;
server.acceptChannel(req.channelId, { window: WINDOW });
pair.run();

const [snd, rcv, sch, rch] = direction === "up"
  ? [client, server, c, req.channelId]
  : [server, client, req.channelId, c];
const data = new Uint8Array(64 * 1024);
const total = mib * 1024 * 1024;
let sent = 0, got = 0, sendCpu = 0, receiveCpu = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
while (got < total) {
  let a = process.cpuUsage();
  while (sent < total) {
    const n = snd.sendData(sch, data);
    if (n === 0) break;
    sent += n;
  }
  const chunks = snd.takeOutgoing();
  let b = process.cpuUsage(a);
  sendCpu += b.user + b.system;
  a = process.cpuUsage();
  for (const chunk of chunks) rcv.receiveData(chunk);
  for (let e; (e = rcv.pollEvent()) !== undefined;) {
    if (e.type === "channelData") {
      got += e.data!.length;
      rcv.consume(rch, e.data!.length);
    }
  }
  b = process.cpuUsage(a);
  receiveCpu += b.user + b.system;
  for (const chunk of rcv.takeOutgoing()) snd.receiveData(chunk);
  while (snd.pollEvent() !== undefined) { /* window adjusts */ }
}
const used = process.cpuUsage(cpu0);
const ms = performance.now() - t0;
const gib = total / 2 ** 30;
const s = (us: number) => (us / 1e6 / gib).toFixed(2);
console.log(
  `${cipher} ${direction}, ${mib} MiB: ${(total / 1e3 / ms).toFixed(0)} MB/s, CPU ` +
    `${s(used.user + used.system)} s/GiB (sending ${s(sendCpu)}, receiving ${s(receiveCpu)})` +
    ` [${root.pathname}]`,
);
