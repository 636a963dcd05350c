/**
 * Parity options from AsyncSSH/libssh2 (#20), against our own server on
 * loopback: clientVersion, localAddress/localPort/family, abort() versus
 * close(), and listen()'s backlog / ipv6Only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";
import type { SSHClientConnection } from "./connection.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";

const hostKey = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    beginAuth: () => false, // no authentication needed
    ...options,
  });
}

function login(
  s: SSHServer,
  options: ConnectOptions = {},
  host = "127.0.0.1",
): Promise<SSHClientConnection> {
  return connect(host, {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    connectTimeout: 10_000,
    ...options,
  });
}

test("clientVersion goes into our identification line", async () => {
  await using s = await server();
  await using conn = await login(s, { clientVersion: "ParityClient_1.2" });
  assert.equal(conn.getExtraInfo().clientVersion, "SSH-2.0-ParityClient_1.2");
  const [sc] = s.getConnections();
  assert.equal(sc!.getExtraInfo().clientVersion, "SSH-2.0-ParityClient_1.2");
});

test("clientVersion with a space or '-' is refused before anything is sent", async () => {
  await using s = await server();
  await assert.rejects(login(s, { clientVersion: "bad version" }), RangeError);
  await assert.rejects(login(s, { clientVersion: "bad-version" }), RangeError);
});

test("localAddress and localPort bind the socket before it connects", async () => {
  await using s = await server();
  // A free port for the client's side.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.2", r));
  const localPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await using conn = await login(s, { localAddress: "127.0.0.2", localPort });
  assert.equal(conn.getExtraInfo().localAddress, "127.0.0.2");
  assert.equal(conn.getExtraInfo().localPort, localPort);
  const [sc] = s.getConnections();
  assert.equal(sc!.getExtraInfo().remoteAddress, "127.0.0.2");
  assert.equal(sc!.getExtraInfo().remotePort, localPort);
});

test("family picks the address family the host name resolves to", async () => {
  await using s4 = await server({ host: "127.0.0.1" });
  await using c4 = await login(s4, { family: 4 }, "localhost");
  assert.equal(c4.getExtraInfo().localAddress, "127.0.0.1");
  await using s6 = await server({ host: "::1" });
  await using c6 = await login(s6, { family: 6 }, "::1");
  assert.equal(c6.getExtraInfo().localAddress, "::1");
  // Resolution honours the family: with no IPv6 address for the name, family 6 fails
  // (and with one, it reaches the IPv6 listener, which s4 is not).
  const v6names = await import("node:dns").then((dns) =>
    dns.promises.lookup("localhost", { family: 6 }).then(() => true, () => false)
  );
  if (!v6names) await assert.rejects(login(s4, { family: 6 }, "localhost"));
  else await assert.rejects(login(s4, { family: 6, connectTimeout: 2_000 }, "localhost"));
});

test("abort() drops the socket without DISCONNECT; close() sends one", async () => {
  const lost: (Error | undefined)[] = [];
  let onLost: (() => void) | undefined;
  await using s = await server({
    connectionLost: (_c, e) => {
      lost.push(e);
      onLost?.();
    },
  });
  const gone = () => new Promise<void>((r) => (onLost = r));

  let wait = gone();
  const closed = await login(s);
  await closed.close();
  await wait;
  wait = gone();
  const aborted = await login(s);
  aborted.abort();
  await wait;
  await aborted.closed;
  assert.equal(lost.length, 2);
  // close(): the server read our DISCONNECT (BY_APPLICATION, reason code 11).
  assert.equal((lost[0] as { reason?: number } | undefined)?.reason, 11);
  // abort(): no DISCONNECT arrived, so whatever the server saw, it was not one with a code.
  assert.notEqual((lost[1] as { reason?: number } | undefined)?.reason, 11);
  assert.equal(aborted.closeError, undefined, "abort is ours, not a failure");
});

test("listen() takes a backlog and ipv6Only", async () => {
  await using s = await server({ backlog: 4 });
  await using conn = await login(s);
  assert.ok(conn.getExtraInfo().serverVersion?.startsWith("SSH-2.0-"));

  await using dual = await server({ host: "::" });
  await using v4 = await login(dual, {}, "127.0.0.1"); // dual stack takes IPv4
  assert.equal(v4.getExtraInfo().localAddress, "127.0.0.1");
  await using only6 = await server({ host: "::", ipv6Only: true });
  // Deno's node:net ignores ipv6Only (documented in ListenOptions); Node and Bun honour it.
  if (!("Deno" in globalThis)) {
    await assert.rejects(login(only6, { connectTimeout: 2_000 }, "127.0.0.1"));
  }
  await using v6 = await login(only6, {}, "::1");
  assert.equal(v6.getExtraInfo().localAddress, "::1");
});
