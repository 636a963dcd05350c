/**
 * A server for fd_exhaustion_test.ts, run in a child process with a low descriptor limit:
 * it prints its port, then how many connections it holds, every 100 ms.
 *
 * @module
 */

import process from "node:process";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen } from "./listen.ts";

const server = await listen({
  host: "127.0.0.1",
  port: 0,
  hostKeys: [generatePrivateKey("ed25519")],
  // Every connection is kept (not dropped as an excess startup): the descriptors run out.
  maxStartups: 100_000,
  logLevel: "error",
});
process.stdout.write(`PORT ${server.address.port}\n`);
setInterval(() => process.stdout.write(`HOLDING ${server.connections}\n`), 100);
