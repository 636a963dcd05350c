/**
 * A connect() given up on (an abort, connectTimeout) rejects at once and leaves nothing that
 * keeps the process alive: its DISCONNECT and FIN go, then the socket closes without waiting
 * for the peer to close its side. It used to wait the failed-connect grace for that (a silent
 * peer never closes), and the socket and timer held the process that long after the rejection.
 *
 * Nothing here is timed: the grace timers are held back (they never fire), so a connection that
 * still waited for one would never close, and a hang guard fails the test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "./connect.ts";
import type { SSHClientConnection } from "./connection.ts";
import { currentRuntime } from "../runtime/env.ts";
import { FAILED_CONNECT_GRACE_MS } from "../limits.ts";
import { holdGraceTimers, stallingPeer } from "./_connect_give_up_test_util.ts";

/** Fails after `ms` unless `p` settled first (a hang guard, generous: not a timing check). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(guard);
  }
}

/** The message numbers of the unencrypted packets after the version line in `bytes`. */
function packetTypes(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = bytes.indexOf(10) + 1; // after the version line's LF
  const types: number[] = [];
  while (at > 0 && at + 6 <= bytes.length) {
    types.push(bytes[at + 5]!);
    at += 4 + view.getUint32(at);
  }
  return types;
}

test("connect() given up on closes its socket once its DISCONNECT is written, not after the grace", async () => {
  // A peer that sends its version line, then nothing, and keeps its side open.
  const peer = await stallingPeer("SSH-2.0-Stalling_1.0\r\n");
  try {
    for (const how of ["signal", "connectTimeout"] as const) {
      let conn: SSHClientConnection | undefined;
      let hold: ReturnType<typeof holdGraceTimers> | undefined;
      const ac = new AbortController();
      const attempt = connect(
        "127.0.0.1",
        {
          port: peer.port,
          username: "u",
          password: "p",
          knownHosts: null,
          agent: false,
          config: false,
          ...(how === "signal" ? { signal: ac.signal } : { connectTimeout: 200 }),
          connectionMade: (c: SSHClientConnection) => {
            conn = c;
            hold = holdGraceTimers();
            // Given up on once the handshake began: our KEXINIT is out.
            if (how === "signal") setTimeout(() => ac.abort(new Error("gave up")), 50);
          },
        } as Parameters<typeof connect>[1],
      );
      const e = await attempt.then(() => undefined, (x: unknown) => x);
      hold?.release();
      assert.ok(e instanceof Error, `${how}: ${String(e)}`);
      assert.equal(
        e.name,
        how === "signal" ? "Error" : "ConnectTimeoutError",
        `${how}: ${e.message}`,
      );
      assert.ok(
        hold?.held.includes(FAILED_CONNECT_GRACE_MS),
        `${how}: the failed-connect grace timer was set (and held back)`,
      );
      await within(conn!.closed, 10_000, `${how}: the connection's close`);
      const sent = await within(peer.ended.at(-1)!, 10_000, `${how}: the peer's end`);
      // KEXINIT, then DISCONNECT: it still reaches the peer, before our FIN.
      assert.equal(packetTypes(sent).at(-1), 1, `${how}: DISCONNECT last`);
    }
  } finally {
    peer.close();
  }
});

test("a process whose connect() timed out against a silent peer ends on its own", async () => {
  // Accepts, never speaks, never closes: only the client can end the connection.
  const peer = await stallingPeer();
  try {
    const script = fileURLToPath(new URL("./_connect_give_up_child_test_util.ts", import.meta.url));
    const args = currentRuntime() === "deno" ? ["run", "-A", script] : [script];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, PORT: String(peer.port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    let code: number | null;
    try {
      code = await within(exited, 20_000, "the child process");
    } catch (e) {
      child.kill("SIGKILL");
      throw new Error(`${(e as Error).message}; it printed: ${out}${err}`);
    }
    assert.equal(code, 0, err);
    const result = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.deepEqual(result, { error: "ConnectTimeoutError", graceHeld: true });
  } finally {
    peer.close();
  }
});
