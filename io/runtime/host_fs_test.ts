import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { hostPath, hostPathLib } from "./host_fs.ts";

const DENO = (globalThis as { Deno?: unknown }).Deno !== undefined;

test("hostPathLib keeps escaped bytes, also where the working directory holds %xx", () => {
  const base = mkdtempSync(`${tmpdir()}/sshts-hostpath-`);
  const here = process.cwd();
  try {
    // Paths are built with "/" here: Bun's node:path is what is under test.
    for (const dir of ["work%e9", "work%25x", "work%"]) {
      mkdirSync(`${base}/${dir}`);
      process.chdir(`${base}/${dir}`);
      const real = process.cwd();
      assert.equal(hostPathLib.resolve("caf\uDCE9"), `${real}/caf\uDCE9`, dir);
      assert.equal(hostPathLib.join(real, "caf\uDCE9"), `${real}/caf\uDCE9`, dir);
      assert.equal(hostPathLib.relative(real, `${real}/a/caf\uDCE9`), "a/caf\uDCE9", dir);
      assert.equal(hostPathLib.relative(`${real}/x`, "caf\uDCE9"), "../caf\uDCE9", dir);
      assert.equal(hostPathLib.basename(`${real}/caf\uDCE9%e9`), "caf\uDCE9%e9", dir);
      assert.equal(hostPathLib.dirname(`${real}/caf\uDCE9`), real, dir);
    }
  } finally {
    process.chdir(here);
    rmSync(base, { recursive: true, force: true });
  }
});

test("hostPath() hands node:fs the bytes, or refuses where the runtime cannot name them", () => {
  if (DENO) {
    assert.throws(() => hostPath("/tmp/caf\uDCE9"), { code: "EILSEQ" });
    // Deno lists a name that is not UTF-8 with U+FFFD: such a path may be another file's.
    assert.throws(() => hostPath("/tmp/caf\uFFFD"), /U\+FFFD/);
  } else {
    assert.deepEqual([...(hostPath("/caf\uDCE9") as Uint8Array)], [0x2f, 0x63, 0x61, 0x66, 0xe9]);
    assert.equal(hostPath("/caf\uFFFD"), "/caf\uFFFD");
  }
  assert.equal(hostPath("/plain/ünïcödé"), "/plain/ünïcödé");
});
