/**
 * listenPrivateUnix(): the socket is private before it appears at its path, whatever the
 * umask and however the runtime orders accepts, so no one else can ever connect; a path
 * already taken is refused untouched; nothing temporary is left on disk, on success or failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import type * as net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { connectLocal, listenPrivateUnix } from "./local_socket.ts";

/** Runs `f` with umask 0 (a service started so, or with 002): sockets bound are 0777. */
async function withUmask0<T>(f: () => Promise<T>): Promise<T> {
  const old = process.umask(0);
  try {
    return await f();
  } finally {
    process.umask(old);
  }
}

const mode = (path: string) => (lstatSync(path).mode & 0o777).toString(8);

test(
  "listenPrivateUnix() under umask 0: the path is a 0600 socket with one link, nothing else left beside it",
  inTempDir("sshts-privunix-", async (dir) => {
    const path = join(dir, "s.sock");
    const server = await withUmask0(() => listenPrivateUnix(path, {}, (s) => s.end("hi")));
    try {
      const st = lstatSync(path);
      assert.ok(st.isSocket());
      assert.equal(mode(path), "600");
      assert.equal(st.nlink, 1, "the temporary name is still linked");
      assert.deepEqual(readdirSync(dir), ["s.sock"]);
      const sock = await connectLocal({ path });
      let got = "";
      sock.on("data", (d) => got += d);
      await new Promise((r) => sock.once("end", r));
      sock.destroy();
      assert.equal(got, "hi");
    } finally {
      server.close();
    }
    assert.equal(existsSync(path), false, "closing left the socket");
    assert.deepEqual(readdirSync(dir), []);
  }),
);

test(
  "listenPrivateUnix() refuses a path already taken (file, dangling or directory symlink, socket) with EADDRINUSE, leaving it alone",
  inTempDir("sshts-privunix-", async (dir) => {
    const target = join(dir, "target");
    mkdirSync(target);
    writeFileSync(join(dir, "file"), "mine\n");
    symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
    symlinkSync(target, join(dir, "dirlink"));
    const live = await listenPrivateUnix(join(dir, "live.sock"), {}, (s) => s.end());
    try {
      for (const name of ["file", "dangling", "dirlink", "live.sock"]) {
        const before = lstatSync(join(dir, name));
        await assert.rejects(
          listenPrivateUnix(join(dir, name), {}, (s) => s.end()),
          (e: NodeJS.ErrnoException) => e.code === "EADDRINUSE",
          name,
        );
        const after = lstatSync(join(dir, name));
        assert.equal(after.ino, before.ino, `${name} was replaced`);
        assert.equal(after.mode, before.mode, `${name}'s mode changed`);
      }
      assert.equal(readFileSync(join(dir, "file"), "utf8"), "mine\n");
      assert.deepEqual(readdirSync(target), [], "something was made through the symlink");
      assert.deepEqual(readdirSync(dir).sort(), [
        "dangling",
        "dirlink",
        "file",
        "live.sock",
        "target",
      ]);
    } finally {
      live.close();
    }
  }),
);

test(
  "listenPrivateUnix() rejects, leaving nothing, when the directory is missing or the path too long",
  inTempDir("sshts-privunix-", async (dir) => {
    await assert.rejects(listenPrivateUnix(join(dir, "no", "s.sock"), {}, (s) => s.end()));
    // Fits the limit itself, but not with the temporary name beside it.
    const limit = process.platform === "linux" ? 107 : 103;
    const sub = join(dir, "d".repeat(Math.max(1, limit - dir.length - 12)));
    mkdirSync(sub);
    const path = join(sub, "s");
    assert.ok(path.length <= limit);
    await assert.rejects(
      listenPrivateUnix(path, {}, (s) => s.end()),
      (e: NodeJS.ErrnoException) => e.code === "ENAMETOOLONG",
    );
    assert.deepEqual(readdirSync(sub), []);
    assert.deepEqual(readdirSync(dir), [sub.slice(dir.length + 1)]);
  }),
);

test(
  "listenPrivateUnix(): closing leaves alone a file made at the path since",
  inTempDir("sshts-privunix-", async (dir) => {
    const path = join(dir, "s.sock");
    const server = await listenPrivateUnix(path, {}, (s) => s.end());
    rmSync(path);
    writeFileSync(path, "someone else's\n");
    server.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(readFileSync(path, "utf8"), "someone else's\n");
  }),
);

// Another user (uid 65534, through setpriv) tries to connect to each path in a tight loop
// from before it is bound until it is refused (EACCES: the socket is there, mode 0600).
// Before the fix a connection in the bind-to-chmod window was served on Deno and Bun (and
// accepted then destroyed on Node); now the path only appears once private, so every
// attempt must end refused — whatever the timing, so this cannot fail by luck.
const CONNECTOR = String.raw`
import socket, sys, time
for i, path in enumerate(sys.argv[1:]):
    print("polling", i, flush=True)
    deadline = time.time() + 10
    result = "timeout"
    while time.time() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            continue
        except PermissionError:
            s.close()
            result = "refused"
            break
        s.settimeout(1)
        try:
            data = s.recv(100)
        except Exception:
            data = b""
        s.close()
        result = "connected" + (" served" if data else "")
        break
    print(result, i, flush=True)
`;
import { inTempDir } from "./_temp_dir_test_util.ts";

const AS_NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"];

function otherUserSkipReason(): string | false {
  if (process.platform !== "linux") return "needs Linux (setpriv)";
  if (process.getuid?.() !== 0) return "needs root, to connect as another user (uid 65534)";
  const r = spawnSync("setpriv", [...AS_NOBODY, "-c", ""]);
  return r.status === 0 ? false : "needs setpriv and /usr/bin/python3 runnable as uid 65534";
}

test(
  "listenPrivateUnix() under umask 0: another user's connection racing the bind is never made",
  { skip: otherUserSkipReason() },
  inTempDir("sshts-privunix-", async (dir) => {
    chmodSync(dir, 0o755); // uid 65534 may reach the sockets, which alone must keep it out
    const N = 25;
    const paths = Array.from({ length: N }, (_, i) => join(dir, `s${i}.sock`));
    const child = spawn("setpriv", [...AS_NOBODY, "-c", CONNECTOR, ...paths], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((r) => child.once("exit", r));
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    let buffer = "";
    child.stdout.on("data", (d) => {
      buffer += d;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    const line = async (want: (l: string) => boolean) => {
      while (!lines.some(want)) {
        if (child.exitCode !== null) throw new Error(`the connector exited: ${lines.join("; ")}`);
        await new Promise<void>((r) => waiters.push(r));
      }
      return lines.find(want)!;
    };
    child.once("exit", () => {
      for (const w of waiters.splice(0)) w();
    });
    let served = 0;
    const results: string[] = [];
    try {
      await withUmask0(async () => {
        for (const [i, path] of paths.entries()) {
          await line((l) => l === `polling ${i}`);
          await new Promise((r) => setTimeout(r, 5)); // into its connect loop
          const p = listenPrivateUnix(path, {}, (s) => {
            served++;
            s.end("secret\n");
          });
          // Every other time, the main thread is busy right after the bind (as under load).
          if (i % 2) {
            setImmediate(() => {
              const t = Date.now();
              while (Date.now() - t < 30);
            });
          }
          const server: net.Server = await p;
          try {
            results.push(await line((l) => l.endsWith(` ${i}`) && !l.startsWith("polling")));
          } finally {
            server.close();
          }
        }
      });
    } finally {
      child.kill();
      await exited;
    }
    assert.equal(served, 0, "connections from uid 65534 were served");
    assert.deepEqual(results, paths.map((_, i) => `refused ${i}`));
  }),
);

// A socket directly in a mount point: its temporary directory, made in the mount's parent
// (join(dir, ".") drops the "."), was on another file system and the link failed (EXDEV).
const shmIsMount = existsSync("/dev/shm") && statSync("/dev/shm").dev !== statSync("/dev").dev;
test(
  "listenPrivateUnix() binds in the socket's own directory, a mount point's too",
  { skip: !shmIsMount && "needs /dev/shm mounted apart from /dev" },
  async () => {
    const path = `/dev/shm/sshts-privunix-${process.pid}-${Date.now()}.sock`;
    const server = await listenPrivateUnix(path, {}, (s) => s.end("ok"));
    try {
      assert.ok(lstatSync(path).isSocket());
    } finally {
      server.close();
    }
  },
);
