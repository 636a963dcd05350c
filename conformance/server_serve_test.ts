/**
 * serveConnection() (AsyncSSH's run_server) against OpenSSH's ssh (9.2 and 10.x): our server
 * runs over sockets a plain TCP listener accepted, not listen()'s own.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { conformanceTest, TEST_PASSWORD, TEST_USER } from "./fixtures/mod.ts";
import {
  authorizedKeysText,
  keys,
  runSsh,
  SSH_CLIENTS,
  type TestServer,
  testShell,
} from "./server_fixture.ts";
import { serveConnection } from "../io/server/serve.ts";
import type { SSHServerConnection } from "../io/server/connection.ts";
import { socketFromNodeSocket } from "../io/runtime/node_socket.ts";

for (const client of SSH_CLIENTS) {
  conformanceTest(`ssh (${client}) through serveConnection() on an accepted socket`, {
    peers: [client],
  }, async () => {
    const m = await keys();
    const conns: Promise<SSHServerConnection>[] = [];
    const authorized = await authorizedKeysText();
    const tcp = net.createServer((sock) => {
      conns.push(serveConnection(socketFromNodeSocket(sock), {
        hostKeys: m.hostKeys.map((k) => k.privateKeyPath),
        authorizedClientKeys: authorized,
        validatePassword: (u, p) => u === TEST_USER && p === TEST_PASSWORD,
        processFactory: testShell,
      }));
    });
    await new Promise<void>((r) => tcp.listen({ host: "127.0.0.1", port: 0 }, r));
    const port = (tcp.address() as net.AddressInfo).port;
    const close = async () => {
      tcp.close();
      await Promise.all(conns.map(async (c) => (await c).close()));
    };
    // What sshArgv needs of a test server: its port and host keys.
    const server = {
      port,
      knownHosts: m.hostKeys.map((k) => `[127.0.0.1]:${port} ${k.publicKeyLine}`).join("\n") +
        "\n",
      close,
      [Symbol.asyncDispose]: close,
    } as unknown as TestServer;
    try {
      const r = await runSsh(client, server, { identity: "ed25519", command: "whoami" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${TEST_USER}\n`);
      assert.equal(conns.length, 1);
      assert.equal((await conns[0]!).authMethod, "publickey");
    } finally {
      await close();
    }
  });
}
