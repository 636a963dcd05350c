/**
 * Deno in a terminal, with read access to the files it needs and no more: looking for what
 * may not be there (a certificate beside a key, whether a download's target is a directory)
 * prompts no one, as the README promises, and a put of a file it may not read says so.
 * Run under `script`, whose pseudo-terminal makes Deno prompt where it would prompt a user.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { generatePrivateKey } from "../../keys/generate.ts";
import { currentRuntime } from "./env.ts";

const skip = currentRuntime() === "deno" ? undefined : "Deno only";
const PROBE = fileURLToPath(new URL("./_deno_optional_reads_probe_test_util.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("Deno in a terminal prompts for no file it only looks for", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "deno-reads-"));
  try {
    const key = join(dir, "id_ed25519");
    await writeFile(key, generatePrivateKey("ed25519").exportPrivateKey("openssh"), {
      mode: 0o600,
    });
    const target = join(dir, "got.txt");
    const secret = join(dir, "secret.txt");
    await writeFile(secret, "not for this process\n");
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
    const command = [
      deno,
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      `--allow-read=${ROOT},${key}`,
      `--allow-write=${target}`,
      PROBE,
      key,
      target,
      secret,
    ].map((a) => `'${a}'`).join(" ");
    // A prompt is answered "n" (stdin is the terminal's); any prompt at all fails the test.
    const r = spawnSync("script", ["-qec", command, "/dev/null"], {
      encoding: "utf8",
      input: "n\n".repeat(10),
      timeout: 30_000, // a prompt waits for an answer Deno does not take from piped input
      env: { PATH: process.env.PATH ?? "", HOME: dir, TERM: "dumb" },
    });
    assert.doesNotMatch(r.stdout, /requests read access/, r.stdout);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.equal(out.connected, true);
    assert.equal(out.got, true);
    assert.equal(await readFile(target, "utf8"), "from the server\n");
    assert.equal(out.put.code, "ERR_SFTP");
    assert.match(out.put.message, /No read access \(Deno: --allow-read\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
