/**
 * Parity options from AsyncSSH/libssh2 (#20), against our own server on
 * loopback: clientVersion, localAddress/localPort/family, abort() versus
 * close(), and listen()'s backlog / ipv6Only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { DisconnectError, DisconnectReason } from "../../core/errors.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect, type ConnectHooks } from "./connect.ts";
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
  options: ConnectOptions & ConnectHooks = {},
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
  assert.equal(conn.getExtraInfo().controlPath, undefined, "a direct connection has no master");
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
  // close(): the server read our DISCONNECT (BY_APPLICATION).
  assert.ok(lost[0] instanceof DisconnectError);
  assert.equal(lost[0].fromPeer, true);
  assert.equal(lost[0].reason, DisconnectReason.BY_APPLICATION);
  // abort(): no DISCONNECT arrived; the server saw only the socket close.
  assert.equal((lost[1] as DisconnectError | undefined)?.reason, DisconnectReason.CONNECTION_LOST);
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

test("sendDebug: client to server hook, server to client onDebug", async () => {
  const atServer: [string, boolean][] = [];
  let gotAtServer: (() => void) | undefined;
  await using s = await server({
    // Sent as soon as the connection exists: held until the key exchange is done.
    connectionMade: (c) => c.sendDebug("early note"),
    beginAuth: (user, c) => {
      c.sendDebug(`hello ${user}`, true);
      return false;
    },
    debugReceived: (_c, message, alwaysDisplay) => {
      atServer.push([message, alwaysDisplay]);
      gotAtServer?.();
    },
  });
  const atClient: [string, boolean][] = [];
  await using conn = await login(s, { onDebug: (m, a) => atClient.push([m, a]) });
  // The server sent both before it let us in, so both are here when connect() resolves.
  assert.deepEqual(atClient, [["early note", false], ["hello alice", true]]);
  const arrived = new Promise<void>((r) => (gotAtServer = r));
  conn.sendDebug("client says hi ✓");
  conn.sendDebug("loud", true);
  await arrived;
  while (atServer.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(atServer, [["client says hi ✓", false], ["loud", true]]);
  assert.throws(() => conn.sendDebug("x".repeat(64 * 1024 + 1)), RangeError);
});

test("server abort() drops the client without DISCONNECT", async () => {
  await using s = await server();
  const closedByServer = await login(s);
  await s.getConnections()[0]!.close();
  await closedByServer.closed;
  const polite = closedByServer.closeError as DisconnectError | undefined;
  assert.ok(polite instanceof DisconnectError);
  assert.equal(polite.fromPeer, true);
  assert.equal(polite.reason, DisconnectReason.BY_APPLICATION);

  const abortedByServer = await login(s);
  s.getConnections().at(-1)!.abort();
  await abortedByServer.closed;
  const err = abortedByServer.closeError as DisconnectError | undefined;
  assert.ok(err instanceof DisconnectError, "the client sees the connection lost");
  // No DISCONNECT arrived: the socket just went.
  assert.equal(err.reason, DisconnectReason.CONNECTION_LOST);
});

test("authCompleted runs once the user is in, with the method", async () => {
  const seen: [string | undefined, string | undefined][] = [];
  await using s = await server({
    beginAuth: () => true,
    validatePassword: (_u, p) => p === "pw",
    authCompleted: (c) => seen.push([c.username, c.getExtraInfo().authMethod]),
  });
  await assert.rejects(login(s, { password: "wrong", preferredAuth: ["password"] }));
  assert.deepEqual(seen, []);
  await using _conn = await login(s, { password: "pw", preferredAuth: ["password"] });
  assert.deepEqual(seen, [["alice", "password"]]);
});

test("server process: writeLines and setXonXoff reach the client", async () => {
  await using s = await server({
    processFactory: async (p) => {
      await p.writeLines(["one", "two\n", "three"]);
      await p.writeLines(["err"], "stderr");
      // Echo what the client sent with writeLines.
      const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
      const reader = p.stdin.pipeThrough(decoder).getReader();
      let got = "";
      while (!got.endsWith("b\n")) {
        const r = await reader.read();
        if (r.done) break;
        got += r.value;
      }
      await p.write(`echo:${got}`);
      p.setXonXoff(false);
      await p.write("after\n");
      p.exit(0);
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { encoding: "utf-8" });
  await p.writeLines(["a", "b\n"]);
  // The notice may arrive before createProcess() resolves: read the recorded value.
  const r = await p.wait();
  assert.equal(r.stdout, "one\ntwo\nthree\necho:a\nb\nafter\n");
  assert.equal(r.stderr, "err\n");
  assert.equal(p.xonXoff, false);
});

test("connectionMade sees the connection before authentication", async () => {
  let unlock: (() => void) | undefined;
  const gate = new Promise<void>((r) => (unlock = r));
  await using s = await server({ beginAuth: async () => (await gate, false) });
  let made: SSHClientConnection | undefined;
  let authenticatedThen: boolean | undefined;
  let madeCalled!: () => void;
  const called = new Promise<void>((r) => (madeCalled = r));
  const pending = login(s, {
    connectionMade: (c) => {
      made = c;
      authenticatedThen = c.engine.authenticated;
      madeCalled();
    },
  });
  // The server holds authentication until unlocked: the hook must run before that.
  await called;
  assert.ok(made);
  assert.equal(authenticatedThen, false);
  assert.equal(made.engine.authenticated, false, "still waiting on the server");
  unlock!();
  await using conn = await pending;
  assert.equal(conn, made);

  const boom = new Error("refused by hook");
  await assert.rejects(
    login(s, {
      connectionMade: () => {
        throw boom;
      },
    }),
    boom,
  );
});

test("kbdintSubmethods reach the server's getKbdintChallenge", async () => {
  const asked: string[] = [];
  await using s = await server({
    beginAuth: () => true,
    getKbdintChallenge: (_u, submethods) => {
      asked.push(submethods);
      return { name: "", instruction: "", prompts: [{ prompt: "Code: ", echo: true }] };
    },
    validateKbdintResponse: (_u, responses) => responses[0] === "42",
  });
  const kbdintResponses = () => ["42"];
  const o = { preferredAuth: ["keyboard-interactive"], kbdintResponses };
  await using _a = await login(s, { ...o, kbdintSubmethods: ["pam", "skey"] });
  await using _b = await login(s, { ...o, kbdintSubmethods: "bsdauth" });
  await using _c = await login(s, o);
  assert.deepEqual(asked, ["pam,skey", "bsdauth", ""]);
});

test("disableTrivialAuth refuses a server that asks for nothing", async () => {
  await using open = await server(); // beginAuth false: "none" succeeds
  await using ok = await login(open);
  assert.equal(ok.engine.authenticated, true);
  await assert.rejects(
    login(open, { disableTrivialAuth: true }),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
  // Keyboard-interactive with no prompts is trivial too; with a prompt it is not.
  let prompts = 0;
  await using kbd = await server({
    beginAuth: () => true,
    getKbdintChallenge: () =>
      prompts === 0 ? true : {
        prompts: [{ prompt: "Code: ", echo: true }],
      },
    validateKbdintResponse: () => true,
  });
  const o = {
    preferredAuth: ["keyboard-interactive"],
    kbdintResponses: () => ["x"],
    disableTrivialAuth: true,
  };
  await assert.rejects(
    login(kbd, o),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
  prompts = 1;
  await using fine = await login(kbd, o);
  assert.equal(fine.engine.authenticated, true);
});

test("connect({ sock }) takes a Node net.Socket (or any stream.Duplex), as ssh2 users pass one", async () => {
  const { createConnection } = await import("node:net");
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: (p) => p.write("over a net.Socket\n"),
  });
  const sock = createConnection({ host: "127.0.0.1", port: s.address.port });
  await new Promise<void>((r, j) => sock.once("connect", () => r()).once("error", j));
  await using conn = await connect("127.0.0.1", {
    sock,
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
  });
  assert.equal((await conn.run("x")).stdout, "over a net.Socket\n");
});
