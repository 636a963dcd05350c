/**
 * conn.logger, and what SFTP sessions and port forwarding log through it: the connection's
 * `logger`/`logLevel` reach them, with the connection's prefix.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { listen } from "../server/listen.ts";
import { connect } from "./connect.ts";

test("conn.logger, SFTP sessions and local forwards log through the connection's logger", async () => {
  const lines: string[] = [];
  const sink = {
    log: (s: string) => void lines.push(s),
    info: (s: string) => void lines.push(`info ${s}`),
    warn: (s: string) => void lines.push(`warn ${s}`),
    debug: (s: string) => void lines.push(`debug ${s}`),
    error: (s: string) => void lines.push(`error ${s}`),
  };
  await using server = await listen({
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePassword: () => true,
    sftp: { backend: new MemoryBackend() },
    // No connectionRequested: every direct-tcpip channel is refused.
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "pw",
    knownHosts: null,
    agent: false,
    config: false,
    logger: sink,
    logLevel: "debug",
  });
  const prefix = `[sshts client 127.0.0.1:${server.address.port}]`;
  conn.logger.info("hello from the application");
  assert.ok(lines.includes(`info ${prefix} hello from the application`));

  await using _sftp = await conn.startSftp();
  assert.ok(
    lines.some((l) => l.startsWith(`debug ${prefix} sftp: session started`)),
    lines.join("\n"),
  );

  await using fwd = await conn.forwardLocalPort({ listenPort: 0, destHost: "db", destPort: 5432 });
  assert.ok(lines.some((l) => l.includes(`local forward listening on 127.0.0.1:${fwd.port}`)));
  const sock = net.connect(fwd.port, "127.0.0.1");
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.on("close", () => r()));
  assert.ok(
    lines.some((l) =>
      l.startsWith(`warn ${prefix} local forward 127.0.0.1:${fwd.port}: the server refused`)
    ),
    lines.join("\n"),
  );
});
