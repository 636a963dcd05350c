/**
 * A peer's CLOSE can arrive in the same read as the events an application answers (a
 * request with want_reply, an EOF): the engine has freed the channel when the answer comes.
 * The answer is moot, never a crash of the process serving every other connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeEnv, encodeStringArg } from "../../core/connection/session_requests.ts";
import { loopback } from "../server/_loopback_test_util.ts";

test("a request with want_reply and a close in one write leave the server serving", async () => {
  await using lo = await loopback({
    acceptEnv: ["*"],
    processFactory: (p) => p.write(`ran ${p.command}\n`),
  });
  for (let i = 0; i < 5; i++) {
    const ch = await lo.conn.openSession();
    const reply = ch.request("env", encodeEnv("LANG", "C"));
    ch.close(); // goes out in the same flush as the request
    assert.equal(await reply, false, "the channel closed before any reply");
    await ch.closedPromise;
  }
  assert.equal((await lo.conn.run("still here")).stdout, "ran still here\n");
});

test("answering the server's EOF with ours, as EOF, exit status and CLOSE arrive together", async () => {
  await using lo = await loopback({ processFactory: (p) => p.write("done\n") });
  const ch = await lo.conn.openSession();
  let eofs = 0;
  ch.onEof = () => {
    eofs++;
    ch.sendEof();
  };
  assert.equal(await ch.request("exec", encodeStringArg("x")), true);
  assert.equal(await new Response(ch.readable(0)).text(), "done\n");
  await ch.closedPromise;
  assert.equal(eofs, 1);
  assert.equal((await lo.conn.run("again")).stdout, "done\n");
});
