/**
 * scp() and the libssh2 primitives against our own server on loopback: both
 * protocols, all three directions, -r and -p, progress, globs, readOnly,
 * the jail, and scpSend's announced size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { SCPError } from "../../sftp/scp/records.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ListenOptions } from "../server/options.ts";
import { listen } from "../server/listen.ts";
import { scp } from "./scp.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();
const dec = new TextDecoder();

async function tempDir(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-scp-"));
}

async function withServer(
  options: Partial<ListenOptions>,
  fn: (conn: SSHClientConnection, port: number) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (u, p) => p === "pw" && u === "alice",
    ...options,
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
    clientKeys: [],
  });
  await fn(conn, server.address.port);
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function makeTree(dir: string): Promise<void> {
  await fsp.mkdir(join(dir, "tree/sub"), { recursive: true });
  await fsp.writeFile(join(dir, "tree/a.txt"), "alpha\n");
  await fsp.writeFile(join(dir, "tree/sub/big.bin"), pattern(700_000));
  await fsp.writeFile(join(dir, "tree/sub/empty"), "");
  await fsp.chmod(join(dir, "tree/a.txt"), 0o640);
  await fsp.utimes(join(dir, "tree/a.txt"), 1_600_000_000, 1_500_000_000);
}

async function sameTree(a: string, b: string): Promise<void> {
  assert.deepEqual(await fsp.readFile(join(a, "a.txt")), await fsp.readFile(join(b, "a.txt")));
  assert.deepEqual(
    await fsp.readFile(join(a, "sub/big.bin")),
    await fsp.readFile(join(b, "sub/big.bin")),
  );
  assert.equal((await fsp.stat(join(b, "sub/empty"))).size, 0);
}

for (const protocol of ["scp", "sftp"] as const) {
  test(`scp() ${protocol}: upload and download a tree with -r -p, a file, and progress`, async () => {
    const local = await tempDir();
    const root = await tempDir();
    await makeTree(local);
    await withServer({ scp: { root }, sftp: { root } }, async (conn) => {
      const seen: [number, number, string][] = [];
      await scp(join(local, "tree"), [conn, "/up"], {
        protocol,
        recurse: true,
        preserve: true,
        onProgress: (d, t, s) => seen.push([d, t, s]),
      });
      await sameTree(join(local, "tree"), join(root, "up"));
      const st = await fsp.stat(join(root, "up/a.txt"));
      assert.equal(st.mode & 0o777, 0o640);
      assert.equal(Math.floor(st.mtimeMs / 1000), 1_500_000_000);
      assert.ok(seen.some(([d, t]) => d === 700_000 && t === 700_000));

      await scp([conn, "/up"], join(local, "down"), { protocol, recurse: true, preserve: true });
      await sameTree(join(local, "tree"), join(local, "down"));
      assert.equal((await fsp.stat(join(local, "down/a.txt"))).mode & 0o777, 0o640);

      await scp([conn, "up/a.txt"], join(local, "one.txt"), { protocol });
      assert.equal(await fsp.readFile(join(local, "one.txt"), "utf8"), "alpha\n");

      // Into an existing directory, several sources.
      await fsp.mkdir(join(root, "many"));
      await scp([join(local, "one.txt"), join(local, "tree/a.txt")], [conn, "/many"], {
        protocol,
      });
      assert.deepEqual((await fsp.readdir(join(root, "many"))).sort(), ["a.txt", "one.txt"]);
      // A directory without recurse is an error.
      await assert.rejects(scp(join(local, "tree"), [conn, "/x"], { protocol }));
    });
    await fsp.rm(local, { recursive: true });
    await fsp.rm(root, { recursive: true });
  });
}

for (const protocol of ["scp", "sftp"] as const) {
  test(`scp() ${protocol}: errorHandler reports a failed source and the rest is copied`, async () => {
    const local = await tempDir();
    const root = await tempDir();
    await fsp.writeFile(join(root, "ok.txt"), "fine\n");
    await fsp.mkdir(join(local, "down"));
    try {
      await withServer({ scp: { root }, sftp: { root } }, async (conn) => {
        const sources: [SSHClientConnection, string][] = [[conn, "/missing.txt"], [
          conn,
          "/ok.txt",
        ]];
        // Without a handler the failure stops the copy.
        await assert.rejects(scp(sources, join(local, "down"), { protocol }));
        await fsp.rm(join(local, "down"), { recursive: true, force: true });
        await fsp.mkdir(join(local, "down"));
        const failed: string[] = [];
        await scp(sources, join(local, "down"), {
          protocol,
          errorHandler: (e, path) => {
            assert.ok(e instanceof Error);
            failed.push(path);
          },
        });
        assert.equal(failed.length, 1);
        assert.match(failed[0]!, /missing\.txt/);
        assert.deepEqual(await fsp.readdir(join(local, "down")), ["ok.txt"]);
        // A handler that throws stops the copy with its error.
        const stop = new Error("stop");
        await assert.rejects(
          scp(sources, join(local, "down"), {
            protocol,
            errorHandler: () => {
              throw stop;
            },
          }),
          (e) => e === stop,
        );
      });
    } finally {
      await fsp.rm(local, { recursive: true, force: true });
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
}

test("scp() legacy: a download that fails here says so (reason local), not that the remote failed", async () => {
  const local = await tempDir();
  const root = await tempDir();
  await fsp.mkdir(join(root, "d"));
  await fsp.writeFile(join(root, "d/a"), "alpha\n");
  await fsp.writeFile(join(root, "d/b"), "beta\n");
  // A directory where the file `a` would go: the local write fails, the remote's part is fine.
  await fsp.mkdir(join(local, "d/a"), { recursive: true });
  try {
    await withServer({ scp: { root } }, async (conn) => {
      const e = await scp([[conn, "/d"]], local, { protocol: "scp", recurse: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(e instanceof SCPError, String(e));
      assert.equal(e.reason, "local", e.message);
      assert.match(e.message, /^\/.*\/d\/a: /);
      assert.doesNotMatch(e.message, /[Rr]emote/);
      // The rest was copied, as OpenSSH's scp goes on after a file it cannot write.
      assert.equal(await fsp.readFile(join(local, "d/b"), "utf8"), "beta\n");
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
    await fsp.rm(root, { recursive: true, force: true });
  }
});
test("scp() legacy: a glob source, remote to remote on one server, and the jail", async () => {
  const local = await tempDir();
  const root = await tempDir();
  await makeTree(root);
  await withServer({ scp: { root } }, async (conn) => {
    await fsp.writeFile(join(root, "tree/b.txt"), "beta\n");
    await fsp.mkdir(join(local, "g"));
    await scp([conn, "/tree/*.txt"], join(local, "g"), { protocol: "scp" });
    assert.deepEqual((await fsp.readdir(join(local, "g"))).sort(), ["a.txt", "b.txt"]);

    await scp([conn, "/tree"], [conn, "/copy"], { protocol: "scp", recurse: true });
    await sameTree(join(root, "tree"), join(root, "copy"));

    // ".." never leaves the root; a symlink out of it is refused.
    await scp([conn, "/../../../tree/a.txt"], join(local, "j.txt"), { protocol: "scp" });
    assert.equal(await fsp.readFile(join(local, "j.txt"), "utf8"), "alpha\n");
    await fsp.symlink("/etc", join(root, "etc"));
    const e = await scp([conn, "/etc/hostname"], join(local, "h"), { protocol: "scp" }).then(
      () => undefined,
      (x) => x,
    );
    assert.ok(e instanceof SCPError, String(e));
    assert.match(e.message, /outside/);
  });
  await fsp.rm(local, { recursive: true });
  await fsp.rm(root, { recursive: true });
});

test("listen({ scp: { readOnly } }) refuses uploads and serves downloads", async () => {
  const root = await tempDir();
  await fsp.writeFile(join(root, "r.txt"), "ro\n");
  await withServer({ scp: { root, readOnly: true } }, async (conn) => {
    const { readable } = await conn.scpRecv("/r.txt");
    assert.equal(await new Response(readable).text(), "ro\n");
    await assert.rejects(conn.scpSend("/w.txt", { size: 1 }), (e) => {
      assert.ok(e instanceof SCPError);
      assert.match(e.message, /Read-only/);
      return true;
    });
    await assert.rejects(fsp.stat(join(root, "w.txt")));
    // Non-scp commands have nowhere to go.
    const r = await conn.run("ls");
    assert.equal(r.exitStatus, 1);
  });
  await fsp.rm(root, { recursive: true });
});

test("conn.scpSend() takes exactly the announced size; scpRecv() reports stat and bytes", async () => {
  const root = await tempDir();
  await withServer({ scp: { root } }, async (conn) => {
    const body = pattern(300_000, 7);
    const w = await conn.scpSend("/f.bin", {
      size: body.length,
      mode: 0o600,
      mtime: 1_234_567_890,
      atime: 1_234_567_890,
    });
    const writer = w.getWriter();
    await writer.write(body.subarray(0, 1000));
    await writer.write(body.subarray(1000));
    await writer.close();
    const st = await fsp.stat(join(root, "f.bin"));
    assert.equal(st.size, body.length);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(Math.floor(st.mtimeMs / 1000), 1_234_567_890);

    const { stat, readable } = await conn.scpRecv("/f.bin");
    assert.deepEqual(stat, {
      mode: 0o600,
      size: body.length,
      mtime: 1_234_567_890,
      atime: 1_234_567_890,
    });
    assert.deepEqual(new Uint8Array(await new Response(readable).arrayBuffer()), body);

    // Too many bytes: refused at the write that overflows.
    const w2 = await conn.scpSend("/g.bin", { size: 3 });
    const wr2 = w2.getWriter();
    await assert.rejects(wr2.write(enc.encode("four")), SCPError);
    // Too few: closing is an error and no complete-looking file remains.
    const w3 = await conn.scpSend("/h.bin", { size: 10 });
    const wr3 = w3.getWriter();
    await wr3.write(enc.encode("12345"));
    await assert.rejects(wr3.close(), SCPError);
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(fsp.stat(join(root, "h.bin")));

    await assert.rejects(conn.scpRecv("/missing"), (e) => {
      assert.ok(e instanceof SCPError && e.reason === "remote", String(e));
      return true;
    });
    await fsp.mkdir(join(root, "d"));
    await assert.rejects(conn.scpRecv("/d"), SCPError);
  });
  assert.equal(dec.decode(enc.encode("x")), "x");
  await fsp.rm(root, { recursive: true });
});

test("conn.scpSend() stops taking data once the connection is gone", async () => {
  const root = await tempDir();
  await withServer({ scp: { root } }, async (conn) => {
    const size = 200 * 1024 * 1024;
    const w = await conn.scpSend("/big.bin", { size });
    const chunk = new Uint8Array(64 * 1024);
    let read = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        read += chunk.length;
        if (read === 2 * 1024 * 1024) conn.abort();
        c.enqueue(chunk.slice());
        if (read >= size) c.close();
      },
    });
    await assert.rejects(source.pipeTo(w));
    // Before, every later write resolved and the whole source was read for nothing.
    assert.ok(read < 16 * 1024 * 1024, `${read} bytes read after the connection went`);
  });
  await fsp.rm(root, { recursive: true });
});

test("scp() auto falls back to legacy SCP when the sftp subsystem is refused", async () => {
  const root = await tempDir();
  const local = await tempDir();
  await fsp.writeFile(join(local, "a"), "A");
  await withServer({ scp: { root } }, async (conn) => {
    await assert.rejects(scp(join(local, "a"), [conn, "/a"], { protocol: "sftp" }));
    await scp(join(local, "a"), [conn, "/a"]);
    assert.equal(await fsp.readFile(join(root, "a"), "utf8"), "A");
  });
  await fsp.rm(root, { recursive: true });
  await fsp.rm(local, { recursive: true });
});

test("scp() connects for user@host:path strings and closes what it opened", async () => {
  const root = await tempDir();
  const local = await tempDir();
  await fsp.writeFile(join(root, "s.txt"), "str");
  await withServer({ scp: { root }, sftp: { root } }, async (_conn, port) => {
    for (const protocol of ["scp", "sftp"] as const) {
      await scp(`alice@127.0.0.1:/s.txt`, join(local, `s-${protocol}`), {
        protocol,
        connect: { port, password: "pw", knownHosts: null, clientKeys: [] },
      });
      assert.equal(await fsp.readFile(join(local, `s-${protocol}`), "utf8"), "str");
    }
  });
  await fsp.rm(root, { recursive: true });
  await fsp.rm(local, { recursive: true });
});

for (const protocol of ["scp", "sftp"] as const) {
  test(`scp() ${protocol}: an AbortSignal stops a download and leaves no complete-looking file`, async () => {
    const root = await tempDir();
    const local = await tempDir();
    await fsp.writeFile(join(root, "big.bin"), pattern(8_000_000, 3));
    await withServer({ scp: { root }, sftp: { root } }, async (conn) => {
      const ac = new AbortController();
      const e = await scp([conn, "/big.bin"], join(local, "big.bin"), {
        protocol,
        signal: ac.signal,
        onProgress: (d) => {
          if (d > 0) ac.abort(new Error("stop here"));
        },
      }).then(() => undefined, (x) => x);
      assert.ok(e instanceof Error);
      assert.equal(e.message, "stop here");
      const st = await fsp.stat(join(local, "big.bin")).catch(() => undefined);
      assert.ok(st === undefined || st.size < 8_000_000, `size ${st?.size}`);
      // The connection is still usable.
      await scp([conn, "/big.bin"], join(local, "again.bin"), { protocol });
      assert.equal((await fsp.stat(join(local, "again.bin"))).size, 8_000_000);
      // An aborted upload: stopped at once, and no complete-looking file on the server.
      const up = new AbortController();
      const t0 = Date.now();
      const u = await scp(join(local, "again.bin"), [conn, "/up.bin"], {
        protocol,
        signal: up.signal,
        onProgress: (d) => {
          if (d > 0) up.abort(new Error("stop upload"));
        },
      }).then(() => undefined, (x) => x);
      assert.equal((u as Error)?.message, "stop upload");
      assert.ok(Date.now() - t0 < 5000);
      await new Promise((r) => setTimeout(r, 200));
      const rs = await fsp.stat(join(root, "up.bin")).catch(() => undefined);
      assert.ok(rs === undefined || rs.size < 8_000_000, `size ${rs?.size}`);
    });
    await fsp.rm(root, { recursive: true });
    await fsp.rm(local, { recursive: true });
  });
}

for (const protocol of ["scp", "sftp"] as const) {
  test(`scp() ${protocol}: remote to remote across two connections, through us`, async () => {
    const a = await tempDir();
    const b = await tempDir();
    await makeTree(a);
    await using server = await listen({
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      validatePassword: (u, p) => p === "pw" && (u === "a" || u === "b"),
      scp: (c) => ({ root: c.username === "a" ? a : b }),
      sftp: (c) => ({ root: c.username === "a" ? a : b }),
    });
    const login = (username: string) =>
      connect("127.0.0.1", {
        port: server.address.port,
        username,
        password: "pw",
        knownHosts: null,
        clientKeys: [],
      });
    await using ca = await login("a");
    await using cb = await login("b");
    await scp([ca, "/tree"], [cb, "/copied"], { protocol, recurse: true, preserve: true });
    await sameTree(join(a, "tree"), join(b, "copied"));
    const st = await fsp.stat(join(b, "copied/a.txt"));
    assert.equal(st.mode & 0o777, 0o640);
    assert.equal(Math.floor(st.mtimeMs / 1000), 1_500_000_000);
    await fsp.rm(a, { recursive: true });
    await fsp.rm(b, { recursive: true });
  });
}

test("listen({ scp }) legacy: a destination 'f/' where f is a file is refused and f is left as it was", async () => {
  const local = await tempDir();
  const root = await tempDir();
  await fsp.writeFile(join(local, "one.txt"), "new\n");
  await fsp.writeFile(join(root, "f"), "precious\n");
  try {
    await withServer({ scp: { root } }, async (conn) => {
      const e = await scp(join(local, "one.txt"), [conn, "/f/"], { protocol: "scp" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(e instanceof SCPError, String(e));
      assert.equal(await fsp.readFile(join(root, "f"), "utf8"), "precious\n");
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
    await fsp.rm(root, { recursive: true, force: true });
  }
});
