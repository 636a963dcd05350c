/**
 * From an audit of SCP: names a hostile `scp -f` sends with C1 controls or bidi
 * overrides are shown escaped; a remote "~" is the home directory, as `scp -O
 * file host:~` has it; a file that fails mid-way while we send it (a local upload,
 * or our server's `scp -f`) cuts the transfer instead of padding it with zeros to
 * a full-size copy that OpenSSH's sink keeps.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { MemoryBackend, type MemoryHandle } from "../../sftp/memory_backend.ts";
import { SCPError } from "../../sftp/scp/records.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ListenOptions } from "../server/options.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { listen } from "../server/listen.ts";
import { scpCommandLine, scpRecv } from "./remote.ts";
import { refuseAliasedPaths } from "./same_file.ts";
import { scp } from "./scp.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();
const dec = new TextDecoder();
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

async function withServer(
  options: Partial<ListenOptions>,
  fn: (conn: SSHClientConnection) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    host: "127.0.0.1",
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
    config: false,
  });
  await fn(conn);
}

/** A `scp -f` that sends `script` after the sink's first byte, then exits. */
function evilSource(script: string[]): (p: SSHServerProcess) => Promise<void> {
  return async (p) => {
    const r = p.stdin.getReader();
    await r.read();
    for (const part of script) await p.channel.write(enc.encode(part));
    await Promise.race([r.read(), new Promise((res) => setTimeout(res, 200))]);
    r.releaseLock();
    p.exit(0);
  };
}

test("client: names with C1 controls or bidi overrides from a hostile scp -f are shown escaped", async () => {
  const dst = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  try {
    for (const name of ["\u009b31mred", "\u202etxt.exe"]) {
      // Not the name asked for (CVE-2019-6111), through scp() and scpRecv().
      await withServer(
        { processFactory: evilSource([`C0644 5 ${name}\n`, "evil\n", "\0"]) },
        async (conn) => {
          const e = await scp([conn, "a.txt"], dst, { protocol: "scp" }).then(() => null, (e) => e);
          assert.ok(e instanceof SCPError);
          assert.equal(e.reason, "unexpected-name");
          assert.doesNotMatch(e.message, UNSAFE, JSON.stringify(e.message));
          const r = await scpRecv(conn, "a.txt").then(() => null, (e) => e);
          assert.ok(r instanceof SCPError);
          assert.equal(r.reason, "unexpected-name");
          assert.doesNotMatch(r.message, UNSAFE, JSON.stringify(r.message));
        },
      );
      // The name asked for, cut mid-file: the error names the removed file.
      await withServer(
        { processFactory: evilSource([`C0644 50 ${name}\n`, "evil\n"]) },
        async (conn) => {
          const e = await scp([conn, name], dst, { protocol: "scp" }).then(() => null, (e) => e);
          assert.ok(e instanceof SCPError);
          assert.equal(e.reason, "cut");
          assert.doesNotMatch(e.message, UNSAFE, JSON.stringify(e.message));
          assert.equal(e.path, join(dst, name)); // the path itself is kept as it is
        },
      );
      assert.deepEqual(await fsp.readdir(dst), []);
    }
  } finally {
    await fsp.rm(dst, { recursive: true });
  }
});

test("scpCommandLine() leaves a leading ~ to the remote shell for -t as for -f", () => {
  assert.equal(scpCommandLine({ mode: "to", paths: ["~"] }), "scp -t ~");
  assert.equal(scpCommandLine({ mode: "to", paths: ["~/in box/"] }), "scp -t ~/'in box/'");
  assert.equal(scpCommandLine({ mode: "to", paths: ["~;id"] }), "scp -t '~;id'");
  assert.equal(scpCommandLine({ mode: "from", paths: ["~/*.log"] }), "scp -f ~/*'.log'");
});

for (const protocol of ["scp", "sftp"] as const) {
  test(`scp() ${protocol}: an upload to "~" or "~/dir/" lands in the home directory`, async () => {
    const backend = new MemoryBackend();
    backend.mkdir("/in", { permissions: 0o755 });
    const src = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
    const file = join(src, "up.txt");
    await fsp.writeFile(file, "hello\n");
    try {
      await withServer({ scp: { backend }, sftp: { backend } }, async (conn) => {
        await scp(file, [conn, "~"], { protocol });
        await scp(file, [conn, "~/in/"], { protocol });
      });
      assert.equal(dec.decode(await backendRead(backend, "/up.txt")), "hello\n");
      assert.equal(dec.decode(await backendRead(backend, "/in/up.txt")), "hello\n");
      assert.equal(await backend.lstat("/~").then(() => true, () => false), false);
    } finally {
      await fsp.rm(src, { recursive: true });
    }
  });
}

test("scp() over SFTP: ~user is that user's home, from expand-path@openssh.com", async () => {
  const backend = new MemoryBackend({
    home: "/home/u",
    users: new Map([[0, "u"], [1000, "bob"]]),
  });
  backend.mkdir("/home/bob", { permissions: 0o755 });
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  await fsp.writeFile(join(dir, "up.txt"), "up\n");
  try {
    await withServer({ sftp: { backend } }, async (conn) => {
      await scp(join(dir, "up.txt"), [conn, "~bob/in.txt"], { protocol: "sftp" });
      await scp(join(dir, "up.txt"), [conn, "~u"], { protocol: "sftp" });
      await scp([conn, "~bob/*.txt"], dir, { protocol: "sftp" }); // a glob after ~bob
    });
    assert.equal(dec.decode(await backendRead(backend, "/home/bob/in.txt")), "up\n");
    assert.equal(dec.decode(await backendRead(backend, "/home/u/up.txt")), "up\n");
    assert.equal(await fsp.readFile(join(dir, "in.txt"), "utf8"), "up\n");
    assert.equal(await backend.lstat("/home/u/~bob").then(() => true, () => false), false);
  } finally {
    await fsp.rm(dir, { recursive: true });
  }
});

test("scp() and ~user on a server without expand-path: SFTP refuses it, auto falls back to scp -f", async () => {
  const memory = new MemoryBackend();
  // The same tree, without the extension (its method hidden from the server).
  const backend = new Proxy(memory, {
    get: (t, k) => {
      if (k === "expandPath") return undefined;
      const v = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  const commands: (string | undefined)[] = [];
  const source = evilSource(["C0644 6 a.txt\n", "hello\n", "\0"]);
  try {
    await withServer({
      sftp: { backend },
      processFactory: (p) => {
        commands.push(p.command);
        return source(p);
      },
    }, async (conn) => {
      const e = await scp([conn, "~bob/a.txt"], dir, { protocol: "sftp" }).then(
        () => null,
        (e) => e,
      );
      assert.ok(e instanceof SCPError, String(e));
      assert.equal(e.reason, "remote");
      assert.match(e.message, /~bob\/a\.txt: the server has no expand-path extension/);
      assert.deepEqual(commands, []);
      await scp([conn, "~bob/a.txt"], dir);
    });
    assert.deepEqual(commands, ["scp -f ~bob/'a.txt'"]); // "~bob" left to the remote shell
    assert.equal(await fsp.readFile(join(dir, "a.txt"), "utf8"), "hello\n");
  } finally {
    await fsp.rm(dir, { recursive: true });
  }
});

async function backendRead(b: MemoryBackend, path: string): Promise<Uint8Array> {
  const h = await b.open(path, 1, {});
  try {
    return (await b.read(h, 0, 1 << 20)) ?? new Uint8Array(0);
  } finally {
    await b.close(h);
  }
}

test("scp() legacy: a local file that shrinks while it is sent is cut, never padded to its size", async () => {
  const SIZE = 4 * 1024 * 1024;
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  const file = join(dir, "rotating.log");
  await fsp.writeFile(file, new Uint8Array(SIZE).fill(65));
  // A scripted `scp -t` that answers the C record and counts what follows until EOF (as
  // OpenSSH's sink, it would keep the file at its announced size, padding and all).
  let received = -1;
  let header = "";
  const sink = async (p: SSHServerProcess) => {
    await p.channel.write(new Uint8Array([0]));
    const r = p.stdin.getReader();
    let buf = new Uint8Array(0);
    let n = 0;
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      if (header === "") {
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf);
        joined.set(value, buf.length);
        const nl = joined.indexOf(10);
        if (nl < 0) {
          buf = joined;
          continue;
        }
        header = dec.decode(joined.subarray(0, nl));
        await p.channel.write(new Uint8Array([0]));
        n += joined.length - nl - 1;
      } else n += value.length;
      // All the announced bytes and a status after them: a full-size copy (the sender would
      // now wait for our answer).
      if (n > SIZE) break;
    }
    r.releaseLock();
    received = Math.min(n, SIZE);
    p.exit(1);
  };
  try {
    await withServer({ processFactory: sink }, async (conn) => {
      let cut = false;
      const e = await scp(file, [conn, "/tmp/x"], {
        protocol: "scp",
        // After the first piece went out: the next read finds the file shorter.
        onProgress: (done) => {
          if (done > 0 && !cut) {
            cut = true;
            fs.truncateSync(file, 0);
          }
        },
      }).then(() => null, (e) => e);
      assert.ok(e instanceof SCPError, String(e));
      assert.match(e.message, /rotating\.log: File shrank/);
    });
    assert.equal(header, `C0644 ${SIZE} rotating.log`);
    assert.ok(received >= 0 && received < SIZE, `the sink got ${received} of ${SIZE} bytes`);
  } finally {
    await fsp.rm(dir, { recursive: true });
  }
});

/** A backend whose reads fail past the first piece (a disk error mid-file). */
class FailingBackend extends MemoryBackend {
  override read(h: MemoryHandle, offset: number, length: number): Promise<Uint8Array | null> {
    if (offset > 0) return Promise.reject(new SFTPError(4, "I/O error"));
    return super.read(h, offset, length);
  }
}

test("server: scp -f cuts a file it cannot read to its end, never pads it to its size", async () => {
  const SIZE = 2 * 1024 * 1024;
  const backend = new FailingBackend();
  backend.writeFile("/big.bin", new Uint8Array(SIZE).fill(66));
  await withServer({ scp: { backend } }, async (conn) => {
    const p = await conn.createProcess("scp -f /big.bin");
    await p.channel.write(new Uint8Array([0])); // ready
    const rd = p.stdout.getReader();
    let out = new Uint8Array(0);
    let acked = false;
    for (;;) {
      const { value, done } = await rd.read();
      if (done) break;
      const joined = new Uint8Array(out.length + value.length);
      joined.set(out);
      joined.set(value, out.length);
      out = joined;
      if (!acked && out.indexOf(10) >= 0) {
        acked = true;
        await p.channel.write(new Uint8Array([0])); // take the file
      }
      // All the announced bytes and a status after them: a full-size copy (the server would
      // now wait for our answer).
      if (acked && out.length > out.indexOf(10) + 1 + SIZE) {
        p.close();
        break;
      }
    }
    const r = await p.wait({ timeout: 5000 }).catch(() => ({
      exitStatus: null,
      stderr: new Uint8Array(0),
    }));
    const nl = out.indexOf(10);
    assert.equal(dec.decode(out.subarray(0, nl)), `C0644 ${SIZE} big.bin`);
    const body = out.length - nl - 1;
    assert.ok(body < SIZE, `the client got ${body} bytes for a file of ${SIZE}`);
    assert.equal(r.exitStatus, 1);
    assert.match(dec.decode(r.stderr), /big\.bin: I\/O error/);
  });
});

test("refuseAliasedPaths(): a destination under ~ is the home directory, as the remote shell reads it", () => {
  for (const dst of ["~/a.txt", "~", "~/"]) {
    assert.throws(() => refuseAliasedPaths("a.txt", dst, false), SCPError, dst);
  }
  assert.throws(() => refuseAliasedPaths("~/d", "~/d/sub", true), SCPError);
  assert.doesNotThrow(() => refuseAliasedPaths("a.txt", "~/b.txt", false));
  assert.doesNotThrow(() => refuseAliasedPaths("a.txt", "~other/a.txt", false));
});

for (const sftp of [true, false]) {
  test(
    `scp() legacy: a file copied onto itself through "~" is refused and kept (${
      sftp ? "over SFTP" : "paths as written"
    })`,
    async () => {
      const backend = new MemoryBackend();
      backend.writeFile("/a.txt", enc.encode("precious\n"));
      await withServer(
        { scp: { backend }, ...(sftp ? { sftp: { backend } } : {}) },
        async (conn) => {
          for (const dst of ["~/a.txt", "~", "~/"]) {
            const e = await scp([conn, "a.txt"], [conn, dst], { protocol: "scp" }).then(
              () => null,
              (e) => e,
            );
            assert.ok(e instanceof SCPError, `${dst}: ${String(e)}`);
            assert.equal(e.reason, "usage");
          }
        },
      );
      assert.equal(dec.decode(await backendRead(backend, "/a.txt")), "precious\n");
    },
  );
}

test("scp() legacy: a file dated before 1970 is copied with preserve (its time sent as 0, as OpenSSH)", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/old.txt", enc.encode("old\n"));
  await backend.setstat("/old.txt", { atime: -315619200, mtime: -315619200 });
  const dst = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  try {
    await withServer({ scp: { backend } }, async (conn) => {
      await scp([conn, "/old.txt"], join(dst, "old.txt"), { protocol: "scp", preserve: true });
    });
    const st = await fsp.stat(join(dst, "old.txt"));
    assert.equal(await fsp.readFile(join(dst, "old.txt"), "utf8"), "old\n");
    assert.equal(Math.floor(st.mtimeMs / 1000), 0);
  } finally {
    await fsp.rm(dst, { recursive: true });
  }
});

for (const sftp of [true, false]) {
  test(
    `scp() legacy: a name with "[" is a literal, copied onto itself is refused and kept (${
      sftp ? "over SFTP" : "paths as written"
    })`,
    async () => {
      const backend = new MemoryBackend();
      backend.writeFile("/r[1].txt", enc.encode("precious\n"));
      backend.mkdir("/d[1]", { permissions: 0o755 });
      backend.writeFile("/d[1]/a.txt", enc.encode("precious\n"));
      const cases: [string, string, boolean][] = [
        ["/r[1].txt", "/r[1].txt", false],
        ["/r[1].txt", "/", false],
        ["/d[1]", "/d[1]/x", true],
        ["/d[1]/*.txt", "/d[1]", false],
      ];
      await withServer(
        { scp: { backend }, ...(sftp ? { sftp: { backend } } : {}) },
        async (conn) => {
          for (const [src, dst, recurse] of cases) {
            const e = await scp([conn, src], [conn, dst], { protocol: "scp", recurse }).then(
              () => null,
              (e) => e,
            );
            assert.ok(e instanceof SCPError, `${src} -> ${dst}: ${String(e)}`);
            assert.equal(e.reason, "usage");
          }
        },
      );
      assert.equal(dec.decode(await backendRead(backend, "/r[1].txt")), "precious\n");
      assert.equal(dec.decode(await backendRead(backend, "/d[1]/a.txt")), "precious\n");
    },
  );
}

test('scp() legacy: a download of a name with "[" to a file path is one file, not a glob', async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/report[1].txt", enc.encode("one\n"));
  const dst = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  try {
    await withServer({ scp: { backend } }, async (conn) => {
      await scp([conn, "/report[1].txt"], join(dst, "out.txt"), { protocol: "scp" });
    });
    assert.equal(await fsp.readFile(join(dst, "out.txt"), "utf8"), "one\n");
  } finally {
    await fsp.rm(dst, { recursive: true });
  }
});

test("scp() legacy: a name the sink would refuse (a tab in it) is skipped with a warning, the rest is sent", async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  await fsp.writeFile(join(dir, "a\tb.txt"), "tab\n");
  await fsp.writeFile(join(dir, "z.txt"), "z\n");
  const backend = new MemoryBackend();
  backend.mkdir("/d", { permissions: 0o755 });
  backend.writeFile("/d/c\x1bd.txt", enc.encode("esc\n"));
  backend.writeFile("/d/y.txt", enc.encode("y\n"));
  const out = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-audit-"));
  try {
    await withServer({ scp: { backend } }, async (conn) => {
      // Upload: our client sends.
      const up = await scp(dir, [conn, "/up"], { protocol: "scp", recurse: true }).then(
        () => null,
        (e) => e,
      );
      assert.ok(up instanceof SCPError, String(up));
      assert.match(up.message, /a\\x09b\.txt: Cannot send this name/);
      // Download: our server sends.
      const down = await scp([conn, "/d"], join(out, "d"), { protocol: "scp", recurse: true })
        .then(() => null, (e) => e);
      assert.ok(down instanceof SCPError, String(down));
      assert.match(down.message, /c\\x1bd\.txt: Cannot send this name/);
    });
    assert.equal(dec.decode(await backendRead(backend, "/up/z.txt")), "z\n");
    assert.deepEqual(await fsp.readdir(join(out, "d")), ["y.txt"]);
  } finally {
    await fsp.rm(dir, { recursive: true });
    await fsp.rm(out, { recursive: true });
  }
});
