/**
 * listen() and a client's `env` requests, as sshd's AcceptEnv: none are accepted unless
 * `acceptEnv` names them (a forced command under `restrict` gets no LD_PRELOAD or BASH_ENV
 * from the client); names that are empty or hold `=` or NUL and values with NUL are refused
 * whatever `acceptEnv` says; and a client never sets what authorized_keys `environment=` or
 * the server itself sets (SSH_ORIGINAL_COMMAND, SSH_AUTH_SOCK, DISPLAY, SSH_CONNECTION, ...).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeStringArg } from "../../core/connection/session_requests.ts";
import { SSHWriter } from "../../core/wire.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import { clientEnvRefusal, SERVER_SET_ENV, userEnvironmentPermitted } from "./session.ts";

const hostKey = generatePrivateKey("ed25519");
const user = generatePrivateKey("ed25519");

/**
 * Logs in with `user` on an authorized_keys line with `keyOptions`, sends each env request
 * (wanting a reply) then `start` (exec "run"), and returns the replies, the session's environment
 * and the server's log.
 */
async function envSession(
  keyOptions: string,
  requests: readonly (readonly [string, string])[],
  options: Partial<ListenOptions> = {},
  start: readonly ["exec" | "subsystem", string] = ["exec", "run"],
) {
  const log: string[] = [];
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys: `${keyOptions ? keyOptions + " " : ""}${user.exportPublicKey()}`,
    logger: { debug: (m) => log.push(m) },
    logLevel: "debug",
    processFactory: (p) => p.write(JSON.stringify(p.env)),
    ...options,
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [user],
  });
  const ch = await conn.openSession();
  const replies: boolean[] = [];
  for (const [name, value] of requests) {
    // Written by hand: encodeEnv() refuses NUL, which these tests send on purpose.
    replies.push(
      await ch.request(
        "env",
        new SSHWriter().writeStringUtf8(name).writeStringUtf8(value).toBytes(),
      ),
    );
  }
  assert.equal(await ch.request(start[0], encodeStringArg(start[1])), true);
  const out = await new Response(ch.readable(0)).text();
  return { replies, env: JSON.parse(out) as Record<string, string>, log };
}

test("listen() accepts no client env by default, as sshd: not even under restrict,command=", async () => {
  const hostile = [
    ["LD_PRELOAD", "/tmp/x.so"],
    ["BASH_ENV", "/tmp/x"],
    ["BASH_FUNC_tar%%", "() { id; }"],
    ["LANG", "C"],
  ] as const;
  for (const keyOptions of ["", 'restrict,command="backup.sh"']) {
    const r = await envSession(keyOptions, hostile);
    assert.deepEqual(r.replies, [false, false, false, false], keyOptions);
    const expected = keyOptions ? { SSH_ORIGINAL_COMMAND: "run" } : {};
    assert.deepEqual(r.env, expected, keyOptions);
    assert.ok(r.log.some((l) => l.includes('refused env "LD_PRELOAD": not in acceptEnv')));
  }
});

test("listen() acceptEnv lets the names it matches through, and only those", async () => {
  const r = await envSession(
    "",
    [["LANG", "C.UTF-8"], ["LC_ALL", "C"], ["LD_PRELOAD", "/tmp/x.so"], ["LC_X", "no"]],
    { acceptEnv: ["LANG", "LC_*", "!LC_X"] },
  );
  assert.deepEqual(r.replies, [true, true, false, false]);
  assert.deepEqual(r.env, { LANG: "C.UTF-8", LC_ALL: "C" });
});

test("listen() refuses env names that are empty or hold = or NUL, and values with NUL", async () => {
  const r = await envSession(
    "",
    [["MODE=rw", ""], ["", "x"], ["A\0B", "x"], ["NUL", "a\0b"], ["EQ", "a=b"]],
    { acceptEnv: ["*"] },
  );
  assert.deepEqual(r.replies, [false, false, false, false, true]);
  assert.deepEqual(r.env, { EQ: "a=b" });
  assert.ok(r.log.some((l) => l.includes('refused env "MODE=rw": not a variable name')));
});

test("listen(): a client's env never shadows environment= or what the server sets", async () => {
  // A name "MODE=rw" would come first in a child's environ and win getenv("MODE"): refused.
  const r = await envSession(
    'environment="MODE=readonly",command="printenv MODE"',
    [
      ["MODE=rw", ""],
      ["MODE", "rw"],
      ["SSH_ORIGINAL_COMMAND", "rm -rf /"],
      ["SSH_AUTH_SOCK", "/tmp/evil"],
      ["DISPLAY", ":66"],
      ["SSH_CONNECTION", "203.0.113.9 1 127.0.0.1 22"],
      ["PATH", "/tmp/evil"],
      ["OTHER", "ok"],
    ],
    { acceptEnv: ["*"], permitUserEnvironment: true },
  );
  assert.deepEqual(r.replies, [false, false, false, false, false, false, false, true]);
  assert.deepEqual(r.env, { OTHER: "ok", MODE: "readonly", SSH_ORIGINAL_COMMAND: "run" });
  assert.ok(
    r.log.some((l) => l.includes('refused env "MODE": set by the key\'s environment= option')),
  );
});

test("listen() applies environment= only as permitUserEnvironment allows, and never the server's own names", async () => {
  const options = 'environment="TZ=UTC",environment="LD_PRELOAD=/tmp/x.so",' +
    'environment="SSH_ORIGINAL_COMMAND=spoof",environment="SSH_CONNECTION=x"';
  // By default, as sshd's PermitUserEnvironment no: none of them.
  assert.deepEqual((await envSession(options, [])).env, {});
  assert.deepEqual(
    (await envSession(options, [], { permitUserEnvironment: ["TZ"] })).env,
    { TZ: "UTC" },
  );
  // Every name: still never what the server sets (a non-forced exec's SSH_ORIGINAL_COMMAND).
  assert.deepEqual(
    (await envSession(options, [], { permitUserEnvironment: true })).env,
    { TZ: "UTC", LD_PRELOAD: "/tmp/x.so" },
  );
  assert.equal(userEnvironmentPermitted("TZ", ["*", "!TZ"]), false);
  assert.equal(userEnvironmentPermitted("LANG", ["*", "!TZ"]), true);
});

test("clientEnvRefusal() says why a variable is refused", () => {
  assert.equal(clientEnvRefusal("LANG", "C", ["LANG"], []), undefined);
  assert.equal(clientEnvRefusal("LANG", "C", undefined, []), "not in acceptEnv");
  assert.equal(clientEnvRefusal("A=B", "", ["*"], []), "not a variable name");
  assert.equal(clientEnvRefusal("X", "a\0", ["*"], []), "the value holds NUL");
  assert.equal(
    clientEnvRefusal("X", "1", ["*"], [{ name: "X" }]),
    "set by the key's environment= option",
  );
  for (const name of SERVER_SET_ENV) {
    assert.equal(clientEnvRefusal(name, "1", ["*"], []), "set by the server", name);
  }
});

test("a forced command run for a subsystem request gets its name as SSH_ORIGINAL_COMMAND, as sshd", async () => {
  const r = await envSession('command="audit"', [], {}, ["subsystem", "sftp"]);
  assert.deepEqual(r.env, { SSH_ORIGINAL_COMMAND: "sftp" });
});

test("listen(): a variable named __proto__ is one like any other, counted against the 64 KiB cap", async () => {
  const value = "v".repeat(20 * 1024);
  const { replies, env } = await envSession(
    "",
    [["__proto__", "x"], ["V0", value], ["V1", value], ["V2", value], ["V3", value]],
    { acceptEnv: ["*"] },
  );
  // Counted against an object's prototype, its size was NaN and lifted the cap.
  assert.deepEqual(replies, [true, true, true, true, false]);
  assert.equal(Object.hasOwn(env, "__proto__"), true, "granted, so it is in the environment");
  assert.equal(env["__proto__"], "x");
  assert.deepEqual(Object.keys(env), ["__proto__", "V0", "V1", "V2"]);
});
