/**
 * The child process of connect_give_up_test.ts: connects to the silent peer at `PORT` with a
 * short connectTimeout, with the grace timers held back, and prints one JSON
 * line. The process then has to end on its own: nothing of the failed connect may hold it.
 */
import process from "node:process";
import { connect } from "./connect.ts";
import type { SSHClientConnection } from "./connection.ts";
import { holdGraceTimers } from "./_connect_give_up_test_util.ts";
import { FAILED_CONNECT_GRACE_MS } from "../limits.ts";

let hold: ReturnType<typeof holdGraceTimers> | undefined;
const error = await connect(
  "127.0.0.1",
  {
    port: Number(process.env.PORT),
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
    config: false,
    connectTimeout: 200,
    // Once the TCP connect is done (its own timers are not held back).
    connectionMade: (_: SSHClientConnection) => void (hold = holdGraceTimers()),
  } as Parameters<typeof connect>[1],
).then(() => undefined, (e: Error) => e);
hold?.release();
console.log(JSON.stringify({
  error: error?.name,
  graceHeld: hold?.held.includes(FAILED_CONNECT_GRACE_MS),
}));
