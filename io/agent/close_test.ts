/**
 * What an {@link AgentClient} leaves open: close() tears its stream down at once
 * (ssh closes the descriptor), so an agent that keeps its side open cannot keep
 * the socket, and with it the process, alive.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { AgentClient } from "./client.ts";

/** A socket to an agent that answers every request with an empty list and never closes. */
function halfOpenAgent(): { socket: ByteSocket; destroyed: () => boolean; ended: () => boolean } {
  let handlers: SocketHandlers | undefined;
  let destroyed = false, ended = false;
  const socket: ByteSocket = {
    write: () => {
      queueMicrotask(() => handlers?.data(Uint8Array.of(0, 0, 0, 5, 12, 0, 0, 0, 0)));
      return true;
    },
    end: () => void (ended = true), // the agent reads our end and keeps its side open
    destroy: () => void (destroyed = true),
    pause: () => {},
    resume: () => {},
    setHandlers: (h) => void (handlers = h),
  };
  return { socket, destroyed: () => destroyed, ended: () => ended };
}

test("AgentClient.close() destroys its socket: an agent that never closes its side cannot hold it open", async () => {
  const agent = halfOpenAgent();
  const client = new AgentClient(agent.socket);
  assert.deepEqual(await client.listIdentities(), []);
  client.close();
  assert.equal(client.closed, true);
  assert.equal(agent.destroyed(), true, "close() must tear the socket down, not only end it");
  await assert.rejects(client.listIdentities(), { name: "AgentError", kind: "closed" });
});

test("AgentClient's async dispose destroys its socket too", async () => {
  const agent = halfOpenAgent();
  {
    await using client = new AgentClient(agent.socket);
    await client.listIdentities();
  }
  assert.equal(agent.destroyed(), true);
});
