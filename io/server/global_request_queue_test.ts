/**
 * Global requests and a slow forwarding hook: only forwarding requests (tcpip-forward,
 * streamlocal-forward and their cancels) wait, in order, behind one the `serverRequested`
 * hook is deciding, and at most MAX_QUEUED_FORWARD_REQUESTS of them; later ones are refused
 * and logged once. Other names are refused at once, outside that queue, while replies still
 * leave in the order the requests came. Against our own server in the same process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHWriter } from "../../core/wire.ts";
import { loopback } from "./_loopback_test_util.ts";
import { MAX_QUEUED_FORWARD_REQUESTS } from "./forwarding.ts";

const tcpipForward = (port: number) =>
  new SSHWriter().writeStringUtf8("127.0.0.1").writeUint32(port).toBytes();

/** A loopback server whose serverRequested hook records each port and waits for `open()`. */
async function gatedServer(answer: boolean) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const asked: number[] = [];
  const log: string[] = [];
  const setup = await loopback({
    logger: { info: (m: string) => log.push(m) },
    serverRequested: async (_host, port) => {
      asked.push(port);
      await gate;
      return answer;
    },
  });
  return { ...setup, open, asked, log };
}

test("forwarding requests waiting behind a slow hook are capped; other names never wait", async () => {
  await using s = await gatedServer(false);
  const { conn } = s;
  const slow = conn.globalRequest("tcpip-forward", tcpipForward(40000), true);
  // Other names hold no place in the queue (a client could send them without end).
  for (let i = 0; i < 1000; i++) void conn.globalRequest("x@example.com", undefined, false);
  const extra = 100;
  for (let i = 1; i < MAX_QUEUED_FORWARD_REQUESTS + extra; i++) {
    void conn.globalRequest("tcpip-forward", tcpipForward(40000 + i), false);
  }
  // The server reads its messages in order: once this open is answered, it saw every one.
  await conn.openSession().catch(() => {});
  assert.deepEqual(s.asked, [40000], "the hook decides one request at a time");
  s.open();
  assert.equal((await slow).success, false);
  // Queued behind the ones let in, so answered once they all ran.
  assert.equal(
    (await conn.globalRequest("cancel-tcpip-forward", tcpipForward(1), true)).success,
    false,
  );
  assert.equal(s.asked.length, MAX_QUEUED_FORWARD_REQUESTS, "the rest were refused unasked");
  assert.deepEqual(s.asked.slice(0, 3), [40000, 40001, 40002], "in the order they came");
  const refusals = s.log.filter((m) => m.includes("wait already for a slow forwarding hook"));
  assert.equal(refusals.length, 1, "logged once, not once per refused request");
  assert.match(refusals[0]!, new RegExp(`refused tcpip-forward .*${MAX_QUEUED_FORWARD_REQUESTS}`));
});

test("other global requests answered at once still get their replies in the order asked", async () => {
  await using s = await gatedServer(true);
  const { conn } = s;
  const fwd = conn.globalRequest("tcpip-forward", tcpipForward(0), true);
  const other = conn.globalRequest("x@example.com", undefined, true);
  const keepalive = conn.globalRequest("keepalive@openssh.com", undefined, true);
  await conn.openSession().catch(() => {});
  s.open();
  const [f, o, k] = await Promise.all([fwd, other, keepalive]);
  // Out of order, the client would have matched the refusal to the forward.
  assert.equal(f.success, true, "the forward is granted");
  assert.equal(f.data.length, 4, "with the port bound for port 0");
  assert.equal(o.success, false);
  assert.equal(k.success, false);
  const port = new DataView(f.data.buffer, f.data.byteOffset).getUint32(0);
  assert.equal(
    (await conn.globalRequest("cancel-tcpip-forward", tcpipForward(port))).success,
    true,
  );
});
