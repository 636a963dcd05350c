/**
 * Agent forwarding on the server: after a session's `auth-agent-req@openssh.com`
 * is allowed, the session gets an {@link AgentClient} that talks to the
 * client's agent over `auth-agent@openssh.com` channels, and a UNIX socket (in
 * a private temporary directory) for child processes' `SSH_AUTH_SOCK`. Each
 * connection to the socket opens its own channel, as sshd does. Both go away
 * when the session ends.
 *
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as net from "node:net";
import type { ChannelIO } from "../engine/channel.ts";
import { bridgeSocket } from "../forward/bridge.ts";
import { LocalListener } from "../forward/listener.ts";
import { socketFromChannel } from "../forward/tunnel.ts";
import { AgentClient } from "./client.ts";

/** The channel type that carries a forwarded agent connection. */
export const AGENT_CHANNEL = "auth-agent@openssh.com";

/** What a session with agent forwarding gets. */
export interface SessionAgent {
  /** A client of the forwarded agent (each use of a new client opens a channel). */
  readonly client: AgentClient;
  /** The UNIX socket path to put in `SSH_AUTH_SOCK` for child processes. */
  readonly socketPath: string;
  /** Closes the socket, removes its directory and closes the client. */
  close(): Promise<void>;
}

/** Opens channels to the client (an `SSHServerConnection` does). */
export interface AgentChannelOpener {
  openChannel(channelType: string, data?: Uint8Array): Promise<ChannelIO>;
}

/**
 * Starts agent forwarding for one session: a listener on
 * `<tmpdir>/sshts-agent-XXXXXX/agent.sock` (directory 0700, socket 0600) and an
 * agent client, both closed when `until` settles (the session's end).
 *
 * @example
 * ```ts ignore
 * const agent = await startSessionAgent(conn, channel.closedPromise);
 * env.SSH_AUTH_SOCK = agent.socketPath;
 * console.log(await agent.client.listIdentities());
 * ```
 */
export async function startSessionAgent(
  conn: AgentChannelOpener,
  until: Promise<unknown>,
): Promise<SessionAgent> {
  const dir = await mkdtemp(join(tmpdir(), "sshts-agent-"));
  const socketPath = join(dir, "agent.sock");
  let listener: LocalListener;
  try {
    // LocalListener makes the socket 0600 as soon as it is bound.
    listener = await LocalListener.listen({ path: socketPath }, (sock: net.Socket) => {
      sock.pause();
      conn.openChannel(AGENT_CHANNEL).then(
        (ch) => {
          // Gone while the channel opened (the session ended, the listener closed it):
          // its 'close' has passed, so a bridge would keep the channel open for good.
          if (sock.destroyed) return ch.close();
          void bridgeSocket(sock, ch);
        },
        () => sock.destroy(),
      );
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const agent = reopening(() =>
    new AgentClient(async () => socketFromChannel(await conn.openChannel(AGENT_CHANNEL)))
  );
  const client = agent.client;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      agent.close();
      await listener.close(true);
      await rm(dir, { recursive: true, force: true });
    })();
  void until.then(close, close);
  return { client, socketPath, close };
}

/**
 * An agent client that opens a new channel for the use after one that failed (a reply
 * that timed out, a channel the client refused or closed), as sshd opens one per use: a
 * single client failed for the rest of the session after its first timeout. Its methods
 * act on the live client of the moment; `close()` ends it for good.
 */
function reopening(open: () => AgentClient): { client: AgentClient; close(): void } {
  let current = open();
  let ended = false;
  const close = () => {
    ended = true;
    current.close();
  };
  const client = new Proxy(current, {
    get(_target, prop) {
      if (prop === "close") return close;
      if (prop === Symbol.asyncDispose) return () => Promise.resolve(close());
      if (current.closed && !ended) current = open();
      const v = Reflect.get(current, prop, current);
      return typeof v === "function" ? v.bind(current) : v;
    },
  });
  return { client, close };
}
