/**
 * Shared pieces of the interop tests (`interop_*_test.ts`): the other SSH
 * implementations users meet — AsyncSSH, paramiko, PuTTY, libssh, libssh2 and
 * the `ssh2` npm package — run as child processes against our `listen()` and,
 * where they have a server, with our `connect()` against them.
 *
 * - {@link interopTest} applies the conformance skip policy to these tools: a
 *   missing tool skips the test with one line saying how to install it, or fails
 *   it under `SSH_CONFORMANCE=required` (as `.ci/run` sets).
 * - Peers are driven by small programs in `conformance/peers/` (Python for
 *   AsyncSSH and paramiko, C for libssh and libssh2, compiled here with gcc,
 *   and a Node script for `ssh2`). The Python and Node drivers take a JSON plan
 *   of cases and print one JSON result per line, so a whole algorithm loop costs
 *   one interpreter start.
 * - {@link fullInterop}: the algorithm loops and bulk transfers run on Node
 *   only (or anywhere with `SSHTS_INTEROP_FULL=1`); Deno and Bun run the
 *   default-settings connections, authentication and one rekey per peer, which
 *   is what differs between runtimes (sockets, crypto providers).
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";
import type { SSHServerProcess } from "../io/server/process.ts";
import {
  conformanceRequired,
  ensureKeyMaterial,
  fixtureCacheDir,
  type KeyMaterial,
  TEST_PASSWORD,
  TEST_USER,
} from "./fixtures/mod.ts";
import { killTreeSync } from "./fixtures/command.ts";
import { startServer, type TestServer, testShell } from "./server_fixture.ts";

/** The other implementations these tests drive. */
export type InteropTool = "asyncssh" | "paramiko" | "putty" | "libssh" | "libssh2" | "ssh2";

/** The Debian packages `.ci/run` installs for each tool. */
const PACKAGES: Readonly<Record<InteropTool, string>> = {
  asyncssh: "python3-asyncssh",
  paramiko: "python3-paramiko",
  putty: "putty-tools",
  libssh: "libssh-dev gcc",
  libssh2: "libssh2-1-dev gcc",
  ssh2: "the ssh2 devDependency (npm install)",
};

/** conformance/peers/, where the peer drivers live. */
export const PEERS_DIR: string = fileURLToPath(new URL("./peers/", import.meta.url));
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The Node 24 binary from node_modules, which runs the ssh2 driver on every runtime. */
export const NODE = join(ROOT, "node_modules", ".bin", "node");

const pythons = new Map<string, string | null>();
/**
 * A Python 3 that can import Debian's asyncssh or paramiko: `/usr/bin/python3`
 * first (a pyenv or venv `python3` earlier on PATH lacks the Debian modules).
 */
export function pythonFor(module: "asyncssh" | "paramiko"): string | null {
  if (pythons.has(module)) return pythons.get(module)!;
  let found: string | null = null;
  for (const p of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(p, ["-W", "ignore", "-c", `import ${module}`], { stdio: "ignore" });
    if (r.status === 0) {
      found = p;
      break;
    }
  }
  pythons.set(module, found);
  return found;
}

function has(cmd: string, args: string[] = ["--version"]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return r.error === undefined;
}

const availability = new Map<InteropTool, string | null>();

/** Why `tool` cannot run here, or null when it can. */
export function unavailable(tool: InteropTool): string | null {
  if (availability.has(tool)) return availability.get(tool)!;
  let why: string | null = null;
  switch (tool) {
    case "asyncssh":
    case "paramiko":
      if (pythonFor(tool) === null) why = `python3 cannot import ${tool}`;
      break;
    case "putty":
      if (!has("plink", ["-V"])) why = "plink not found";
      break;
    case "libssh":
    case "libssh2": {
      const header = tool === "libssh" ? "/usr/include/libssh/libssh.h" : "/usr/include/libssh2.h";
      if (!has("gcc")) why = "gcc not found";
      else if (!existsSync(header)) why = `${header} not found`;
      break;
    }
    case "ssh2":
      if (!existsSync(join(ROOT, "node_modules", "ssh2", "package.json"))) {
        why = "node_modules/ssh2 not found";
      } else if (!existsSync(NODE)) why = "node_modules/.bin/node not found";
      break;
  }
  availability.set(tool, why);
  return why;
}

const announced = new Set<string>();

/**
 * Registers a test that needs interop tools, with the conformance skip policy:
 * skipped with one explanatory line when a tool is missing, failed instead under
 * `SSH_CONFORMANCE=required`.
 *
 * @example
 * ```ts ignore
 * interopTest("AsyncSSH logs in to listen()", { tools: ["asyncssh"] }, async () => {});
 * ```
 */
export function interopTest(
  name: string,
  options: { readonly tools: readonly InteropTool[]; readonly timeoutMs?: number },
  fn: () => Promise<void>,
): void {
  const timeout = options.timeoutMs ?? 120_000;
  for (const tool of options.tools) {
    const why = unavailable(tool);
    if (why === null) continue;
    const how = `install ${PACKAGES[tool]} or run \`bash .ci/run\``;
    if (conformanceRequired()) {
      const message = `conformance: required but unavailable — ${tool}: ${why}; ${how} ` +
        "(unset SSH_CONFORMANCE to skip instead)";
      test(name, { timeout }, () => {
        throw new Error(message);
      });
    } else {
      const message = `conformance: skipped — ${tool}: ${why}; ${how} ` +
        "(set SSH_CONFORMANCE=required to make this fail)";
      if (!announced.has(message)) {
        announced.add(message);
        console.error(message);
      }
      test(name, { skip: message }, () => {});
    }
    return;
  }
  test(name, { timeout }, fn);
}

/**
 * Whether the full interop matrix runs here: on Node (or with
 * `SSHTS_INTEROP_FULL=1`). Deno and Bun run the reduced set.
 */
export function fullInterop(): boolean {
  if (process.env.SSHTS_INTEROP_FULL === "1") return true;
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno === undefined && g.Bun === undefined;
}

const MiB = 1024 * 1024;

/** Bytes sent through a rekey test: 4 MiB in the full run, 1 MiB on Deno and Bun. */
export const REKEY_TRANSFER: number = fullInterop() ? 4 * MiB : MiB;

/** The bulk transfer of the full run, through stdin with its hash checked. */
export const BULK: number = 16 * MiB;

/** Runs `fn` over `items`, `limit` at a time (the machines here have two cores). */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The fixture keys (made once by ssh-keygen, cached under .cache/conformance). */
export function keyMaterial(): Promise<KeyMaterial> {
  return ensureKeyMaterial();
}

let scratch: string | undefined;
/** A private scratch directory for this test process, removed at the end. */
export function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), "sshts-interop-"));
  return scratch;
}
after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
  written.clear();
});

const written = new Map<string, string | Uint8Array>();

/**
 * Writes a file (mode 0600) in the scratch directory and returns its path. A name
 * is written once per contents: clients running side by side must never read a
 * file half-rewritten.
 */
export function scratchFile(name: string, contents: string | Uint8Array): string {
  const path = join(scratchDir(), name);
  if (written.get(name) !== contents) {
    // A new name, or new contents: write a temporary file and rename it over.
    const tmp = `${path}.${process.pid}.${written.size}.tmp`;
    writeFileSync(tmp, contents, { mode: 0o600 });
    renameSync(tmp, path);
    written.set(name, contents);
  }
  return path;
}

/** Deterministic test data: `size` bytes from a SHA-256 counter stream seeded by `seed`. */
export function testData(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const block = createHash("sha256");
  let state = block.update(`sshts-interop-${seed}`).digest();
  for (let o = 0; o < size; o += 32) {
    out.set(state.subarray(0, Math.min(32, size - o)), o);
    state = createHash("sha256").update(state).digest();
  }
  return out;
}

/** Hex SHA-256. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * What every interop server of ours runs: the conformance test shell, plus
 * `algorithms` (the negotiated algorithms, kex count and auth method as JSON) and
 * `sha256kex` (the SHA-256 of stdin, then the kex count once stdin ended), for
 * clients that run one command per connection.
 */
export async function interopShell(p: SSHServerProcess): Promise<void> {
  if (p.command === "sha256kex") {
    const h = createHash("sha256");
    for await (const chunk of p.stdin) h.update(chunk);
    await p.write(`${h.digest("hex")} ${p.connection!.getExtraInfo().kexCount}\n`);
    return;
  }
  if (p.command === "algorithms") {
    const info = p.connection!.getExtraInfo();
    await p.write(
      JSON.stringify({
        ...info.algorithms,
        kexCount: info.kexCount,
        authMethod: info.authMethod,
      }) + "\n",
    );
    return;
  }
  return testShell(p);
}

/**
 * Our server for the interop clients: fixture host keys, the fixture client keys
 * authorized, the test password (password and keyboard-interactive), direct-tcpip
 * allowed, and with `everything` every algorithm we implement offered.
 */
export function interopServer(
  options: Parameters<typeof startServer>[0] & { readonly everything?: boolean } = {},
): Promise<TestServer> {
  const { everything, ...extra } = options;
  return startServer({
    processFactory: interopShell,
    connectionRequested: () => true,
    ...(everything
      ? { kexAlgs: SUPPORTED_KEX, encryptionAlgs: SUPPORTED_CIPHERS, macAlgs: SUPPORTED_MACS }
      : {}),
    ...extra,
  });
}

/** A TCP echo server on 127.0.0.1 for direct-tcpip tests. */
export async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  // allowHalfOpen: the echo of what is still in flight goes back after the client's
  // FIN (pipe() ends our side once it is written).
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One case of a driver plan; the drivers in conformance/peers/ read these. */
export interface PeerCase {
  /** Echoed back in the result. */
  readonly id: string;
  /** "password", "kbdint", "key" or "none". */
  readonly auth?: string;
  /** Private key file for "key". */
  readonly key?: string;
  /** Signature algorithms the client may use (RSA keys). */
  readonly sigAlgs?: readonly string[];
  /** Algorithm lists to offer (a single name forces it). */
  readonly kex?: readonly string[];
  readonly ciphers?: readonly string[];
  readonly macs?: readonly string[];
  /** The command to run. */
  readonly command?: string;
  /** Bytes of test data to send on stdin ({@link testData} with `seed`). */
  readonly stdinSize?: number;
  readonly seed?: number;
  /** Request a pty and type these lines into the shell. */
  readonly ptyLines?: readonly string[];
  /** Open a direct-tcpip channel to 127.0.0.1:port and echo this text through it. */
  readonly forwardPort?: number;
  readonly forwardText?: string;
  /** Rekey after this many bytes (the peer initiates). */
  readonly rekeyBytes?: number;
  /** A second command on the same connection, after the first (e.g. "algorithms"). */
  readonly then?: string;
  /** Start one rekey after this many bytes of stdin (peers that rekey on request). */
  readonly rekeyAfter?: number;
  /**
   * SFTP: mkdir d, write this many bytes of test data to d/a.bin, rename it to
   * d/b.bin, list d, read it back, remove both; the result's `sftp` has the names
   * listed and the hashes sent and read back.
   */
  readonly sftp?: number;
}

/** A driver's answer for one case. */
export interface PeerResult {
  readonly id: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitStatus?: number | null;
  /** Hex SHA-256 of the data the driver sent on stdin. */
  readonly sentHash?: string;
  /** What came back through a direct-tcpip channel. */
  readonly forwarded?: string;
  /** Whatever else a driver reports (negotiated names, rekeys seen). */
  readonly [more: string]: unknown;
}

/**
 * Runs a driver to completion with a JSON plan on stdin; returns its JSON result
 * lines. With `SSHTS_INTEROP_DEBUG=1` the plan asks the driver to log the protocol
 * on stderr, which a failure message then includes.
 */
export function runDriver(
  argv: readonly string[],
  plan: Record<string, unknown>,
  timeoutMs = 100_000,
): Promise<{ results: PeerResult[]; stderr: string; status: number | null }> {
  const debug = process.env.SSHTS_INTEROP_DEBUG === "1";
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
    child.stderr.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killTreeSync(child.pid, "SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      const results = out.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l) as PeerResult
      );
      if (timedOut) {
        reject(
          new Error(
            `${argv.join(" ")} timed out after ${timeoutMs} ms with ${results.length} ` +
              `results\n${err.slice(-4000)}`,
          ),
        );
        return;
      }
      resolve({ results, stderr: err, status });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(JSON.stringify(debug ? { ...plan, debug: true } : plan));
  });
}

/**
 * {@link runDriver} with the plan's cases split over `parts` driver processes
 * running side by side; results come back in the plan's order.
 */
export async function runDriverParallel(
  argv: readonly string[],
  plan: Record<string, unknown> & { readonly cases: readonly PeerCase[] },
  parts = 3,
): Promise<{ results: PeerResult[]; stderr: string }> {
  const chunks: PeerCase[][] = Array.from({ length: parts }, () => []);
  plan.cases.forEach((c, i) => chunks[i % parts]!.push(c));
  const runs = await Promise.all(
    chunks.filter((c) => c.length > 0).map((cases) => runDriver(argv, { ...plan, cases })),
  );
  const byId = new Map(runs.flatMap((r) => r.results).map((r) => [r.id, r]));
  return {
    results: plan.cases.flatMap((c) => byId.has(c.id) ? [byId.get(c.id)!] : []),
    stderr: runs.map((r) => r.stderr).join("\n"),
  };
}

/** A peer server running as a child process until closed. */
export interface PeerServer extends AsyncDisposable {
  readonly port: number;
  /** What the server printed on stderr so far (for failure messages). */
  log(): string;
  close(): Promise<void>;
}

/**
 * Starts a driver in server mode: it prints `LISTENING <port>` on stdout once
 * it accepts connections.
 */
export function startDriverServer(argv: readonly string[], config: unknown): Promise<PeerServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "", err = "";
    let done = false;
    const exited = new Promise<void>((r) => child.on("close", () => r()));
    const close = async () => {
      if (child.exitCode === null && child.pid !== undefined) killTreeSync(child.pid, "SIGTERM");
      await exited;
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      void close();
      reject(new Error(`${argv.join(" ")} did not start listening\n${err}`));
    }, 30_000);
    child.stdout.on("data", (b: Uint8Array) => {
      out += new TextDecoder().decode(b);
      const m = /LISTENING (\d+)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          log: () => err,
          close,
          [Symbol.asyncDispose]: close,
        });
      }
    });
    child.stderr.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
    child.on("close", () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${argv.join(" ")} exited before listening\n${err}`));
    });
    child.stdin.on("error", () => {});
    child.stdin.end(JSON.stringify(config));
  });
}

/** The Python driver for AsyncSSH or paramiko. */
export function pythonDriver(module: "asyncssh" | "paramiko", mode: "client" | "server"): string[] {
  const py = pythonFor(module);
  if (py === null) throw new Error(`python3 cannot import ${module}`);
  return [py, "-W", "ignore", join(PEERS_DIR, `${module}_peer.py`), mode];
}

/**
 * Compiles `conformance/peers/<name>.c` against `lib` (once per source version,
 * cached under .cache/conformance/bin) and returns the binary's path.
 */
export function buildCPeer(name: "libssh_client" | "libssh2_client", lib: string): string {
  const source = join(PEERS_DIR, `${name}.c`);
  const text = readFileSync(source);
  const tag = createHash("sha256").update(text).update(lib).digest("hex").slice(0, 12);
  const dir = join(fixtureCacheDir(), "bin");
  const out = join(dir, `${name}-${tag}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync("gcc", ["-O1", "-Wall", "-o", tmp, source, `-l${lib}`], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`gcc ${name}.c -l${lib} failed:\n${r.stderr}`);
  // Rename is atomic: concurrent test processes never run a half-written binary.
  spawnSync("mv", ["-f", tmp, out]);
  return out;
}

/** The fixture user and password, for drivers. */
export const LOGIN = { user: TEST_USER, password: TEST_PASSWORD } as const;

/** Fails with every failed result's id and error, so one assertion shows the whole matrix. */
export function assertAllOk(results: readonly PeerResult[], expected: number, what: string): void {
  const bad = results.filter((r) => !r.ok).map((r) => `${r.id}: ${r.error ?? "failed"}`);
  if (bad.length > 0 || results.length !== expected) {
    throw new Error(
      `${what}: ${results.length - bad.length}/${expected} passed\n${bad.join("\n")}`,
    );
  }
}

/** A peer's algorithm lists: everything it implements, and what it offers by default. */
export interface PeerAlgorithms {
  readonly kex: readonly string[];
  readonly ciphers: readonly string[];
  readonly macs: readonly string[];
  readonly defaultKex: readonly string[];
  readonly defaultCiphers: readonly string[];
  readonly defaultMacs: readonly string[];
}

const ALGORITHM_QUERY: Readonly<Record<"asyncssh" | "paramiko", string>> = {
  asyncssh: `
import json, asyncssh
from asyncssh.kex import get_kex_algs, get_default_kex_algs
from asyncssh.encryption import get_encryption_algs, get_default_encryption_algs
from asyncssh.mac import get_mac_algs, get_default_mac_algs
d = lambda l: [a.decode() for a in l]
print(json.dumps(dict(kex=d(get_kex_algs()), ciphers=d(get_encryption_algs()),
  macs=d(get_mac_algs()), defaultKex=d(get_default_kex_algs()),
  defaultCiphers=d(get_default_encryption_algs()), defaultMacs=d(get_default_mac_algs()))))
`,
  paramiko: `
import json, paramiko
T = paramiko.Transport
print(json.dumps(dict(kex=list(T._kex_info), ciphers=list(T._cipher_info), macs=list(T._mac_info),
  defaultKex=list(T._preferred_kex), defaultCiphers=list(T._preferred_ciphers),
  defaultMacs=list(T._preferred_macs))))
`,
};

const algorithmCache = new Map<string, PeerAlgorithms>();
/** Asks AsyncSSH or paramiko itself (at run time) which algorithms it implements. */
export function peerAlgorithms(module: "asyncssh" | "paramiko"): PeerAlgorithms {
  const cached = algorithmCache.get(module);
  if (cached) return cached;
  const py = pythonFor(module);
  if (py === null) throw new Error(`python3 cannot import ${module}`);
  const r = spawnSync(py, ["-W", "ignore", "-c", ALGORITHM_QUERY[module]], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${module} algorithm query failed: ${r.stderr}`);
  const lists = JSON.parse(r.stdout) as PeerAlgorithms;
  algorithmCache.set(module, lists);
  return lists;
}

/** The `ssh2` package's own lists (its protocol constants), asked through Node at run time. */
export function ssh2Algorithms(): PeerAlgorithms {
  const cached = algorithmCache.get("ssh2");
  if (cached) return cached;
  const script = `const c = require("ssh2/lib/protocol/constants.js");
console.log(JSON.stringify({ kex: c.SUPPORTED_KEX, ciphers: c.SUPPORTED_CIPHER,
  macs: c.SUPPORTED_MAC, defaultKex: c.DEFAULT_KEX, defaultCiphers: c.DEFAULT_CIPHER,
  defaultMacs: c.DEFAULT_MAC }));`;
  const r = spawnSync(NODE, ["-e", script], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh2 algorithm query failed: ${r.stderr}`);
  const lists = JSON.parse(r.stdout) as PeerAlgorithms;
  algorithmCache.set("ssh2", lists);
  return lists;
}

/** The names in `theirs` that we implement too (in their order). */
export function shared(theirs: readonly string[], ours: readonly string[]): string[] {
  return theirs.filter((n) => ours.includes(n));
}

/** What the C client drivers (conformance/peers/libssh*_client.c) print as their JSON line. */
export interface CClientResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly kex?: string;
  readonly cipher?: string;
  readonly hmac?: string;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly forwarded?: string;
  readonly then?: string;
  readonly exitStatus?: number;
}

/** Asserts a C client run succeeded (`what` names it in the failure). */
export function cClientOk(r: CClientResult, what: string): CClientResult {
  assert.ok(r.ok, `${what}: ${r.error}`);
  return r;
}

/** The private key file of one of the fixture's client keys, by name. */
export async function clientKeyPath(name: string): Promise<string> {
  const m = await keyMaterial();
  return m.clientKeys.find((k) => k.name === name)!.privateKeyPath;
}

/**
 * The full-interop cases both C clients (libssh, libssh2) run against listen(): a pty through
 * the line editor, direct-tcpip and 16 MiB with its hash; then every kex, cipher and MAC the
 * client (`implemented`) and we both have, each checked as negotiated.
 */
export function cClientFullInteropTests(
  tool: InteropTool,
  run: (server: TestServer, args: readonly string[]) => Promise<CClientResult>,
  implemented: (kind: "kex" | "cipher" | "mac") => Promise<readonly string[]>,
): void {
  interopTest(
    `${tool}'s client: a pty through our line editor, direct-tcpip, 16 MiB with its hash`,
    { tools: [tool] },
    async () => {
      const echo = await echoServer();
      try {
        await using server = await interopServer();
        const login = ["--password", LOGIN.password];
        const pty = cClientOk(
          await run(server, [...login, "--pty-line", "echo one", "--pty-line", "echo twx\x7fo"]),
          "pty",
        );
        assert.match(pty.stdout!, /echo one\r\n/);
        assert.match(pty.stdout!, /\r\ntwo\r\n/);
        const fwd = cClientOk(
          await run(server, [
            ...login,
            "--forward",
            String(echo.port),
            "--forward-text",
            "ping\n",
          ]),
          "forward",
        );
        assert.equal(fwd.forwarded, "ping\n");
        const bulk = scratchFile(`${tool}_bulk`, testData(BULK, 11));
        const r = cClientOk(
          await run(server, [...login, "--command", "sha256", "--stdin-file", bulk]),
          "16 MiB",
        );
        assert.equal(r.stdout!.trim(), sha256Hex(testData(BULK, 11)));
      } finally {
        await echo.close();
      }
    },
  );

  interopTest(
    `${tool}'s client logs in to listen() with every kex, cipher and MAC both implement`,
    { tools: [tool], timeoutMs: 300_000 },
    async () => {
      await using server = await interopServer({ everything: true });
      const failures: string[] = [];
      const cases = [
        ...shared(await implemented("kex"), SUPPORTED_KEX).map((k) =>
          ["kex", k, ["--kex", k]] as const
        ),
        ...shared(await implemented("cipher"), SUPPORTED_CIPHERS).map((c) =>
          ["cipher", c, ["--ciphers", c]] as const
        ),
        ...shared(await implemented("mac"), SUPPORTED_MACS).map((m) =>
          ["mac", m, ["--hmac", m, "--ciphers", "aes128-ctr"]] as const
        ),
      ];
      await eachLimited(cases, 3, async ([kind, name, args]) => {
        const r = await run(server, [
          "--password",
          LOGIN.password,
          ...args,
          "--command",
          "algorithms",
        ]);
        if (!r.ok) {
          failures.push(`${name}: ${r.error}`);
          return;
        }
        const negotiated = JSON.parse(r.stdout!) as Record<string, string>;
        const field = kind === "kex" ? "kex" : kind === "cipher" ? "cipherC2S" : "macC2S";
        if (negotiated[field] !== name) failures.push(`${name}: negotiated ${negotiated[field]}`);
      });
      assert.deepEqual(failures, [], `tried ${cases.map((c) => c[1]).join(", ")}`);
    },
  );
}
