/**
 * connect({ proxyCommand }): the connection runs over a command's stdio (here `nc`, as in
 * ssh_config examples), in both forms: a shell command with ssh's %-tokens, an argument list
 * run without a shell. (The same against OpenSSH: conformance/ssh_config_connect_test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen } from "../server/listen.ts";
import { connect } from "./connect.ts";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const hostKey = generatePrivateKey("ed25519");

async function server() {
  const seen: string[] = [];
  const s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (user) => (seen.push(user), true),
    processFactory: (p) => {
      p.write(`${p.command}\n`);
      p.exit(0);
    },
  });
  return { s, seen };
}

const options = { password: "pw", knownHosts: null, agent: false, config: false } as const;

test("connect({ proxyCommand }) runs over a shell command with %h %p %r %% replaced", async () => {
  const { s, seen } = await server();
  await using _ = s;
  await using conn = await connect("127.0.0.1", {
    ...options,
    port: s.address.port,
    username: "carol",
    // %r and %% reach the shell as text: a comment keeps them out of nc's arguments.
    proxyCommand: "nc %h %p # %r 100%%",
  });
  assert.equal((await conn.run("hello", { check: true })).stdout, "hello\n");
  assert.deepEqual(seen, ["carol"]);
  // The server saw a TCP connection from nc on loopback, not from this process's socket.
  assert.equal(s.getConnections()[0]!.remoteAddress, "127.0.0.1");
});

test("connect({ proxyCommand: argv }) runs the command without a shell", async () => {
  const { s } = await server();
  await using _ = s;
  await using conn = await connect("ignored.invalid", {
    ...options,
    port: 1,
    username: "dave",
    proxyCommand: ["nc", "127.0.0.1", String(s.address.port)],
  });
  assert.equal((await conn.run("argv", { check: true })).stdout, "argv\n");
});

test("connect({ proxyCommand }) refuses an unknown token, and sock or tunnel beside it", async () => {
  await assert.rejects(
    connect("h", { ...options, proxyCommand: "nc %h %q" }),
    /Cannot expand "nc %h %q": unknown key %q/,
  );
  const { s } = await server();
  await using _ = s;
  await using jump = await connect("127.0.0.1", { ...options, port: s.address.port });
  await assert.rejects(
    connect("h", { ...options, proxyCommand: "nc %h %p", tunnel: jump }),
    /proxyCommand cannot be combined/,
  );
});

test("connect({ proxyCommand }) reports a command that cannot start", async () => {
  await assert.rejects(
    connect("h", { ...options, proxyCommand: ["/nonexistent/proxy-command"] }),
    /ProxyCommand failed to start|closed|ended/i,
  );
});

test("connect({ proxyCommand }) refuses a host or user a shell would interpret, before running it", async () => {
  const marker = join(tmpdir(), `sshts-proxy-injected-${process.pid}`);
  for (
    const [host, username] of [[`h$(touch ${marker})`, "u"], ["127.0.0.1", `u;touch ${marker}`]]
  ) {
    await assert.rejects(
      connect(host!, {
        ...options,
        port: 22,
        username: username!,
        proxyCommand: "nc %h %p # %r",
        connectTimeout: 5000,
      }),
      (e: Error & { code?: string }) =>
        e.code === "ERR_CONFIG_INVALID" && /a shell would/.test(e.message),
    );
  }
  await assert.rejects(stat(marker), { code: "ENOENT" }, "nothing ran");
});
