/**
 * Call shapes from other libraries (ssh2's `connect({ host })`, node-ssh's
 * `exec(command, args)`, an argv array) are TypeErrors that say what to write instead,
 * before anything opens — not a command run without its arguments, nor a failure deep
 * inside naming neither.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "./connect.ts";
import { loopback } from "../server/_loopback_test_util.ts";

test("connect({ host, ... }), ssh2's shape, is a TypeError that shows connect(host, options)", async () => {
  await assert.rejects(
    connect({ host: "127.0.0.1", port: 22 } as unknown as string),
    (e: unknown) =>
      e instanceof TypeError &&
      /host must be a string; got Object.*connect\(host, \{ port, \.\.\. \}\)/.test(e.message),
  );
  await assert.rejects(
    connect(undefined as unknown as string),
    (e: unknown) =>
      e instanceof TypeError && /host must be a string; got undefined$/.test(e.message),
  );
});

test("connect() with ssh2's or node-ssh's name for an option (privateKey, readyTimeout, user) is a TypeError naming ours", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      /no option privateKey; it is clientKeys/,
    ],
    [{ privateKeyPath: "~/.ssh/id_ed25519" }, /no option privateKeyPath; it is clientKeys/],
    [{ readyTimeout: 5000 }, /no option readyTimeout; it is connectTimeout/],
    [{ user: "root" }, /no option user; it is username/],
  ];
  for (const [options, message] of cases) {
    // Refused before anything is sent (port 9: nothing listens there, nothing is tried).
    await assert.rejects(
      connect("127.0.0.1", { port: 9, config: false, ...options }),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
    );
  }
});

test("run()/createProcess() with an argv array, or arguments where the options go, are TypeErrors and open no session", async () => {
  let sessions = 0;
  await using t = await loopback({
    sessionRequested: () => {
      sessions++;
      return true;
    },
    processFactory: (p) => p.exit(0),
  });
  const calls: [string, () => Promise<unknown>, RegExp][] = [
    [
      "run argv",
      () => t.conn.run(["echo", "hi"] as unknown as string),
      /run\(command\): .*got Array/,
    ],
    [
      "run args",
      () => t.conn.run("echo", ["hello", "world"] as unknown as object),
      /run\(command, options\): options must be an object; got Array \(arguments go in the command string\)/,
    ],
    [
      "createProcess argv",
      () => t.conn.createProcess(["ls"] as unknown as string),
      /createProcess\(command\): the command is one string .*shellQuote/,
    ],
    [
      "createProcess number",
      () => t.conn.createProcess(42 as unknown as string),
      /createProcess\(command\): .*got number/,
    ],
    [
      "createProcess options string",
      () => t.conn.createProcess("ls", "-l" as unknown as object),
      /options must be an object; got string$/,
    ],
    [
      "subsystem not a string",
      () => t.conn.run({ subsystem: 1 } as unknown as string),
      /got Object/,
    ],
    [
      "term: true",
      () => t.conn.run("tty", { term: true as unknown as string }),
      /run\(command, \{ term \}\): term is a TERM name .*got boolean/,
    ],
    [
      "pty: true (ssh2's option)",
      () => t.conn.createProcess("tty", { pty: true } as object),
      /createProcess\(command, \{ pty \}\): no such option; .*term: "xterm"/,
    ],
  ];
  for (const [what, call, message] of calls) {
    await assert.rejects(
      call(),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
      what,
    );
  }
  assert.equal(sessions, 0, "no session was opened");
  // The shapes the API takes still run.
  assert.equal((await t.conn.run("true")).exitStatus, 0);
  assert.equal(sessions, 1);
});

test("run(cmd, { stdin: 'text' }), node-ssh's shape, says a string names a file and points to input", async () => {
  await using t = await loopback({ processFactory: (p) => p.exit(0) });
  await assert.rejects(t.conn.run("cat", { stdin: "hello there" }), (e: unknown) => {
    assert.equal((e as { code?: string }).code, "ENOENT");
    assert.match(
      (e as Error).message,
      /^Cannot redirect from "hello there": no such local file \(a string names a file to read; to send text, pass it as run\(\)'s input/,
    );
    return true;
  });
  // Text goes as input.
  assert.equal((await t.conn.run("cat", { input: "x" })).exitStatus, 0);
});

test("ProcessError's message ends with the last line the command wrote to stderr, escaped and cut", async () => {
  await using t = await loopback({
    processFactory: async (p) => {
      if (p.command === "quiet") return p.exit(2);
      if (p.command === "long") await p.writeStderr("x".repeat(500) + "\n");
      else await p.writeStderr("warming up\ncp: cannot stat 'a\x1b[2Jb': No such file\n\n");
      p.exit(1);
    },
  });
  const message = (cmd: string, o = {}) =>
    t.conn.run(cmd, { check: true, ...o }).then(() => "", (e: Error) => e.message);
  assert.equal(
    await message("cp"),
    `Process "cp" exited with status 1: cp: cannot stat 'a\\x1b[2Jb': No such file`,
  );
  assert.equal(
    await message("cp", { encoding: null }),
    `Process "cp" exited with status 1: cp: cannot stat 'a\\x1b[2Jb': No such file`,
  );
  assert.equal(await message("quiet"), `Process "quiet" exited with status 2`);
  assert.equal(await message("long"), `Process "long" exited with status 1: ${"x".repeat(200)}…`);
});
