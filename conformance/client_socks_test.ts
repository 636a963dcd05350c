/**
 * Our SOCKS listener (forwardSocks) through real OpenSSH (9.2 and 10.x): curl
 * fetches from a local HTTP server over SOCKS 5 (names resolved by the SSH
 * server), SOCKS 4a and SOCKS 4; hand-written SOCKS 4a and 5 requests get the
 * right replies, including refusals.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import { conformanceTest, findExecutable } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { login, OPENSSH_PEERS } from "./client_peer.ts";

/** A local HTTP server answering with the path it was asked for. */
async function httpServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.setHeader("connection", "close");
    res.end(`hello from ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-sS", "--max-time", "20", ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Sends `request` to the SOCKS port, reads `replyLength` bytes, then an HTTP exchange if granted. */
async function socksByHand(
  port: number,
  steps: { send: Uint8Array; expect: number }[],
  httpPath?: string,
): Promise<{ replies: Uint8Array[]; body: string }> {
  const sock = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  let buf = new Uint8Array(0);
  const waiters: (() => void)[] = [];
  let ended = false;
  sock.on("data", (b: Uint8Array) => {
    const n = new Uint8Array(buf.length + b.length);
    n.set(buf);
    n.set(b, buf.length);
    buf = n;
    waiters.splice(0).forEach((w) => w());
  });
  sock.on("close", () => {
    ended = true;
    waiters.splice(0).forEach((w) => w());
  });
  sock.on("error", () => {});
  const take = async (n: number) => {
    while (buf.length < n && !ended) await new Promise<void>((r) => waiters.push(r));
    const out = buf.slice(0, n);
    buf = buf.slice(n);
    return out;
  };
  const replies: Uint8Array[] = [];
  for (const s of steps) {
    sock.write(s.send);
    replies.push(await take(s.expect));
  }
  let body = "";
  if (httpPath) {
    sock.write(`GET ${httpPath} HTTP/1.0\r\nHost: x\r\n\r\n`);
    while (!ended) await new Promise<void>((r) => waiters.push(r));
    body = new TextDecoder().decode(buf);
  }
  sock.destroy();
  return { replies, body };
}

const enc = (s: string) => new TextEncoder().encode(s);
const port16 = (p: number) => [p >> 8, p & 0xff];

for (const peer of OPENSSH_PEERS) {
  // A host name the server resolves itself: the trixie tree has no /etc/hosts, so there a
  // numeric name stands in (still sent as a name, resolved by the server's getaddrinfo).
  const NAME = peer === "openssh-trixie" ? "127.0.0.1" : "localhost";
  conformanceTest(
    `curl through forwardSocks() on ${peer} reaches a local HTTP server (SOCKS 5, 4a, 4)`,
    { peers: [peer] },
    async () => {
      assert.ok(findExecutable("curl"), "curl is installed (apt-get install curl)");
      const web = await httpServer();
      try {
        await using conn = await login(await sharedPeer(peer));
        await using socks = await conn.forwardSocks({ listenPort: 0 });
        assert.ok(socks.port > 0);
        const proxy = `127.0.0.1:${socks.port}`;
        assert.equal(
          await curl(["--socks5-hostname", proxy, `http://${NAME}:${web.port}/five`]),
          "hello from /five",
        );
        assert.equal(
          await curl(["--socks4a", proxy, `http://${NAME}:${web.port}/fourA`]),
          "hello from /fourA",
        );
        assert.equal(
          await curl(["--socks4", proxy, `http://127.0.0.1:${web.port}/four`]),
          "hello from /four",
        );
      } finally {
        await web.close();
      }
    },
  );

  conformanceTest(
    `forwardSocks() on ${peer} answers hand-written SOCKS 4a and 5 requests and refusals`,
    { peers: [peer] },
    async () => {
      const web = await httpServer();
      try {
        await using conn = await login(await sharedPeer(peer));
        await using socks = await conn.forwardSocks({ listenPort: 0 });
        // SOCKS 4a: VN 4, CONNECT, port, 0.0.0.1, user "me\0", host "localhost\0".
        const a4 = await socksByHand(socks.port, [{
          send: new Uint8Array([
            4,
            1,
            ...port16(web.port),
            0,
            0,
            0,
            1,
            ...enc("me"),
            0,
            ...enc(NAME),
            0,
          ]),
          expect: 8,
        }], "/by-hand-4a");
        assert.deepEqual([a4.replies[0]![0], a4.replies[0]![1]], [0, 90], "request granted");
        assert.match(a4.body, /hello from \/by-hand-4a$/);
        // SOCKS 5: no-auth greeting, then CONNECT to a domain name.
        const host = enc(NAME);
        const s5 = await socksByHand(socks.port, [
          { send: new Uint8Array([5, 2, 2, 0]), expect: 2 },
          {
            send: new Uint8Array([5, 1, 0, 3, host.length, ...host, ...port16(web.port)]),
            expect: 10,
          },
        ], "/by-hand-5");
        assert.deepEqual([...s5.replies[0]!], [5, 0], "no authentication chosen");
        assert.equal(s5.replies[1]![1], 0, "succeeded");
        assert.match(s5.body, /hello from \/by-hand-5$/);
        // Refusals: a closed port (connection refused), an unsupported command, no usable method.
        const closed = net.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const deadPort = (closed.address() as net.AddressInfo).port;
        await new Promise((r) => closed.close(r));
        const refused = await socksByHand(socks.port, [
          { send: new Uint8Array([5, 1, 0]), expect: 2 },
          { send: new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, ...port16(deadPort)]), expect: 10 },
        ]);
        assert.equal(refused.replies[1]![1], 5, "connection refused");
        const bind = await socksByHand(socks.port, [
          { send: new Uint8Array([5, 1, 0]), expect: 2 },
          { send: new Uint8Array([5, 2, 0, 1, 127, 0, 0, 1, 0, 80]), expect: 10 },
        ]);
        assert.equal(bind.replies[1]![1], 7, "command not supported");
        const auth = await socksByHand(socks.port, [{
          send: new Uint8Array([5, 1, 2]),
          expect: 2,
        }]);
        assert.deepEqual([...auth.replies[0]!], [5, 0xff]);
        const four = await socksByHand(socks.port, [{
          send: new Uint8Array([4, 1, ...port16(deadPort), 127, 0, 0, 1, 0]),
          expect: 8,
        }]);
        assert.equal(four.replies[0]![1], 91, "SOCKS 4 request rejected");
      } finally {
        await web.close();
      }
    },
  );
}
