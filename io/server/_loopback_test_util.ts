/**
 * Test helper: our `listen()` on 127.0.0.1 with password logins, and a `connect()`ed
 * client to it, disposed together.
 *
 * @module
 */
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");

/** A loopback server with `options` (any password accepted) and a client logged in to it. */
export async function loopback(options: Partial<ListenOptions>): Promise<
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
