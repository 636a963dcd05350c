/**
 * The client's remote-forward registry against a server that says odd things: a port 0
 * request answered with a port above 65535 is refused (as OpenSSH's ssh does), and a
 * forwarded connection whose local destination cannot be reached is refused without telling
 * the server where that destination is (OpenSSH sends strerror() alone).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHWriter } from "../../core/wire.ts";
import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { RemoteForwardError } from "./errors.ts";
import { RemoteForwards } from "./remote.ts";

function registry(replyData: Uint8Array) {
  const rejected: { id: number; reason: number; description: string }[] = [];
  const sent: string[] = [];
  const remote = new RemoteForwards({
    globalRequest: (name) => {
      sent.push(name);
      return Promise.resolve({ success: true, data: replyData });
    },
    acceptChannel: () => ({}) as ChannelIO,
    rejectChannel: (id, reason, description) => void rejected.push({ id, reason, description }),
  });
  return { remote, rejected, sent };
}

test("a port 0 forward the server reports above 65535 is refused", async () => {
  const { remote } = registry(new SSHWriter(4).writeUint32(70000).toBytes());
  await assert.rejects(
    remote.listenTcp("localhost", 0, () => Promise.reject(new Error("unused"))),
    (e) => e instanceof RemoteForwardError && /70000/.test(e.message),
  );
  const ok = registry(new SSHWriter(4).writeUint32(40000).toBytes());
  const l = await ok.remote.listenTcp("localhost", 0, () => Promise.reject(new Error("unused")));
  assert.equal(l.port, 40000);
});

test("a refused forwarded connection does not tell the server its local destination", async () => {
  const { remote, rejected } = registry(new Uint8Array(0));
  const l = await remote.listenTcp("127.0.0.1", 8080, () =>
    Promise.reject(
      Object.assign(new Error("connect ECONNREFUSED 10.9.8.7:5432"), { code: "ECONNREFUSED" }),
    ));
  const l2 = await remote.listenTcp(
    "127.0.0.1",
    8081,
    () => Promise.reject(new Error("getaddrinfo failed for secret-db.internal")),
  );
  assert.ok(
    remote.handleOpen("forwarded-tcpip", encodeTcpipOpen("127.0.0.1", 8080, "1.2.3.4", 1), 7),
  );
  assert.ok(
    remote.handleOpen("forwarded-tcpip", encodeTcpipOpen("127.0.0.1", 8081, "1.2.3.4", 1), 8),
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(rejected, [
    { id: 7, reason: 2, description: "Connect failed: ECONNREFUSED" },
    { id: 8, reason: 2, description: "Connect failed" },
  ]);
  await l.close();
  await l2.close();
});

test("a listener granted as the connection goes (both in one read) closes with it", async () => {
  let gone: Error | undefined;
  const remote: RemoteForwards = new RemoteForwards({
    globalRequest: () => {
      // The reply, then the connection's end, handled before the caller resumes.
      const reply = Promise.resolve({ success: true, data: new Uint8Array(0) });
      void reply.then(() => {
        gone = new Error("connection lost");
        remote.dropAll();
      });
      return reply;
    },
    acceptChannel: () => ({}) as ChannelIO,
    rejectChannel: () => {},
    lost: () => gone,
  });
  const handler = () => Promise.reject(new Error("unused"));
  for (
    const l of [
      await remote.listenTcp("localhost", 8080, handler),
      await remote.listenPath("/x", handler),
    ]
  ) {
    let closed = false;
    void l.closed.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(closed, `${l.path ?? l.port}: closed with the connection`);
  }
});
