/**
 * FsBackend on Deno without write permission: a write is PERMISSION_DENIED, as the system's
 * EACCES is, not a bare FAILURE (Deno's refusal, NotCapable, has no errno code).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { currentRuntime } from "../runtime/env.ts";

const skip = currentRuntime() === "deno" ? undefined : "Deno only";

test("FsBackend on Deno without --allow-write answers writes with PERMISSION_DENIED", {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "sshts-deno-ro-"));
  try {
    const script = join(dir, "probe.ts");
    await writeFile(
      script,
      `import { FsBackend } from ${
        JSON.stringify(new URL("./fs_backend.ts", import.meta.url).href)
      };
import { OpenFlags } from ${
        JSON.stringify(new URL("../../sftp/constants.ts", import.meta.url).href)
      };
const b = new FsBackend({ root: ${JSON.stringify(dir)} });
const out: Record<string, unknown> = {};
for (const [what, f] of [
  ["open", () => b.open("/new.txt", OpenFlags.WRITE | OpenFlags.CREAT, {})],
  ["mkdir", () => b.mkdir("/d", {})],
] as const) {
  try {
    await f();
    out[what] = "ok";
  } catch (e) {
    out[what] = (e as { status?: number }).status;
  }
}
console.log(JSON.stringify(out));
`,
    );
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno;
    const r = spawnSync(
      deno.execPath(),
      ["run", "--quiet", "--no-prompt", "--allow-read", script],
      {
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "", HOME: dir },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), { open: 3, mkdir: 3 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
