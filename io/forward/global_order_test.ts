/**
 * Our server handles global requests strictly in order, as sshd does: a
 * cancel-tcpip-forward sent right behind its tcpip-forward waits for it, even
 * while the serverRequested hook is still deciding, and finds the listener it
 * bound. Against our own server in the same process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { SSHWriter } from "../../core/wire.ts";
import { loopback } from "../server/_loopback_test_util.ts";

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** "OPEN" when something listens on 127.0.0.1:port, else the connect error's code. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("connect", () => {
      s.destroy();
      resolve("OPEN");
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/**
 * A loopback server whose serverRequested hook answers only once the server has received
 * the global request `waitFor` (seen in its debug log), so that request arrives while the
 * hook is deciding; `hookCalls` counts the hook's calls.
 */
async function slowHookServer(waitFor: string) {
  let seen!: () => void;
  const arrived = new Promise<void>((r) => seen = r);
  const state = { hookCalls: 0 };
  const lo = await loopback({
    serverRequested: async () => {
      state.hookCalls++;
      await arrived;
      return true;
    },
    logLevel: "debug",
    logger: {
      debug: (m) => {
        if (m.includes(`global request ${waitFor} from peer`)) seen();
      },
    },
  });
  return Object.assign(lo, { state });
}

test("a cancel-tcpip-forward right behind its tcpip-forward cancels it while the hook decides", async () => {
  await using lo = await slowHookServer("cancel-tcpip-forward");
  const port = await freePort();
  const data = new SSHWriter(32).writeStringUtf8("127.0.0.1").writeUint32(port).toBytes();
  const forward = lo.conn.globalRequest("tcpip-forward", data);
  const cancel = lo.conn.globalRequest("cancel-tcpip-forward", data);
  assert.equal((await forward).success, true, "the forward is granted");
  assert.equal((await cancel).success, true, "the cancel found the listener the forward bound");
  assert.equal(await probe(port), "ECONNREFUSED", "nothing listens after the cancel");
  assert.equal(lo.state.hookCalls, 1);
});

test("a cancel-tcpip-forward without want-reply also waits for the forward before it", async () => {
  await using lo = await slowHookServer("cancel-tcpip-forward");
  const port = await freePort();
  const data = new SSHWriter(32).writeStringUtf8("127.0.0.1").writeUint32(port).toBytes();
  const forward = lo.conn.globalRequest("tcpip-forward", data);
  void lo.conn.globalRequest("cancel-tcpip-forward", data, false);
  // Answered after the cancel ran (replies and work both go in order).
  const keepalive = lo.conn.globalRequest("keepalive@openssh.com");
  assert.equal((await forward).success, true);
  assert.equal((await keepalive).success, false, "keepalive answered, as usual with failure");
  assert.equal(await probe(port), "ECONNREFUSED", "nothing listens after the cancel");
});

test("a failing serverRequested hook does not stop the global requests behind it", async () => {
  let calls = 0;
  await using lo = await loopback({
    serverRequested: () => {
      if (calls++ === 0) throw new Error("hook failed");
      return true;
    },
  });
  const port = await freePort();
  const data = new SSHWriter(32).writeStringUtf8("127.0.0.1").writeUint32(port).toBytes();
  const first = lo.conn.globalRequest("tcpip-forward", data);
  const keepalive = lo.conn.globalRequest("keepalive@openssh.com");
  const second = lo.conn.globalRequest("tcpip-forward", data);
  assert.equal((await first).success, false);
  assert.equal((await keepalive).success, false);
  assert.equal((await second).success, true);
  assert.equal(await probe(port), "OPEN");
  assert.equal((await lo.conn.globalRequest("cancel-tcpip-forward", data)).success, true);
  assert.equal(await probe(port), "ECONNREFUSED");
});
