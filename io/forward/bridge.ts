/**
 * Joins a local `node:net` socket (TCP or UNIX) and an SSH channel: bytes flow
 * both ways with backpressure on each side, half-closes pass through (socket
 * end ⇄ channel EOF), and either side going away takes the other down.
 *
 * @module
 */

import type * as net from "node:net";
import type { ChannelIO } from "../engine/channel.ts";
import { writeReleasing } from "../runtime/node_socket.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import { BRIDGE_READ_HIGH_WATER } from "../limits.ts";

/**
 * Resolves once `sock`'s write buffer drained (after a `write()` that returned false), or
 * it closed: a writer waits for room rather than queueing without bound.
 */
export function drainedOrClosed(sock: net.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    const go = () => {
      sock.off("drain", go);
      sock.off("close", go);
      resolve();
    };
    sock.on("drain", go);
    sock.on("close", go);
  });
}

/**
 * Bridges `sock` and `ch` until both are closed. `initial` is sent on the
 * channel first (bytes already read from the socket, e.g. after a SOCKS
 * request). The socket must allow half-open connections (`allowHalfOpen`).
 *
 * @example Forward an accepted connection
 * ```ts ignore
 * const ch = await conn.openChannel("direct-tcpip", encodeTcpipOpen("db", 5432, addr, port));
 * await bridgeSocket(sock, ch);
 * ```
 */
export function bridgeSocket(
  sock: net.Socket,
  ch: ChannelIO,
  initial?: Uint8Array,
): Promise<void> {
  let queued = 0;
  let paused = false;
  let localEnded = false;
  let remoteEnded = false;
  let failed = false;
  const closeChannel = () => {
    void ch.flushed().then(() => ch.close());
  };
  const fail = () => {
    if (failed) return;
    failed = true;
    sock.destroy();
    ch.close();
  };
  const bothEnded = () => {
    if (localEnded && remoteEnded) closeChannel();
  };
  const toChannel = (b: Uint8Array) => {
    queued += b.length;
    ch.write(b).then(() => {
      queued -= b.length;
      if (paused && queued < BRIDGE_READ_HIGH_WATER / 2) {
        paused = false;
        sock.resume();
      }
    }, fail);
    if (!paused && queued >= BRIDGE_READ_HIGH_WATER) {
      paused = true;
      sock.pause();
    }
  };
  if (initial?.length) toChannel(initial);
  sock.on("data", toChannel);
  // A socket paused before the bridge (e.g. after a SOCKS handshake) starts flowing now.
  if (!paused) sock.resume();
  const onEnd = () => {
    if (localEnded) return;
    localEnded = true;
    ch.sendEof();
    bothEnded();
  };
  sock.on("end", onEnd);
  // The socket may have ended before the bridge existed (a SOCKS client that sent
  // its request, its data and its FIN in one go): that 'end' is not repeated.
  if (sock.readableEnded) onEnd();
  sock.on("error", fail);
  const socketClosed = new Promise<void>((resolve) => {
    sock.on("close", () => {
      closeChannel();
      resolve();
    });
  });

  const fromChannel = (async () => {
    const reader = ch.readable(0).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // A socket gone already says neither drain nor close again.
        if (sock.destroyed) break;
        // The chunk is ours alone: freed once written (not at the next GC).
        if (!writeReleasing(sock, value)) await drainedOrClosed(sock);
        if (sock.destroyed) break;
      }
      remoteEnded = true;
      if (!sock.destroyed) sock.end();
      bothEnded();
    } catch {
      fail(); // the connection died under the channel
    }
  })();

  // A channel closed by the peer leaves nothing to forward: once what it sent is
  // written out, finish the socket.
  void Promise.all([ch.closedPromise, fromChannel]).then(() => {
    if (!sock.destroyed) sock.end(() => sock.destroy());
  });
  dropWithConnection(ch, fail);
  return Promise.all([socketClosed, fromChannel, ch.closedPromise]).then(() => {});
}

/**
 * Like {@link bridgeSocket}, for a {@link ByteSocket}: what the server bridges
 * its direct-tcpip / direct-streamlocal channels and remote-forward listeners
 * with, and the client where `node:net` falls short (Deno's `node:net` client
 * sockets close both ways on `end()`, so a half-close from the SSH peer would
 * cut off the local side's answer; `Deno.connect` half-closes properly).
 *
 * @example
 * ```ts ignore
 * await bridgeByteSocket(await openTcpSocket("127.0.0.1", 8080), channel);
 * ```
 */
export function bridgeByteSocket(sock: ByteSocket, ch: ChannelIO): Promise<void> {
  let queued = 0;
  let paused = false;
  let localEnded = false;
  let remoteEnded = false;
  let failed = false;
  let gone = false;
  let sockClosed!: () => void;
  const socketGone = new Promise<void>((r) => (sockClosed = r));
  let drained: (() => void) | undefined;
  const closeChannel = () => void ch.flushed().then(() => ch.close());
  const fail = () => {
    if (failed) return;
    failed = true;
    sock.destroy();
    ch.close();
  };
  sock.setHandlers({
    data: (chunk) => {
      // Copied: adapters may reuse their buffer after the call.
      const b = chunk.slice();
      queued += b.length;
      ch.write(b).then(() => {
        queued -= b.length;
        if (paused && queued < BRIDGE_READ_HIGH_WATER / 2) {
          paused = false;
          sock.resume();
        }
      }, fail);
      if (!paused && queued >= BRIDGE_READ_HIGH_WATER) {
        paused = true;
        sock.pause();
      }
    },
    end: () => {
      localEnded = true;
      ch.sendEof();
      if (remoteEnded) closeChannel();
    },
    error: () => {},
    drain: () => {
      const d = drained;
      drained = undefined;
      d?.();
    },
    close: () => {
      gone = true;
      sockClosed();
      const d = drained;
      drained = undefined;
      d?.();
      closeChannel();
    },
  });
  const fromChannel = (async () => {
    const reader = ch.readable(0).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        // A closed socket takes no more and says no drain again: waiting for one would hold
        // the bridge (and whoever awaits it) for as long as the connection lasts.
        if (done || gone) break;
        if (!sock.write(value)) await new Promise<void>((r) => (drained = r));
      }
      remoteEnded = true;
      if (!gone) sock.end();
      if (localEnded) closeChannel();
    } catch {
      fail();
    }
  })();
  // A channel that closed leaves nothing to forward: once what it sent is written out, the
  // socket goes, even if its peer never closes its side (the descriptor would stay open).
  void Promise.all([ch.closedPromise, fromChannel]).then(() =>
    sock.closeAfterFlush ? sock.closeAfterFlush() : sock.end()
  );
  dropWithConnection(ch, fail);
  return Promise.all([socketGone, fromChannel, ch.closedPromise]).then(() => {});
}

/**
 * The connection died under the channel (it was not closed): the socket goes at once. Its
 * end after a flush would wait for ever on a peer that reads nothing more, holding the
 * descriptor and what it buffered past the connection's end (ssh and sshd end every
 * forwarded socket with the connection).
 */
function dropWithConnection(ch: ChannelIO, drop: () => void): void {
  void ch.closedPromise.then(() => {
    if (ch.abortReason !== undefined) drop();
  });
}
