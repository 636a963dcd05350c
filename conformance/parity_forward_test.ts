/**
 * #20's forwarding rows with OpenSSH's `ssh` (9.2 and 10.x) against listen():
 * `ssh -L` to a made-up destination that `connectionRequested` reroutes with
 * forwardConnection(), and the server pushing connections into `ssh -R`
 * forwards with openConnection() (forwarded-tcpip) and openUnixConnection()
 * (forwarded-streamlocal@openssh.com).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conformanceTest, freePort } from "./fixtures/mod.ts";
import { spawnSsh, SSH_CLIENTS, type SshClient, startServer } from "./server_fixture.ts";
import { forwardConnection } from "../io/forward/forward_connection.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };
const dec = new TextDecoder();
const enc = new TextEncoder();

async function echoServer() {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let got = "";
    sock.on("data", (b: Uint8Array) => {
      got += dec.decode(b);
      if (got.length >= text.length) sock.end();
    });
    sock.on("connect", () => sock.write(text));
    sock.on("close", () => resolve(got));
    sock.on("error", reject);
  });
}

async function roundTrip(
  c: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  text: string,
): Promise<string> {
  const w = c.writable.getWriter();
  await w.write(enc.encode(text));
  await w.close();
  return dec.decode(new Uint8Array(await new Response(c.readable).arrayBuffer()));
}

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh -L to a made-up host is rerouted by forwardConnection() on listen()`,
    { peers: [client] },
    async () => {
      await using echo = await echoServer();
      const asked: string[] = [];
      await using server = await startServer({
        connectionRequested: (host, port) => {
          asked.push(`${host}:${port}`);
          return forwardConnection("127.0.0.1", echo.port);
        },
      });
      const port = await freePort();
      await using ssh = await spawnSsh(client, server, {
        identity: "ed25519",
        args: ["-L", `127.0.0.1:${port}:backend.invalid:7`],
        options: ["ExitOnForwardFailure=yes"],
        command: "wait",
      });
      await ssh.waitFor(/waiting\n/);
      assert.equal(await echoThrough(port, "via forwardConnection\n"), "via forwardConnection\n");
      const big = "z".repeat(500_000);
      assert.equal(await echoThrough(port, big), big);
      assert.deepEqual(asked, ["backend.invalid:7", "backend.invalid:7"]);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -R accepts connections listen() pushes with openConnection()/openUnixConnection()`,
    { peers: [client] },
    async () => {
      await using echo = await echoServer();
      const dir = mkdtempSync(join(tmpdir(), "sshts-push-"));
      try {
        await using server = await startServer({
          serverRequested: () => true,
          unixServerRequested: () => true,
        });
        const fixed = await freePort();
        const socketPath = join(dir, `pushed-${client}.sock`);
        await using ssh = await spawnSsh(client, server, {
          identity: "ed25519",
          args: [
            "-R",
            `127.0.0.1:${fixed}:127.0.0.1:${echo.port}`,
            "-R",
            `${socketPath}:127.0.0.1:${echo.port}`,
          ],
          options: ["ExitOnForwardFailure=yes"],
          command: "wait",
        });
        await ssh.waitFor(/waiting\n/);
        const [conn] = server.server.getConnections();
        // ssh names its forward by the address it asked for; it connects to its own target.
        const c = await conn!.openConnection("127.0.0.1", fixed, {
          originHost: "198.51.100.1",
          originPort: 5000,
        });
        assert.equal(await roundTrip(c, "pushed over -R\n"), "pushed over -R\n");
        const u = await conn!.openUnixConnection(socketPath);
        assert.equal(await roundTrip(u, "pushed over a socket\n"), "pushed over a socket\n");
        // A forward ssh does not have: refused.
        await assert.rejects(conn!.openConnection("127.0.0.1", fixed + 1), /Channel open refused/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
