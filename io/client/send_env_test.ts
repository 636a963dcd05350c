/**
 * sendEnv (AsyncSSH's send_env): this process's environment variables, by name or pattern,
 * sent with every session or one call's; `env` wins for a name in both.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { currentRuntime } from "../runtime/env.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { connect } from "./connect.ts";

test("sendEnv sends matching local variables; a call's list replaces the connection's; env wins", async () => {
  process.env.SSHTS_SENDENV_A = "a-local";
  process.env.SSHTS_SENDENV_B = "b-local";
  process.env.SSHTS_OTHER = "other";
  try {
    await using lb = await loopback({
      acceptEnv: ["SSHTS_*"],
      processFactory: (p) =>
        p.write(
          Object.entries(p.env).filter(([k]) => k.startsWith("SSHTS_")).sort()
            .map(([k, v]) => `${k}=${v}`).join(" ") + "\n",
        ),
    });
    await using conn = await connect("127.0.0.1", {
      port: lb.server.address.port,
      username: "u",
      password: "p",
      knownHosts: null,
      config: false,
      sendEnv: ["SSHTS_SENDENV_?"],
      env: { SSHTS_SENDENV_B: "b-env" },
    });
    assert.equal((await conn.run("x")).stdout, "SSHTS_SENDENV_A=a-local SSHTS_SENDENV_B=b-env\n");
    assert.equal(
      (await conn.run("x", { sendEnv: ["SSHTS_OTHER"] })).stdout,
      "SSHTS_OTHER=other SSHTS_SENDENV_B=b-env\n",
    );
    assert.equal(
      (await conn.run("x", { sendEnv: ["SSHTS_S*_A"], env: { SSHTS_SENDENV_A: "call" } })).stdout,
      "SSHTS_SENDENV_A=call SSHTS_SENDENV_B=b-env\n",
    );
    // A lone string is a mistake, not a list of its letters.
    await assert.rejects(conn.run("x", { sendEnv: "SSHTS_*" as unknown as string[] }), TypeError);
  } finally {
    delete process.env.SSHTS_SENDENV_A;
    delete process.env.SSHTS_SENDENV_B;
    delete process.env.SSHTS_OTHER;
  }
});

test("sendEnv replaces ssh_config's SendEnv; SetEnv still goes", async () => {
  process.env.SSHTS_SENDENV_A = "a-local";
  process.env.SSHTS_OTHER = "other";
  const dir = await mkdtemp(join(tmpdir(), "sshts-sendenv-"));
  try {
    const config = join(dir, "config");
    await writeFile(config, "Host *\n  SendEnv SSHTS_OTHER\n  SetEnv SSHTS_SET=yes\n");
    await using lb = await loopback({
      acceptEnv: ["SSHTS_*"],
      processFactory: (p) =>
        p.write(
          Object.entries(p.env).filter(([k]) => k.startsWith("SSHTS_")).sort()
            .map(([k, v]) => `${k}=${v}`).join(" ") + "\n",
        ),
    });
    const base = {
      port: lb.server.address.port,
      username: "u",
      password: "p",
      knownHosts: null,
      config,
    };
    {
      await using conn = await connect("127.0.0.1", base);
      assert.equal((await conn.run("x")).stdout, "SSHTS_OTHER=other SSHTS_SET=yes\n");
    }
    await using conn = await connect("127.0.0.1", { ...base, sendEnv: ["SSHTS_SENDENV_A"] });
    assert.equal((await conn.run("x")).stdout, "SSHTS_SENDENV_A=a-local SSHTS_SET=yes\n");
  } finally {
    delete process.env.SSHTS_SENDENV_A;
    delete process.env.SSHTS_OTHER;
    await rm(dir, { recursive: true, force: true });
  }
});

test("sendEnv of a plain name works on Deno with --allow-env for that variable only", {
  skip: currentRuntime() === "deno" ? undefined : "Deno only",
}, async () => {
  await using lb = await loopback({
    acceptEnv: ["SSHTS_*"],
    processFactory: (p) => p.write(`${p.env.SSHTS_ONE ?? "(none)"}\n`),
  });
  const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
  const probe = fileURLToPath(new URL("./_send_env_probe_test_util.ts", import.meta.url));
  const child = spawn(deno, [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-env=SSHTS_ONE",
    probe,
    String(lb.server.address.port),
  ], {
    env: { PATH: process.env.PATH ?? "", SSHTS_ONE: "one" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  assert.equal(await new Promise((r) => child.on("close", r)), 0, err);
  // Listing the environment for a pattern needs all of --allow-env; a plain name does not.
  assert.deepEqual(JSON.parse(out.trim().split("\n").at(-1)!), { out: "one\n" });
});
