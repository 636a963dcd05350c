/**
 * SCP against a hostile peer, both directions: our client against a scripted
 * server (a processFactory that plays a malicious `scp -f` / `scp -t`), and
 * our server (`listen({ scp })`) against a scripted client writing raw
 * records. Replays CVE-2019-6111 (unexpected and unsafe names),
 * CVE-2018-20685 (`D0777 0 .`), CVE-2019-6109/6110 (control characters in
 * names and stderr), CVE-2020-15778 (shell quoting), bad sizes, modes, times
 * and overlong records, deep nesting, and transfers cut mid-file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { DirEntry } from "../../sftp/backend.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { GLOB_MAX_DIRECTORIES } from "../../sftp/path.ts";
import { parseScpCommand, SCPError } from "../../sftp/scp/records.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ListenOptions } from "../server/options.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { listen } from "../server/listen.ts";
import { scp } from "./scp.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();
const dec = new TextDecoder();

async function tempDir(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-scp-hostile-"));
}

async function withServer(
  options: Partial<ListenOptions>,
  fn: (conn: SSHClientConnection) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    clientKeys: [],
  });
  await fn(conn);
}

/** Reads one byte-ish answer from the peer (drains whatever arrived). */
async function readSome(r: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array> {
  const { value } = await r.read();
  return value ?? new Uint8Array(0);
}

/**
 * A malicious `scp -f`: waits for the sink's first byte, sends `script`
 * (answers from the sink are drained as they come), optional stderr, exit.
 */
function evilSource(
  script: (string | Uint8Array)[],
  o: { stderr?: string; exit?: number; commands?: string[] } = {},
): (p: SSHServerProcess) => Promise<void> {
  return async (p) => {
    o.commands?.push(p.command ?? "");
    const r = p.stdin.getReader();
    await readSome(r);
    for (const part of script) {
      await p.channel.write(typeof part === "string" ? enc.encode(part) : part);
    }
    if (o.stderr) await p.writeStderr(o.stderr);
    // Let the sink answer what it got, then leave.
    await Promise.race([readSome(r), new Promise((res) => setTimeout(res, 200))]);
    r.releaseLock();
    p.exit(o.exit ?? 0);
  };
}

async function clientError(
  factory: (p: SSHServerProcess) => Promise<void>,
  src: string,
  dst: string,
  recurse = false,
): Promise<SCPError> {
  let err: unknown;
  await withServer({ processFactory: factory }, async (conn) => {
    err = await scp([conn, src], dst, { protocol: "scp", recurse, preserve: recurse }).then(
      () => undefined,
      (e) => e,
    );
  });
  assert.ok(err instanceof SCPError, `expected an SCPError, got ${String(err)}`);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(err.message, /[\x00-\x08\x0b-\x1f\x7f]/, "raw control characters shown");
  return err;
}

// ---- our client against a hostile server ----

test("client: a name other than the one asked for is refused (CVE-2019-6111)", async () => {
  const dst = await tempDir();
  const e = await clientError(evilSource(["C0644 5 .bashrc\n", "evil\n", "\0"]), "a.txt", dst);
  assert.equal(e.reason, "unexpected-name");
  assert.match(e.message, /\.bashrc/);
  assert.deepEqual(await fsp.readdir(dst), []);
  const g = await clientError(evilSource(["C0644 5 x.sh\n", "evil\n", "\0"]), "dir/*.txt", dst);
  assert.equal(g.reason, "unexpected-name");
  assert.deepEqual(await fsp.readdir(dst), []);
  // A second, unasked-for file after the right one.
  const two = await clientError(
    evilSource(["C0644 1 a.txt\n", "A", "\0", "C0644 1 .profile\n", "B", "\0"]),
    "a.txt",
    dst,
  );
  assert.equal(two.reason, "unexpected-name");
  assert.deepEqual(await fsp.readdir(dst), ["a.txt"]);
  await fsp.rm(dst, { recursive: true });
});

test("client: empty, '.', '..', '/' and control-character names are refused", async () => {
  const dst = await tempDir();
  for (const name of ["", ".", "..", "../x", "a/b", "/etc/x", "x\x1b[2Jy"]) {
    const e = await clientError(evilSource([`C0644 1 ${name}\n`, "A", "\0"]), ".", dst);
    assert.equal(e.reason, "bad-name", `${JSON.stringify(name)}: ${e.message}`);
  }
  // Inside a directory too.
  const e = await clientError(
    evilSource(["D0755 0 d\n", "C0644 1 ..\n", "A", "\0", "E\n"]),
    "d",
    dst,
    true,
  );
  assert.equal(e.reason, "bad-name");
  const left = await fsp.readdir(dst);
  assert.ok(left.every((n) => n === "d"), left.join());
  await fsp.rm(dst, { recursive: true });
});

test("client: D0777 0 . never changes the target directory's mode (CVE-2018-20685)", async () => {
  const dst = await tempDir();
  await fsp.chmod(dst, 0o700);
  const e = await clientError(evilSource(["D0777 0 .\n", "E\n"]), ".", dst, true);
  assert.equal(e.reason, "bad-name");
  assert.equal((await fsp.stat(dst)).mode & 0o777, 0o700);
  // Asked for "d" (which exists), the peer sends d with mode 777: d's own mode stays.
  await fsp.mkdir(join(dst, "d"), { mode: 0o700 });
  await withServer({ processFactory: evilSource(["D0777 0 d\n", "E\n"]) }, async (conn) => {
    await scp([conn, "d"], dst, { protocol: "scp", recurse: true, preserve: true });
  });
  assert.equal((await fsp.stat(join(dst, "d"))).mode & 0o777, 0o700);
  await fsp.rm(dst, { recursive: true });
});

test("client: the server's stderr and warnings are shown with control characters escaped (CVE-2019-6109/6110)", async () => {
  const dst = await tempDir();
  const e = await clientError(
    evilSource(["\x01scp: \x1b[1A\x1b[2Kfake progress\n"], {
      stderr: "\x1b]0;title\x07evil\x1b[31m text\n",
      exit: 1,
    }),
    "a.txt",
    dst,
  );
  assert.equal(e.reason, "remote");
  assert.match(e.message, /fake progress/);
  assert.match(e.message, /\\x1b/);
  const f = await clientError(evilSource(["\x02\x1b[2Jfatal\x07\n"]), "a.txt", dst);
  assert.match(f.message, /\\x1b\[2Jfatal\\x07/);
  await fsp.rm(dst, { recursive: true });
});

test("client: bad sizes, modes, times and overlong records are refused", async () => {
  const dst = await tempDir();
  const bad = [
    "C0644 -5 a.txt\n",
    "C0644 5x a.txt\n",
    "C0644 99999999999999999999 a.txt\n",
    "C644 5 a.txt\n",
    "C0999 5 a.txt\n",
    "T99999999999999 0 0 0\n",
    "T1 0 1 1000000\n",
    "Q\n",
    `C0644 1 ${"x".repeat(5000)}\n`,
    "C0644 1 " + "y".repeat(100_000),
  ];
  for (const rec of bad) {
    const e = await clientError(evilSource([rec]), "a.txt", dst);
    assert.ok(
      ["protocol", "limit", "bad-name"].includes(e.reason),
      `${rec.slice(0, 30)}: ${e.reason}`,
    );
  }
  assert.deepEqual(await fsp.readdir(dst), []);
  await fsp.rm(dst, { recursive: true });
});

test("client: nesting deeper than MAX_DEPTH is refused", async () => {
  const dst = await tempDir();
  const e = await clientError(
    evilSource(["D0755 0 d\n", ...Array(300).fill("D0755 0 d\n")]),
    "d",
    dst,
    true,
  );
  assert.equal(e.reason, "limit");
  await fsp.rm(dst, { recursive: true });
});

test("client: a transfer cut mid-file leaves no file that looks complete", async () => {
  const dst = await tempDir();
  const e = await clientError(
    evilSource(["C0644 100 a.txt\n", "x".repeat(50)], { exit: 0 }),
    "a.txt",
    dst,
  );
  assert.equal(e.reason, "cut");
  assert.match(e.message, /a\.txt/);
  assert.match(e.message, /50 of 100/);
  assert.deepEqual(await fsp.readdir(dst), []);
  // The source reports an error instead of the final "ok": the file is discarded too.
  const e2 = await clientError(
    evilSource(["C0644 3 a.txt\n", "abc", "\x01scp: read error\n"]),
    "a.txt",
    dst,
  );
  assert.equal(e2.reason, "remote");
  assert.deepEqual(await fsp.readdir(dst), []);
  await fsp.rm(dst, { recursive: true });
});

test("client: remote paths are quoted for the remote shell (CVE-2020-15778)", async () => {
  const dst = await tempDir();
  const commands: string[] = [];
  const nasty = "x; touch /tmp/pwned $(id) `id` \"q\" 'q' a b";
  const refuse = async (p: SSHServerProcess) => {
    commands.push(p.command ?? "");
    await p.channel.write(enc.encode("\x01scp: nope\n"));
    p.exit(1);
  };
  await withServer(
    { processFactory: refuse },
    async (conn) => {
      await assert.rejects(scp([conn, nasty], dst, { protocol: "scp" }), SCPError);
      await assert.rejects(scp(join(dst, "."), [conn, nasty], { protocol: "scp", recurse: true }));
    },
  );
  assert.equal(commands.length, 2);
  for (const c of commands) {
    const parsed = parseScpCommand(c); // no unquoted shell syntax, one path word
    assert.deepEqual(parsed.paths, [nasty.replace(/[*?[\]\\]/g, "\\$&")]);
  }
  await fsp.rm(dst, { recursive: true });
});

test("client as source: a hostile sink's fatal answer is escaped and ends the upload", async () => {
  const src = await tempDir();
  await fsp.writeFile(join(src, "f"), "data");
  const sink = async (p: SSHServerProcess) => {
    await p.channel.write(enc.encode("\0"));
    const r = p.stdin.getReader();
    await readSome(r);
    await p.channel.write(enc.encode("\x02\x1b[2Jgo away\n"));
    r.releaseLock();
    p.exit(1);
  };
  await withServer({ processFactory: sink }, async (conn) => {
    const e = await scp(join(src, "f"), [conn, "/x"], { protocol: "scp" }).then(
      () => undefined,
      (x) => x,
    );
    assert.ok(e instanceof SCPError, String(e));
    assert.match(e.message, /\\x1b\[2Jgo away/);
  });
  await fsp.rm(src, { recursive: true });
});

// ---- our server against a hostile client ----

async function rawScp(
  conn: SSHClientConnection,
  command: string,
  input: (string | Uint8Array)[],
): Promise<{ stdout: Uint8Array; stderr: string; exitStatus: number | null }> {
  const p = await conn.createProcess(command);
  for (const part of input) {
    await p.channel.write(typeof part === "string" ? enc.encode(part) : part).catch(() => {});
  }
  try {
    p.writeEof();
  } catch { /* closed already */ }
  const r = await p.wait({ timeout: 5000 });
  return { stdout: r.stdout, stderr: dec.decode(r.stderr), exitStatus: r.exitStatus };
}

function fatalAnswer(out: Uint8Array): string | undefined {
  const i = out.indexOf(2);
  return i < 0 ? undefined : dec.decode(out.subarray(i + 1));
}

test("server: unsafe names from a client are refused and nothing is written outside", async () => {
  const root = await tempDir();
  await fsp.mkdir(join(root, "in"));
  await withServer({ scp: { root: join(root, "in") } }, async (conn) => {
    for (const name of ["", ".", "..", "../escape", "a/b", "x\x1b[1my"]) {
      const r = await rawScp(conn, "scp -t /", [`C0644 1 ${name}\n`, "A", "\0"]);
      assert.equal(r.exitStatus, 1, JSON.stringify(name));
      const msg = fatalAnswer(r.stdout);
      assert.ok(msg !== undefined, `no fatal answer for ${JSON.stringify(name)}`);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(msg.slice(0, -1), /[\x00-\x1f]/);
    }
  });
  assert.deepEqual(await fsp.readdir(join(root, "in")), []);
  assert.deepEqual(await fsp.readdir(root), ["in"]);
  await fsp.rm(root, { recursive: true });
});

test("server: D0777 0 . with -r -p never changes the target's mode (CVE-2018-20685)", async () => {
  const root = await tempDir();
  await fsp.mkdir(join(root, "t"), { mode: 0o750 });
  await fsp.chmod(join(root, "t"), 0o750);
  await withServer({ scp: { root } }, async (conn) => {
    const r = await rawScp(conn, "scp -r -p -t /t", ["T1 0 1 0\n", "D0777 0 .\n", "E\n"]);
    assert.equal(r.exitStatus, 1);
    assert.ok(fatalAnswer(r.stdout) !== undefined);
    // Even a legitimate subdirectory changes only itself.
    const ok = await rawScp(conn, "scp -r -p -t /t", ["D0705 0 sub\n", "E\n"]);
    assert.equal(ok.exitStatus, 0, ok.stderr);
  });
  assert.equal((await fsp.stat(join(root, "t"))).mode & 0o777, 0o750);
  assert.equal((await fsp.stat(join(root, "t/sub"))).mode & 0o777, 0o705);
  await fsp.rm(root, { recursive: true });
});

test("server: bad sizes, modes, times, overlong records and deep nesting are refused", async () => {
  const root = await tempDir();
  await withServer({ scp: { root } }, async (conn) => {
    for (
      const rec of [
        "C0644 -1 a\n",
        "C0644 1e3 a\n",
        "C0644 99999999999999999999 a\n",
        "C64 1 a\n",
        "C0644x 1 a\n",
        "T1 0 1\n",
        "T1 2000000 1 0\n",
        "Z\n",
        "C0644 1 " + "n".repeat(10_000) + "\n",
      ]
    ) {
      const r = await rawScp(conn, "scp -t /", [rec]);
      assert.equal(r.exitStatus, 1, rec.slice(0, 20));
      assert.ok(fatalAnswer(r.stdout) !== undefined, rec.slice(0, 20));
    }
    const deep = await rawScp(conn, "scp -r -t /", Array(300).fill("D0755 0 d\n"));
    assert.equal(deep.exitStatus, 1);
    // A directory without -r.
    const nor = await rawScp(conn, "scp -t /", ["D0755 0 d\n", "E\n"]);
    assert.equal(nor.exitStatus, 1);
  });
  assert.deepEqual((await fsp.readdir(root)).filter((n) => n !== "d"), []);
  await fsp.rm(root, { recursive: true });
});

test("server: an upload cut mid-file is removed", async () => {
  const root = await tempDir();
  await withServer({ scp: { root } }, async (conn) => {
    const r = await rawScp(conn, "scp -t /", ["C0644 100 part.bin\n", "x".repeat(50)]);
    assert.equal(r.exitStatus, 1);
    // The client reports an error instead of the final ok: discarded as well.
    const r2 = await rawScp(conn, "scp -t /", ["C0644 3 bad.bin\n", "abc", "\x01scp: oops\n"]);
    assert.equal(r2.exitStatus, 1);
  });
  assert.deepEqual(await fsp.readdir(root), []);
  await fsp.rm(root, { recursive: true });
});

test("server: commands with shell syntax run nothing; symlinks out of the root are refused", async () => {
  const root = await tempDir();
  const outside = await tempDir();
  await fsp.symlink(outside, join(root, "out"));
  await withServer({ scp: { root } }, async (conn) => {
    for (
      const c of [
        `scp -t /x; touch ${outside}/pwned`,
        `scp -t $(touch ${outside}/pwned)`,
        `scp -t \`touch ${outside}/pwned\``,
        `scp -t /x | touch ${outside}/pwned`,
      ]
    ) {
      const r = await rawScp(conn, c, []);
      assert.equal(r.exitStatus, 1, c);
      assert.match(r.stderr, /not supported/);
    }
    const r = await rawScp(conn, "scp -t /out", ["C0644 1 x\n", "A", "\0"]);
    assert.equal(r.exitStatus, 1);
    const f = await rawScp(conn, "scp -f /out/../out/x", ["\0"]);
    assert.equal(f.exitStatus, 1);
  });
  assert.deepEqual(await fsp.readdir(outside), []);
  await fsp.rm(root, { recursive: true });
  await fsp.rm(outside, { recursive: true });
});

test("server as source: a hostile sink's refusals and garbage end the download cleanly", async () => {
  const root = await tempDir();
  await fsp.writeFile(join(root, "a"), "AAAA");
  await withServer({ scp: { root } }, async (conn) => {
    const r = await rawScp(conn, "scp -f /a", ["\0", "\x02\x1b[2Jno\n"]);
    assert.equal(r.exitStatus, 1);
    assert.match(r.stderr, /no/);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(r.stderr, /\x1b/);
    const g = await rawScp(conn, "scp -f /a", ["\0", "x".repeat(10_000)]);
    assert.equal(g.exitStatus, 1);
  });
  await fsp.rm(root, { recursive: true });
});

test(
  "server: scp -f with a glob through links that loop warns 'Too many matches' within its limits",
  {
    timeout: 30_000,
  },
  async () => {
    const root = await tempDir();
    await fsp.mkdir(join(root, "x"));
    await fsp.symlink(".", join(root, "x", "a"));
    await fsp.symlink(".", join(root, "x", "b"));
    await withServer({ scp: { root } }, async (conn) => {
      // 70 bytes: each "/*" doubled the work, all of it before the first record.
      const p = await conn.createProcess(`scp -f /x${"/*".repeat(30)}`);
      await p.channel.write(new Uint8Array([0]));
      p.writeEof();
      const r = await p.wait({ timeout: 20_000 }); // about 2 s of GLOB_MAX_DIRECTORIES listings
      assert.equal(r.exitStatus, 1);
      // deno-lint-ignore no-control-regex
      assert.match(dec.decode(r.stdout), /\x01scp: \/x\/\*.*: Too many matches/);
    });
    await fsp.rm(root, { recursive: true });
  },
);

test("server: scp -f holds all of one command's patterns to one set of glob limits", {
  timeout: 30_000,
}, async () => {
  const backend = new LoopingBackend(0);
  await withServer({ scp: { backend } }, async (conn) => {
    // Each pattern lists 2^9 - 1 = 511 directories: 40 of them would list 20,440 alone.
    const pattern = `/x${"/*".repeat(9)}/none`;
    const p = await conn.createProcess(`scp -f ${Array(40).fill(pattern).join(" ")}`);
    await p.channel.write(new Uint8Array([0]));
    p.writeEof();
    const r = await p.wait({ timeout: 20_000 });
    assert.equal(r.exitStatus, 1);
    assert.ok(backend.listed <= GLOB_MAX_DIRECTORIES, `${backend.listed} directories listed`);
    // The first four fit (4 × 511 = 2,044 of 2,048); the others are told "Too many matches".
    const out = dec.decode(r.stdout);
    assert.equal(out.match(/Too many matches/g)?.length, 36, out.slice(0, 300));
  });
});

/** Every directory under /x lists "a" and "b" (as links to "."), each listing taking `delay` ms. */
class LoopingBackend extends MemoryBackend {
  listed = 0;
  readonly #delay: number;
  constructor(delay = 1) {
    super();
    this.#delay = delay;
  }
  // deno-lint-ignore no-explicit-any
  override async opendir(path: string): Promise<any> {
    if (!path.startsWith("/x")) return await super.opendir(path);
    this.listed++;
    if (this.#delay > 0) await new Promise((r) => setTimeout(r, this.#delay));
    return { loop: true, done: false };
  }
  // deno-lint-ignore no-explicit-any
  override async readdir(h: any): Promise<readonly DirEntry[] | null> {
    if (!h.loop) return await super.readdir(h);
    if (h.done) return null;
    h.done = true;
    const attrs = { permissions: 0o40755 };
    return [{ filename: "a", longname: "a", attrs }, { filename: "b", longname: "b", attrs }];
  }
  // deno-lint-ignore no-explicit-any
  override async close(h: any): Promise<void> {
    if (!h.loop) await super.close(h);
  }
}

test("server: scp -f stops expanding a glob when the client closes the channel", async () => {
  const backend = new LoopingBackend();
  await withServer({ scp: { backend } }, async (conn) => {
    const p = await conn.createProcess(`scp -f /x${"/*".repeat(30)}`);
    await p.channel.write(new Uint8Array([0]));
    while (backend.listed < 20) await new Promise((r) => setTimeout(r, 5));
    p.channel.close();
    await new Promise((r) => setTimeout(r, 100));
    const after = backend.listed;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(backend.listed <= after + 1, `${backend.listed - after} listings after the close`);
  });
});
