/**
 * Port forwarding through our server with OpenSSH's `ssh` (9.2 and 10.x): `-L` (direct-tcpip
 * and, to a UNIX socket, direct-streamlocal), `-R` with a fixed port, with port 0 (ssh prints
 * the port we allocated) and on a UNIX socket (streamlocal-forward), and `-D` with curl
 * speaking SOCKS5 to a local HTTP server. Refusals: no hook, `permitopen` (for TCP and UNIX socket
 * targets, as sshd), `no-port-forwarding`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { conformanceTest, freePort, runCommand } from "./fixtures/mod.ts";
import type { ListenOptions } from "../io/server/options.ts";
import type { ServerConnectionContext } from "../io/server/context.ts";
import {
  authorizedKeysText,
  spawnSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
  type TestServer,
} from "./server_fixture.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

/** Servers that stay up for the whole file: an echo server on TCP and on a UNIX socket, and HTTP. */
interface Targets {
  echoPort: number;
  echoPath: string;
  httpPort: number;
  dir: string;
}

let targets: Promise<Targets> | undefined;
const closers: (() => void)[] = [];
after(() => {
  for (const c of closers) c();
});

function listenOn(server: net.Server, where: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => resolve());
  });
}

function startTargets(): Promise<Targets> {
  return targets ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "sshts-fwd-"));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const echo = () => {
      const s = net.createServer((sock) => sock.pipe(sock));
      closers.push(() => s.close());
      return s;
    };
    const tcp = echo();
    await listenOn(tcp, { host: "127.0.0.1", port: 0 });
    const echoPath = join(dir, "echo.sock");
    await listenOn(echo(), { path: echoPath });
    const http = createHttpServer((req, res) => {
      res.setHeader("connection", "close");
      res.end(`hello from ${req.url}`);
    });
    closers.push(() => http.close());
    await listenOn(http as unknown as net.Server, { host: "127.0.0.1", port: 0 });
    return {
      echoPort: (tcp.address() as net.AddressInfo).port,
      echoPath,
      httpPort: (http.address() as net.AddressInfo).port,
      dir,
    };
  })();
}

/** Connects (to a port or a socket path), sends a line, and returns what comes back. */
function echoThrough(where: number | string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = typeof where === "number"
      ? net.connect({ host: "127.0.0.1", port: where })
      : net.connect({ path: where });
    let got = "";
    sock.on("data", (b: Uint8Array) => {
      got += new TextDecoder().decode(b);
      if (got.length >= text.length) sock.end();
    });
    sock.on("connect", () => sock.write(text));
    sock.on("close", () => resolve(got));
    // A refused forward may reset the connection rather than close it.
    sock.on(
      "error",
      (e: Error & { code?: string }) => e.code === "ECONNRESET" ? resolve(got) : reject(e),
    );
  });
}

type Requests = { open: string[]; listen: string[] };

/** Our server allowing every kind of forwarding, recording what was asked. */
async function forwardingServer(extra: Partial<ListenOptions> = {}) {
  const asked: Requests = { open: [], listen: [] };
  const server = await startServer({
    connectionRequested: (host, port) => {
      asked.open.push(`${host}:${port}`);
      return true;
    },
    serverRequested: (host, port) => {
      asked.listen.push(`${host}:${port}`);
      return true;
    },
    unixConnectionRequested: (path) => {
      asked.open.push(path);
      return true;
    },
    unixServerRequested: (path) => {
      asked.listen.push(path);
      return true;
    },
    ...extra,
  });
  return { server, asked };
}

async function localForward(client: SshClient, server: TestServer, spec: string) {
  const port = await freePort();
  const ssh = await spawnSsh(client, server, {
    identity: "ed25519",
    args: ["-L", `127.0.0.1:${port}:${spec}`],
    options: ["ExitOnForwardFailure=yes"],
    command: "wait",
  });
  // ssh binds its -L listeners before it opens the session.
  await ssh.waitFor(/waiting\n/);
  return { ssh, port };
}

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh -L forwards through listen() to TCP and UNIX socket targets`,
    { peers: [client] },
    async () => {
      const t = await startTargets();
      const { server, asked } = await forwardingServer();
      await using _ = server;
      {
        const { ssh, port } = await localForward(client, server, `127.0.0.1:${t.echoPort}`);
        await using _ssh = ssh;
        assert.equal(await echoThrough(port, "ping over -L\n"), "ping over -L\n");
        assert.equal(await echoThrough(port, "x".repeat(300_000)), "x".repeat(300_000));
        ssh.end();
        assert.equal((await ssh.exited).status, 0);
      }
      {
        const { ssh, port } = await localForward(client, server, t.echoPath);
        await using _ssh = ssh;
        assert.equal(await echoThrough(port, "ping a socket\n"), "ping a socket\n");
      }
      assert.deepEqual(asked.open, [
        `127.0.0.1:${t.echoPort}`,
        `127.0.0.1:${t.echoPort}`,
        t.echoPath,
      ]);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -L is refused by listen() without a hook, outside permitopen, or with no-port-forwarding`,
    { peers: [client] },
    async () => {
      const t = await startTargets();
      const other = await freePort();
      const cases: [Partial<ListenOptions>, number, boolean][] = [
        [{}, t.echoPort, false],
        [
          {
            connectionRequested: () => true,
            authorizedClientKeys: await authorizedKeysText(`permitopen="127.0.0.1:${t.echoPort}"`),
          },
          t.echoPort,
          true,
        ],
        [
          {
            connectionRequested: () => true,
            authorizedClientKeys: await authorizedKeysText(`permitopen="127.0.0.1:${t.echoPort}"`),
          },
          other,
          false,
        ],
        [
          {
            connectionRequested: () => true,
            authorizedClientKeys: await authorizedKeysText("no-port-forwarding"),
          },
          t.echoPort,
          false,
        ],
      ];
      for (const [options, target, allowed] of cases) {
        await using server = await startServer(options);
        const { ssh, port } = await localForward(client, server, `127.0.0.1:${target}`);
        await using _ssh = ssh;
        const got = await echoThrough(port, "knock\n");
        assert.equal(got, allowed ? "knock\n" : "", JSON.stringify(Object.keys(options)));
        if (!allowed) await ssh.waitFor(/open failed: administratively prohibited/, "stderr");
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -L to a UNIX socket is held by listen() to the key's permitopen, as by sshd`,
    { peers: [client] },
    async () => {
      const t = await startTargets();
      // sshd matches a socket path as a permitopen host with any port; TCP entries name none.
      const cases: [string, boolean][] = [
        [`permitopen="127.0.0.1:${t.echoPort}"`, false],
        ['permitopen="*:22"', false],
        [`permitopen="127.0.0.1:${t.echoPort}",permitopen="[${t.echoPath}]:*"`, true],
        ['permitopen="*:*"', true],
      ];
      for (const [options, allowed] of cases) {
        const { server, asked } = await forwardingServer({
          authorizedClientKeys: await authorizedKeysText(options),
        });
        await using _ = server;
        const { ssh, port } = await localForward(client, server, t.echoPath);
        await using _ssh = ssh;
        const got = await echoThrough(port, "knock\n");
        assert.equal(got, allowed ? "knock\n" : "", options);
        assert.deepEqual(asked.open, allowed ? [t.echoPath] : [], options);
        if (!allowed) await ssh.waitFor(/open failed: administratively prohibited/, "stderr");
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -R forwards from listen() with a fixed port, port 0 and a UNIX socket`,
    { peers: [client] },
    async () => {
      const t = await startTargets();
      const { server, asked } = await forwardingServer();
      await using _ = server;
      const fixed = await freePort();
      const socketPath = join(t.dir, `remote-${client}.sock`);
      await using ssh = await spawnSsh(client, server, {
        identity: "ed25519",
        args: [
          "-v",
          "-R",
          `127.0.0.1:${fixed}:127.0.0.1:${t.echoPort}`,
          "-R",
          `0:127.0.0.1:${t.echoPort}`,
          "-R",
          `${socketPath}:127.0.0.1:${t.echoPort}`,
        ],
        options: ["ExitOnForwardFailure=yes"],
        command: "wait",
      });
      const [, allocated] = await ssh.waitFor(
        /Allocated port (\d+) for remote forward to 127\.0\.0\.1:\d+/,
        "stderr",
      );
      await ssh.waitFor(new RegExp(`remote forward success for: listen ${socketPath}`), "stderr");
      await ssh.waitFor(
        new RegExp(`remote forward success for: listen 127.0.0.1:${fixed}`),
        "stderr",
      );
      const port = Number(allocated);
      assert.ok(port > 0 && port !== fixed);
      assert.equal(await echoThrough(fixed, "via fixed -R\n"), "via fixed -R\n");
      assert.equal(await echoThrough(port, "via -R 0\n"), "via -R 0\n");
      assert.equal(await echoThrough(socketPath, "via -R socket\n"), "via -R socket\n");
      assert.deepEqual(
        asked.listen.sort(),
        [`127.0.0.1:${fixed}`, "localhost:0", socketPath].sort(),
      );
      assert.equal(server.server.getConnections()[0]?.listenerCount, 3);
      ssh.end();
      assert.equal((await ssh.exited).status, 0);
      // The listeners go with the connection.
      await server.server.getConnections()[0]?.closed;
      await assert.rejects(echoThrough(port, "gone\n"));
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -R to a virtual forward: port 80 and a socket path served by the application, nothing bound`,
    { peers: [client] },
    async () => {
      const t = await startTargets();
      const asked: string[] = [];
      const closed: string[] = [];
      let ctx: ServerConnectionContext | undefined;
      const server = await startServer({
        serverRequested: (host, port, conn) => {
          ctx = conn;
          asked.push(`${host}:${port}`);
          return { close: () => closed.push(`${host}:${port}`) };
        },
        unixServerRequested: (path) => {
          asked.push(path);
          return { close: () => closed.push(path) };
        },
      });
      await using _ = server;
      const socketPath = join(t.dir, `virtual-${client}.sock`);
      await using ssh = await spawnSsh(client, server, {
        identity: "ed25519",
        args: [
          "-v",
          "-R",
          `80:127.0.0.1:${t.echoPort}`,
          "-R",
          `${socketPath}:127.0.0.1:${t.echoPort}`,
        ],
        options: ["ExitOnForwardFailure=yes"],
        command: "wait",
      });
      await ssh.waitFor(/remote forward success for: listen 80/, "stderr");
      await ssh.waitFor(new RegExp(`remote forward success for: listen ${socketPath}`), "stderr");
      assert.deepEqual(asked.sort(), ["localhost:80", socketPath].sort());
      for (
        const open of [
          () => ctx!.openConnection("localhost", 80),
          () => ctx!.openUnixConnection(socketPath),
        ]
      ) {
        await using c = await open();
        const w = c.writable.getWriter();
        await w.write(new TextEncoder().encode("pushed by the server\n"));
        await w.close();
        let got = "";
        for await (const b of c.readable) got += new TextDecoder().decode(b);
        assert.equal(got, "pushed by the server\n");
      }
      // Nothing listens at the path (the forward is the application's).
      await assert.rejects(echoThrough(socketPath, "x\n"), /ENOENT/);
      ssh.end();
      assert.equal((await ssh.exited).status, 0);
      await server.server.getConnections()[0]?.closed;
      for (let i = 0; i < 100 && closed.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(closed.sort(), ["localhost:80", socketPath].sort());
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh -D carries curl's SOCKS5 requests through listen()`,
    { peers: [client] },
    async () => {
      const t = await startTargets();
      const { server, asked } = await forwardingServer();
      await using _ = server;
      const socksPort = await freePort();
      await using ssh = await spawnSsh(client, server, {
        identity: "ed25519",
        args: ["-D", `127.0.0.1:${socksPort}`],
        options: ["ExitOnForwardFailure=yes"],
        command: "wait",
      });
      await ssh.waitFor(/waiting\n/);
      for (const host of ["127.0.0.1", "localhost"]) {
        const r = await runCommand([
          "curl",
          "-sS",
          "--max-time",
          "20",
          "--socks5-hostname",
          `127.0.0.1:${socksPort}`,
          `http://${host}:${t.httpPort}/via-socks`,
        ]);
        assert.equal(r.stdout, "hello from /via-socks", r.stderr);
      }
      assert.deepEqual(asked.open, [`127.0.0.1:${t.httpPort}`, `localhost:${t.httpPort}`]);
    },
  );
}
