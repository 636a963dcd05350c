/**
 * listen({ processRequested }): the application refuses or allows each shell, exec and
 * subsystem request of a session (AsyncSSH's shell_requested / exec_requested /
 * subsystem_requested), seeing what was asked with the session's pty and environment.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import type { ProcessRequest } from "./options.ts";
import { listen } from "./listen.ts";

test("processRequested refuses one request at a time; the session stays usable", async () => {
  const asked: ProcessRequest[] = [];
  await using server = await listen({
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePassword: () => true,
    acceptEnv: ["LANG"],
    processRequested: async (request, conn) => {
      asked.push(request);
      await new Promise((r) => setTimeout(r, 5)); // the decision may take time
      assert.equal(conn.username, "u");
      return request.type === "exec" ? !request.command!.startsWith("rm ") : true;
    },
    processFactory: async (p) => {
      await p.write(`ran ${p.command ?? p.subsystem ?? "shell"}\n`);
      p.exit(0);
    },
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "pw",
    knownHosts: null,
    agent: false,
    config: false,
  });
  assert.equal((await conn.run("echo hi", { check: true })).stdout, "ran echo hi\n");
  await assert.rejects(conn.run("rm -rf /"), /refused|rejected|failed/i);
  // A refused request leaves the channel open: the same session may ask again.
  const ch = await conn.openSession();
  const { encodeStringArg } = await import("../../core/connection/session_requests.ts");
  assert.equal(await ch.request("exec", encodeStringArg("rm x")), false);
  assert.equal(await ch.request("exec", encodeStringArg("ls")), true);
  assert.equal(
    new TextDecoder().decode((await ch.readable(0).getReader().read()).value),
    "ran ls\n",
  );
  const p = await conn.createProcess("echo", { term: "vt220", env: { LANG: "C" } });
  await p.wait();
  assert.deepEqual(asked.at(-1), {
    type: "exec",
    command: "echo",
    term: "vt220",
    env: { LANG: "C" },
  });
  const sub = await conn.createProcess({ subsystem: "demo" });
  await sub.wait();
  assert.deepEqual(asked.at(-1), { type: "subsystem", subsystem: "demo", env: {} });
  assert.deepEqual(asked.map((a) => a.type), ["exec", "exec", "exec", "exec", "exec", "subsystem"]);
});

test("a process that exits after its channel closed does not take the server down", async () => {
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => void rejections.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    let exited!: () => void;
    const done = new Promise<void>((r) => (exited = r));
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [generatePrivateKey("ed25519")],
      authFailureDelay: 0,
      validatePassword: () => true,
      processFactory: async (p) => {
        await p.write("bye\n");
        // The handler ends the channel itself and returns: the server still reports a
        // status for it (moot, and harmless).
        p.channel.close();
        setTimeout(exited, 100);
      },
    });
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      password: "pw",
      knownHosts: null,
      clientKeys: [],
      config: false,
    });
    await conn.run("x", { check: false }).catch(() => {});
    await done;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rejections, []);
    assert.equal(
      (await conn.run("again", { check: false }).catch((e) => e)) instanceof Error,
      false,
    );
  } finally {
    process.off("unhandledRejection", onRejection);
  }
});
