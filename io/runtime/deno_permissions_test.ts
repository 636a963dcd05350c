/**
 * connect() and listen() on Deno with only `--allow-net` and `--allow-read`: no sys access
 * (the user's uid, name and home directory) and no env access. Nothing prompts or throws
 * `NotCapable`: the local account comes from `$USER` and `$HOME` where those may be read,
 * and without either the default ssh_config is skipped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { currentRuntime } from "./env.ts";

const skip = currentRuntime() === "deno" ? undefined : "Deno only";
const PROBE = fileURLToPath(new URL("./_deno_permissions_probe_test_util.ts", import.meta.url));

/** Runs the probe under Deno with `flags` (never prompting), returning its JSON line. */
function probe(flags: string[], args: string[], env: Record<string, string>) {
  const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno;
  const r = spawnSync(
    deno.execPath(),
    ["run", "--quiet", "--no-prompt", ...flags, PROBE, ...args],
    {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", ...env },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test("Deno with --allow-net and --allow-read only: connect() with default options runs a command", {
  skip,
}, () => {
  const out = probe(["--allow-net=127.0.0.1", "--allow-read"], [], {
    HOME: "/nonexistent",
    USER: "nobody",
  });
  // No NotCapable: the default ssh_config is skipped (no user or home to find it by).
  assert.equal(out.run, "ran x\n");
  // The default known_hosts (~/.ssh/known_hosts) cannot be found: the key is refused.
  assert.equal((out.defaultKnownHosts as { code: string }).code, "ERR_HOST_KEY_NOT_VERIFIABLE");
  // No credentials: ~/.ssh/id_* cannot be found without a home, so there are no keys to try
  // (the server then refuses), not an error about the home directory.
  assert.equal((out.noCredentials as { code: string }).code, "ERR_PERMISSION_DENIED");
  // resolveSSHConfig() says what it needs instead of throwing NotCapable.
  const resolve = out.resolve as { error: string; code: string; message: string };
  assert.equal(resolve.code, "ERR_LOCAL_ACCOUNT");
  assert.match(resolve.message, /--allow-sys=uid,gid,userInfo,homedir or --allow-env=USER,HOME/);
});

test("Deno without sys access reads ~/.ssh/config from $HOME when env access allows it", {
  skip,
}, async () => {
  const home = await mkdtemp(join(tmpdir(), "deno-perm-"));
  try {
    await mkdir(join(home, ".ssh"));
    await writeFile(join(home, ".ssh", "config"), "Host alias\n  HostName 127.0.0.1\n");
    const out = probe(["--allow-net=127.0.0.1", "--allow-read", "--allow-env=HOME,USER"], [
      "alias",
    ], { HOME: home, USER: "tester" });
    assert.equal(out.run, "ran x\n");
    assert.equal(out.resolve, "10.0.0.5");
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test(
  "Deno with env access but some variables denied: a denied ${VAR} reads as unset, never NotCapable",
  {
    skip,
  },
  () => {
    const out = probe(
      ["--allow-net=127.0.0.1", "--allow-read", "--allow-sys", "--allow-env", "--deny-env=SECRET"],
      ["127.0.0.1", "Host db\n  HostName 10.0.0.5\n  IdentityAgent ${SECRET}\n"],
      { HOME: "/nonexistent", USER: "tester", SECRET: "/tmp/agent.sock" },
    );
    assert.equal(out.run, "ran x\n");
    // As an unset variable: ssh's "env var ${SECRET} has no value", not Deno's NotCapable.
    const resolve = out.resolve as { error: string; code: string; message: string };
    assert.equal(resolve.error, "SSHConfigError", JSON.stringify(resolve));
    assert.match(resolve.message, /SECRET/);
  },
);

test(
  "Deno without sys access to the network interfaces: Match localnetwork says which flag, never NotCapable",
  {
    skip,
  },
  () => {
    const out = probe(
      [
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-env",
        "--allow-sys=uid,gid,userInfo,homedir,hostname",
      ],
      ["127.0.0.1", "Match localnetwork 10.0.0.0/8\n  HostName x\nHost db\n  HostName 10.0.0.5\n"],
      { HOME: "/nonexistent", USER: "tester" },
    );
    assert.equal(out.run, "ran x\n");
    const resolve = out.resolve as { error: string; code: string; message: string };
    assert.equal(resolve.code, "ERR_LOCAL_ACCOUNT", JSON.stringify(resolve));
    assert.match(resolve.message, /--allow-sys=networkInterfaces/);
  },
);
