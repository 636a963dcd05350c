/**
 * {@link SSHAgent}: an in-process ssh-agent. The keyring logic is the pure
 * `AgentKeyring`; this adds a UNIX socket listener (for OpenSSH's `ssh-add` and
 * `ssh -o IdentityAgent=…`), serving any stream (a forwarded
 * `auth-agent@openssh.com` channel, an in-memory pipe), and real timers for
 * the unlock delay.
 *
 * @module
 */

import { chmod, link, lstat, mkdtemp, rm, unlink } from "node:fs/promises";
import type * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  encodeSessionBind,
  SESSION_BIND_EXTENSION,
  type SessionBind,
} from "../../agent/extensions.ts";
import { AgentKeyring, type AgentKeyringOptions } from "../../agent/keyring.ts";
import { AgentServerConnection } from "../../agent/server.ts";
import { LocalListener } from "../forward/listener.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import type { ByteSocket, WebDuplex } from "../runtime/socket.ts";
import { byteSocketOf } from "../runtime/web_duplex.ts";
import { AgentClient, type AgentClientOptions } from "./client.ts";

/** A listening agent socket. */
export interface AgentListener extends AsyncDisposable {
  /** The socket path. */
  readonly path: string;
  /** Stops listening, closes the connections and removes the socket file. */
  close(): Promise<void>;
}

/** Options of {@link SSHAgent.listen}. */
export interface AgentListenOptions {
  /** File mode of the socket (default 0o600: only this user may connect). */
  readonly mode?: number;
}

/**
 * Serves one agent connection from any keyring until the stream closes. Reading
 * pauses while a request is answered (a confirm prompt, say), so a client
 * cannot queue unbounded input; a frame over 256 KiB closes the connection, as
 * ssh-agent does. With `bind`, the connection is first bound for forwarding to
 * that session (session-bind@openssh.com, as ssh does before it relays a
 * forwarded agent channel), and closed unserved when the binding is refused;
 * without it, the connection is served as a local, unbound client.
 *
 * @example Serve a keyring over an in-memory pipe
 * ```ts ignore
 * void serveAgent(new AgentKeyring(), { readable, writable });
 * ```
 */
export function serveAgent(
  keyring: AgentKeyring,
  stream: ByteSocket | WebDuplex,
  bind?: SessionBind,
): Promise<void> {
  const socket = byteSocketOf(stream);
  const server = new AgentServerConnection(keyring);
  // Nothing the client sends is answered before the forwarding binding is recorded.
  const bound = bind === undefined ? Promise.resolve(true) : keyring.handleRequest(
    {
      type: "extension",
      name: SESSION_BIND_EXTENSION,
      contents: encodeSessionBind({ ...bind, isForwarding: true }),
    },
    server.state,
  ).then((r) => r.type === "success", () => false);
  return new Promise<void>((resolve) => {
    let done = false;
    /** Resolves the wait for the socket's write buffer to drain (or for it to close). */
    let drained: (() => void) | undefined;
    const finish = () => {
      drained?.();
      if (done) return;
      done = true;
      resolve();
    };
    let pending: Promise<unknown> = bound;
    void bound.then((ok) => {
      if (ok) return;
      socket.destroy();
      finish();
    });
    socket.setHandlers({
      data: (chunk) => {
        socket.pause();
        // Copied: the server reads it after this call returns, and adapters may reuse or
        // free the chunk then (SocketHandlers.data).
        const copy = chunk.slice();
        pending = pending.then(async () => {
          if (!(await bound)) throw new Error("Agent connection not bound");
          server.push(copy);
          // One reply at a time, and none while the last is still queued for the socket:
          // five bytes of request can ask for a long identity list, so answering a chunk
          // of requests at once (or reading on while the peer does not read) would let
          // the replies pile up without bound. ssh-agent stops reading likewise.
          for (let out; !done && (out = await server.nextReply()) !== undefined;) {
            if (!socket.write(out) && !done) await new Promise<void>((r) => (drained = r));
          }
          if (!done) socket.resume();
        }).catch(() => {
          socket.destroy();
          finish();
        });
      },
      // A client that half-closes after its last request still gets the answer.
      end: () => void pending.then(() => socket.end()),
      error: () => {},
      drain: () => {
        const d = drained;
        drained = undefined;
        d?.();
      },
      close: finish,
    });
  });
}

/**
 * An {@link AgentClient} for a keyring in this process, over an in-memory pipe.
 *
 * @example
 * ```ts
 * import { AgentKeyring } from "../../agent/keyring.ts";
 * import { generatePrivateKey } from "../../keys/generate.ts";
 * import { connectKeyring } from "./ssh_agent.ts";
 * const keyring = new AgentKeyring();
 * keyring.add(generatePrivateKey("ed25519", { comment: "ci" }));
 * await using client = connectKeyring(keyring);
 * console.log((await client.listIdentities()).map((k) => k.comment)); // ["ci"]
 * ```
 */
export function connectKeyring(
  keyring: AgentKeyring,
  options: AgentClientOptions = {},
): AgentClient {
  const a = new TransformStream<Uint8Array, Uint8Array>();
  const b = new TransformStream<Uint8Array, Uint8Array>();
  void serveAgent(keyring, { readable: a.readable, writable: b.writable });
  return new AgentClient({ readable: b.readable, writable: a.writable }, options);
}

/**
 * An ssh-agent in this process: a keyring (add, remove, lock, constraints
 * enforced, a confirm hook) that OpenSSH's tools and our client can use.
 *
 * @example Let OpenSSH's ssh-add and ssh use keys held in memory
 * ```ts
 * import { generatePrivateKey } from "../../keys/generate.ts";
 * import { SSHAgent } from "./ssh_agent.ts";
 * const agent = new SSHAgent({ confirm: ({ comment }) => comment !== "prod" });
 * agent.add(generatePrivateKey("ed25519", { comment: "deploy" }), { lifetime: 3600 });
 * await using sock = await agent.listen(); // agent.sock in a new 0700 directory
 * // $ SSH_AUTH_SOCK=<sock.path> ssh-add -l
 * ```
 */
export class SSHAgent extends AgentKeyring {
  readonly #listeners = new Set<AgentListener>();

  /** Creates an empty agent. The unlock delay uses real timers unless `delay` is given. */
  constructor(options: AgentKeyringOptions = {}) {
    super({
      delay: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...options,
    });
  }

  /**
   * Serves one agent connection until it ends: a UNIX socket connection, an
   * in-memory pipe, or any duplex. Resolves when the stream closes. The
   * connection is treated as a local, unbound client: destination-restricted
   * keys (`ssh-add -h`) are judged only by the session-bind requests it sends
   * itself. Do not serve a forwarded agent channel with it — the far host could
   * bind the channel to a session of its own and use keys restricted to other
   * hosts; use `connect({ agent, agentForwarding: true })`, or {@link serveForwarded}.
   *
   * @example Serve a local client over an in-memory pipe
   * ```ts ignore
   * void agent.serve({ readable, writable });
   * ```
   */
  serve(stream: ByteSocket | WebDuplex): Promise<void> {
    return serveAgent(this, stream);
  }

  /**
   * Serves a forwarded agent channel (`auth-agent@openssh.com`) as ssh does: first
   * binds it for forwarding to the session it came on (session-bind@openssh.com with
   * `isForwarding`), so destination-restricted keys are used only along the hops they
   * allow. `source` gives the session's binding (`sessionBindSource(conn.engine)`);
   * when it has none yet, or the binding is refused, the channel is closed unserved.
   * `connect({ agent, agentForwarding: true })` does this for you.
   *
   * @example Serve forwarded agent channels yourself
   * ```ts ignore
   * const source = sessionBindSource(conn.engine);
   * conn.onAgentChannel = (c) => void agent.serveForwarded(c, source);
   * ```
   */
  serveForwarded(
    stream: ByteSocket | WebDuplex,
    source: (isForwarding: boolean) => SessionBind | undefined,
  ): Promise<void> {
    const bind = source(true);
    if (!bind) {
      const socket = byteSocketOf(stream);
      socket.destroy();
      return Promise.resolve();
    }
    return serveAgent(this, stream, bind);
  }

  /**
   * An {@link AgentClient} talking to this agent in memory (no socket), as a
   * client on this machine would.
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * const agent = new SSHAgent();
   * await using client = agent.connect();
   * console.log(await client.listIdentities()); // []
   * ```
   */
  connect(options: AgentClientOptions = {}): AgentClient {
    return connectKeyring(this, options);
  }

  /**
   * Listens on a UNIX socket (mode 0600 by default) and serves every connection.
   * Without `path`, the socket is `agent.sock` in a new directory of mode 0700 under
   * the system's temporary directory (as ssh-agent's `/tmp/ssh-XXXXXX/agent.<pid>`),
   * removed on close. With `path`, the socket is bound in a private directory beside
   * it, given its mode there and only then linked to `path`: no one else can connect in
   * between. Rejects when the path is taken.
   *
   * @example
   * ```ts ignore
   * await using l = await agent.listen();
   * // $ SSH_AUTH_SOCK=<l.path> ssh-add -l
   * ```
   */
  async listen(path?: string, options: AgentListenOptions = {}): Promise<AgentListener> {
    const mode = options.mode ?? 0o600;
    // A fresh mkdtemp directory is mode 0700: only we may reach a socket bound in it.
    const dir = await mkdtemp(
      path === undefined ? join(tmpdir(), "sshts-agent-") : join(dirname(path), ".sshts-agent-"),
    );
    const bound = join(dir, "agent.sock");
    let local: LocalListener | undefined;
    let ino: number;
    try {
      local = await LocalListener.listen(
        { path: bound },
        (sock: net.Socket) => void this.serve(socketFromNodeSocket(sock)),
      );
      await chmod(bound, mode);
      if (path !== undefined) {
        await link(bound, path);
        await unlink(bound);
      }
      ino = (await lstat(path ?? bound)).ino;
    } catch (e) {
      await local?.close(true);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    if (path !== undefined) await rm(dir, { recursive: true, force: true });
    const served = local;
    const socketIno = ino;
    let closing: Promise<void> | undefined;
    const listener: AgentListener = {
      path: path ?? bound,
      close: () =>
        closing ??= (async () => {
          this.#listeners.delete(listener);
          await served.close(true);
          if (path === undefined) return void await rm(dir, { recursive: true, force: true });
          // Only our socket: not a file someone else has put at the path since.
          const st = await lstat(path).catch(() => undefined);
          if (st?.isSocket() && st.ino === socketIno) await unlink(path).catch(() => {});
        })(),
      [Symbol.asyncDispose]: () => listener.close(),
    };
    this.#listeners.add(listener);
    return listener;
  }

  /**
   * Stops every listener this agent started (the keys stay).
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * const agent = new SSHAgent();
   * await agent.close(); // every listener stops; the keys stay
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((l) => l.close()));
  }
}
