/**
 * A client that never reads but keeps sending requests the server answers (want-reply
 * global requests) must not grow the server's output without bound: the server stops
 * reading (READ_PAUSE_BYTES past a full socket), so the client's own writes back up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import { connect } from "../client/connect.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen } from "./listen.ts";

test("a client flooding want-reply requests without reading is stopped, not buffered for", async () => {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    validatePassword: () => true,
    authFailureDelay: 0,
  });
  const raw = net.connect(server.address.port, "127.0.0.1");
  await new Promise((r) => raw.once("connect", r));
  await using conn = await connect("flood", {
    sock: socketFromNodeSocket(raw),
    username: "u",
    password: "p",
    knownHosts: null,
    clientKeys: [],
    config: false,
    agent: false,
  });
  raw.pause(); // the client reads no more: every answer stays with the server
  const engine = conn.engine;
  let requests = 0;
  // Each request is ~52 bytes on the wire and its answer ~36: a server that kept reading
  // would take all million (52 MB) while its answers piled up, and the client's socket
  // would never back up.
  while (requests < 1_000_000 && raw.writableLength < 4 << 20) {
    for (let j = 0; j < 2000; j++) engine.sendGlobalRequest("keepalive@openssh.com", true);
    requests += 2000;
    for (const c of engine.takeOutgoing()) raw.write(c);
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.ok(
    raw.writableLength >= 4 << 20,
    `the server read ${requests} requests and kept reading (client backlog ${raw.writableLength} B)`,
  );
  raw.destroy();
});
