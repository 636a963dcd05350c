import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as net from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { currentRuntime } from "../runtime/env.ts";

const SERVER = fileURLToPath(new URL("./_fd_exhaustion_server_test_util.ts", import.meta.url));
/** Descriptors the server process may hold: the runtime's own use some 20–40 of them. */
const LIMIT = 64;
/** Connections opened at once: well past what the limit lets the server accept. */
const FLOOD = 150;

/** This runtime's command for running a script. */
function runtimeCommand(script: string): string {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  if (currentRuntime() === "deno") {
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno;
    return `${q(deno.execPath())} run -A ${q(script)}`;
  }
  return `${q(process.execPath)} ${q(script)}`;
}

/** The first line a new connection to `port` receives (or why there is none). */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const done = (line: string) => {
      clearTimeout(timer);
      s.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done("no banner within 10 s"), 10_000);
    let text = "";
    s.on("data", (d: Uint8Array) => {
      text += new TextDecoder().decode(d);
      if (text.includes("\n")) done(text.split(/\r?\n/)[0]!);
    });
    s.on("error", (e) => done(`error: ${e.message}`));
    s.on("close", () => done("closed without a banner"));
  });
}

test("listen() outlives running out of file descriptors, and accepts again once some are free", {
  skip: process.platform === "linux" ? undefined : "needs bash's ulimit (Linux)",
}, async () => {
  const child = spawn("bash", ["-c", `ulimit -n ${LIMIT} && exec ${runtimeCommand(SERVER)}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr!.on("data", (d: Uint8Array) => (err += new TextDecoder().decode(d)));
  let exit: string | undefined;
  const exited = new Promise<void>((r) =>
    child.on("exit", (code, signal) => {
      exit = `exit code ${code}, signal ${signal}`;
      r();
    })
  );
  const flood: net.Socket[] = [];
  try {
    const started = Date.now();
    while (!/PORT \d+/.test(out) && exit === undefined && Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const port = Number(/PORT (\d+)/.exec(out)?.[1]);
    assert.ok(port > 0, `the server did not start: ${exit ?? "no port"}\n${err}`);

    for (let i = 0; i < FLOOD; i++) {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      flood.push(s);
    }
    // The server takes what it can; the rest wait in the kernel's queue or are refused.
    const holding = () => Number(out.match(/HOLDING (\d+)/g)?.at(-1)?.split(" ")[1] ?? 0);
    const waitUntil = Date.now() + 20_000;
    while (holding() < LIMIT / 4 && exit === undefined && Date.now() < waitUntil) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000)); // accepts fail meanwhile
    assert.equal(exit, undefined, `the server died with its descriptors used up:\n${err}`);
    assert.ok(holding() < FLOOD, `the limit held the server below ${FLOOD} connections`);

    for (const s of flood) s.destroy();
    // Node's libuv closes what waits in the accept queue when an accept fails for want of a
    // descriptor (its EMFILE trick): a connection made just then is dropped. Try again.
    let line = "";
    for (let i = 0; i < 20 && !line.startsWith("SSH-"); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      line = await banner(port);
    }
    assert.equal(exit, undefined, `the server died:\n${err}`);
    assert.match(line, /^SSH-2\.0-/, "a new connection is served once descriptors are free");
  } finally {
    for (const s of flood) s.destroy();
    child.kill();
    await exited;
  }
});
