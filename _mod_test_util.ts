/**
 * Test helper for the tests of the package entry point (mod_*_test.ts): our `listen()` on
 * 127.0.0.1 with password logins and a `connect()`ed client, both from `./mod.ts` as a
 * user imports them, disposed together.
 *
 * @module
 */
import {
  connect,
  generatePrivateKey,
  listen,
  type ListenOptions,
  type SSHClientConnection,
  type SSHServer,
} from "./mod.ts";

const hostKey = generatePrivateKey("ed25519");

/**
 * A loopback server with `options` (any password accepted) and a client logged in to it.
 *
 * @example
 * ```ts ignore
 * await using p = await loopbackPair({ serverRequested: () => true });
 * await p.conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 22 });
 * ```
 */
export async function loopbackPair(options: Partial<ListenOptions>): Promise<
  { server: SSHServer; conn: SSHClientConnection } & AsyncDisposable
> {
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
  const conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    clientKeys: [],
    config: false,
  });
  return {
    server,
    conn,
    async [Symbol.asyncDispose]() {
      await conn.close();
      await server.close();
    },
  };
}
