/**
 * A pty session through listen()'s line editor after the client's EOF: the
 * partly typed line reaches the application, and what the application writes
 * afterwards still has its `\n` written as `\r\n`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodePtyRequest } from "../../core/connection/session_requests.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "./listen.ts";

const hostKey = generatePrivateKey("ed25519");

test("listen()'s line editor translates \\n to \\r\\n after the client's EOF", async () => {
  await using s = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: async (p) => {
      let input = "";
      const d = new TextDecoder();
      for await (const chunk of p.stdin) input += d.decode(chunk, { stream: true });
      await p.write(`got ${JSON.stringify(input)}\nafter\neof\n`);
      await p.writeStderr("err\n");
      p.exit(0);
    },
  });
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "x",
    knownHosts: null,
  });
  const ch = await conn.openSession();
  assert.equal(
    await ch.request("pty-req", encodePtyRequest({ term: "xterm", columns: 80, rows: 24 })),
    true,
  );
  assert.equal(await ch.request("shell"), true);
  await ch.write(new TextEncoder().encode("one\rpart"));
  ch.sendEof();
  let out = "";
  const d = new TextDecoder();
  for await (const chunk of ch.readable(0)) out += d.decode(chunk, { stream: true });
  assert.equal(out, 'one\r\npartgot "one\\npart"\r\nafter\r\neof\r\nerr\r\n');
});
