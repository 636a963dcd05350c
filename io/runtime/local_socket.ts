/**
 * Local sockets through `node:net` (which Deno, Node and Bun all provide): TCP
 * or UNIX socket connections for forwarding, as `node:net` sockets or as
 * {@link ByteSocket}s, and listening on a UNIX socket only its user may reach.
 *
 * @module
 */

import { lstatSync, unlinkSync } from "node:fs";
import { chmod, link, lstat, mkdtemp, rm, rmdir, unlink } from "node:fs/promises";
import * as net from "node:net";
import { dirname, join, sep } from "node:path";
import process from "node:process";
import { toHex } from "../../core/wire.ts";
import { prepareForDescriptorExhaustion } from "./env.ts";
import { socketFromNodeSocket } from "./node_socket.ts";
import type { ByteSocket } from "./socket.ts";

/** Where a local listener listens: TCP host and port, or a UNIX socket path. */
export type ListenAddress = { readonly host: string; readonly port: number } | {
  readonly path: string;
};

/**
 * Connects to a TCP host and port or a UNIX socket path with `node:net`
 * (half-open allowed, TCP_NODELAY set). Rejects on failure.
 *
 * @example
 * ```ts
 * import { LocalListener } from "../forward/listener.ts";
 * import { connectLocal } from "./local_socket.ts";
 * await using l = await LocalListener.listen({ host: "127.0.0.1", port: 0 }, (s) => s.end());
 * const sock = await connectLocal({ host: "127.0.0.1", port: l.port });
 * sock.resume();
 * await new Promise((r) => sock.once("end", r)); // the listener ended its side
 * sock.destroy();
 * ```
 */
export function connectLocal(address: ListenAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = "path" in address
      ? net.connect({ path: address.path, allowHalfOpen: true })
      : net.connect({ host: address.host, port: address.port, allowHalfOpen: true });
    sock.once("error", reject);
    sock.once("connect", () => {
      sock.off("error", reject);
      // Until whoever takes it listens (and after): an error must not go unhandled.
      sock.on("error", () => sock.destroy());
      if (!("path" in address)) sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

/**
 * Binds `server` to `where`; rejects (the server not listening) when it cannot.
 *
 * @example
 * ```ts
 * import * as net from "node:net";
 * import { listenOn } from "./local_socket.ts";
 * const server = net.createServer((s) => s.end());
 * await listenOn(server, { host: "127.0.0.1", port: 0 });
 * server.close();
 * ```
 */
export function listenOn(server: net.Server, where: net.ListenOptions): Promise<void> {
  prepareForDescriptorExhaustion();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => {
      server.off("error", reject);
      // A failed accept is an "error" event from now on: unheard, it would end the process,
      // while the server itself goes on listening.
      server.on("error", () => {});
      resolve();
    });
  });
}

/**
 * Listens on the UNIX socket `path` (half-open connections allowed, and paused
 * with `pauseOnConnect`) that only this user may connect to (mode 0600, ssh's
 * StreamLocalBindMask 0177), whatever the umask and however the runtime orders
 * accepts: the socket is bound in a new directory beside `path` that only this
 * user may enter (mode 0700), made 0600 there, and only then linked at `path`
 * (which, like a bind, fails rather than replace or follow anything already
 * there: an `EADDRINUSE` error); its temporary name and directory are removed
 * before this resolves. So `path` never exists with looser permissions, and no
 * one else can have connected before. Closing the server removes `path` (while
 * it is still this socket, not a file someone has made there since). Rejects,
 * with nothing left listening and nothing left on disk, when any step fails.
 *
 * The temporary name, `.XXXXXX/` and 8 characters in `path`'s directory, must
 * fit the system's limit on socket paths too (107 bytes on Linux, 103
 * elsewhere): a `path` that fits but whose temporary name does not is refused
 * (`ENAMETOOLONG`).
 *
 * @example
 * ```ts
 * import { mkdtemp, rm, stat } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { listenPrivateUnix } from "./local_socket.ts";
 * const dir = await mkdtemp(join(tmpdir(), "sock-"));
 * const server = await listenPrivateUnix(join(dir, "s.sock"), {}, (s) => s.end());
 * console.log(((await stat(join(dir, "s.sock"))).mode & 0o777).toString(8)); // "600"
 * server.close();
 * await rm(dir, { recursive: true, force: true });
 * ```
 */
export async function listenPrivateUnix(
  path: string,
  options: { readonly pauseOnConnect?: boolean },
  onConnection: (sock: net.Socket) => void,
): Promise<net.Server> {
  const max = process.platform === "linux" ? 107 : 103;
  const tempLength = byteLength(join(dirname(path), ".XXXXXX", "00000000"));
  if (tempLength > max && byteLength(path) <= max) {
    throw Object.assign(
      new Error(
        `listen ENAMETOOLONG: ${path}: too long to bind privately (its temporary name beside it, ${tempLength} bytes, exceeds ${max})`,
      ),
      { code: "ENAMETOOLONG", path },
    );
  }
  // Inside the socket's own directory: join() would drop a trailing "." and make the
  // directory beside it, in the parent (outside what was approved, on another mount).
  const dir = await mkdtemp(`${dirname(path)}${sep}.`);
  // The runtime unlinks the name it bound when the server closes, after the directory is gone:
  // a random name, so that a symlink someone may put where the directory was cannot point that
  // unlink at a file of ours.
  const temp = join(dir, randomHex(4));
  const server = net.createServer(
    { allowHalfOpen: true, pauseOnConnect: options.pauseOnConnect ?? false },
    onConnection,
  );
  let linked: { dev: number; ino: number } | undefined;
  try {
    await listenOn(server, { path: temp });
    await chmod(temp, 0o600);
    const st = await lstat(temp);
    if (!st.isSocket() || (st.mode & 0o777) !== 0o600) {
      throw new Error(`listen: ${temp} is not the private socket just bound`);
    }
    try {
      await link(temp, path);
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
      throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${path}`), {
        code: "EADDRINUSE",
        path,
        cause: e,
      });
    }
    linked = { dev: st.dev, ino: st.ino };
    await unlink(temp);
    await rmdir(dir);
  } catch (e) {
    server.close();
    if (linked) removeIfSame(path, linked);
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  // The runtime removes the name it bound (gone already); this removes `path`, as it would.
  const ours = linked;
  const close = server.close;
  let removed = false;
  server.close = function (this: net.Server, callback?: (err?: Error) => void) {
    if (!removed) {
      removed = true;
      removeIfSame(path, ours);
    }
    return close.call(this, callback);
  };
  return server;
}

/** Unlinks `path` when it is still the file `id` (not one made there since). */
function removeIfSame(path: string, id: { dev: number; ino: number }): void {
  try {
    const st = lstatSync(path);
    if (st.dev === id.dev && st.ino === id.ino) unlinkSync(path);
  } catch {
    // gone already
  }
}

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return toHex(b);
}

/**
 * Connects to a UNIX socket (for a direct-streamlocal channel, an agent). With
 * `allowHalfOpen`, our side stays open after the peer ends its own (a forwarded
 * connection still carrying data the other way).
 */
export function connectUnix(path: string, allowHalfOpen = false): Promise<ByteSocket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path, allowHalfOpen });
    sock.once("connect", () => {
      sock.removeAllListeners("error");
      resolve(socketFromNodeSocket(sock));
    });
    sock.once("error", reject);
  });
}
