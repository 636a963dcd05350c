/**
 * The client never sends a direct-tcpip open whose host holds a control character
 * (OpenSSH's sshd ends the whole connection over a NUL there): openConnection,
 * createConnection, openChannel and forwardLocalPort refuse it with a RangeError
 * before anything goes out, and the connection stays usable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { checkDestHost, checkDirectTcpipOpen, isSendableHost } from "./dest_host.ts";

const BAD_HOSTS = ["127.0.0.1\0.allowed.example", "\0", "a\nb", "a\rb", "x\x7f", "x\x85"];

test("isSendableHost() refuses control characters and takes other names", () => {
  for (const h of BAD_HOSTS) assert.equal(isSendableHost(h), false, JSON.stringify(h));
  for (const h of ["db.internal", "127.0.0.1", "::1", "bücher.example", "", "a b"]) {
    assert.equal(isSendableHost(h), true, JSON.stringify(h));
  }
  assert.throws(() => checkDestHost("a\0b", "destHost"), RangeError);
  assert.throws(() => checkDirectTcpipOpen(encodeTcpipOpen("a\0b", 1, "o", 2)), RangeError);
  checkDirectTcpipOpen(encodeTcpipOpen("a", 1, "o\0", 2)); // only the destination is checked
  checkDirectTcpipOpen(new Uint8Array([0, 0, 0, 9, 1])); // short data: the peer refuses it
});

test("openConnection(), createConnection() and openChannel() refuse a host with a NUL", async () => {
  const asked: string[] = [];
  await using lo = await loopback({
    connectionRequested: (host, port) => {
      asked.push(`${host}:${port}`);
      return false;
    },
  });
  for (const host of BAD_HOSTS) {
    await assert.rejects(lo.conn.openConnection(host, 80), RangeError);
    await assert.rejects(lo.conn.createConnection({}, host, 80), RangeError);
    await assert.rejects(
      lo.conn.openChannel("direct-tcpip", encodeTcpipOpen(host, 80, "127.0.0.1", 0)),
      RangeError,
    );
  }
  assert.deepEqual(asked, [], "the server was never asked");
  // The connection is still there: a fine name reaches the server (which refuses it).
  await assert.rejects(lo.conn.openConnection("fine.example", 80), { name: "ChannelOpenError" });
  assert.deepEqual(asked, ["fine.example:80"]);
  assert.equal((await lo.conn.globalRequest("keepalive@openssh.com")).success, false);
});

test("forwardLocalPort() refuses a destHost with a control character before listening", async () => {
  await using lo = await loopback({ connectionRequested: () => true });
  for (const destHost of BAD_HOSTS) {
    await assert.rejects(
      lo.conn.forwardLocalPort({ listenPort: 0, destHost, destPort: 80 }),
      RangeError,
    );
  }
  await using l = await lo.conn.forwardLocalPort({
    listenPort: 0,
    destHost: "127.0.0.1",
    destPort: 80,
  });
  assert.ok(l.port > 0);
});

test("ports that are no port numbers are refused before anything goes out", async () => {
  const asked: string[] = [];
  await using lo = await loopback({
    connectionRequested: (host, port) => {
      asked.push(`open ${host}:${port}`);
      return false;
    },
    serverRequested: (host, port) => {
      asked.push(`listen ${host}:${port}`);
      return false;
    },
  });
  for (const port of [-1, 65536, 1.5, NaN]) {
    await assert.rejects(lo.conn.openConnection("127.0.0.1", port), /port must be a port/);
    await assert.rejects(
      lo.conn.openConnection("127.0.0.1", 22, { originPort: port }),
      /originPort must be a port/,
    );
    await assert.rejects(
      lo.conn.forwardLocalPort({ listenPort: 0, destHost: "127.0.0.1", destPort: port }),
      /destPort must be a port/,
    );
    await assert.rejects(
      lo.conn.forwardRemotePort({ listenPort: port, destHost: "127.0.0.1", destPort: 22 }),
      /listenPort must be a port/,
    );
  }
  // NaN went out as port 0 (any port) and 1.5 as port 1.
  assert.deepEqual(asked, [], "the server was never asked");
});
