/**
 * readTrustFile() opens a file that decides who logs in as sshd's auth_openfile does:
 * without blocking, regular files only, and no larger than a limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTrustFile } from "./trust_file.ts";
import { NO_FIFOS } from "./_trust_file_test_util.ts";

/** A fresh directory for `body`, removed afterwards. */
async function inDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "trust-file-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const notRegular = (e: Error & { code?: string }) =>
  e.code === "ERR_KEY_IMPORT" && /not a regular file/.test(e.message);

test("readTrustFile() reads a regular file up to its limit", async () => {
  await inDir(async (dir) => {
    const path = join(dir, "f");
    writeFileSync(path, "ops\nrelease\n");
    assert.equal(
      new TextDecoder().decode(await readTrustFile(path, { maxBytes: 12 })),
      "ops\nrelease\n",
    );
    writeFileSync(path, "");
    assert.equal((await readTrustFile(path, { maxBytes: 0 })).length, 0);
    // A larger one is refused, whatever its contents.
    writeFileSync(path, "x".repeat(13));
    await assert.rejects(
      readTrustFile(path, { maxBytes: 12 }),
      (e: Error & { code?: string }) =>
        e.code === "ERR_KEY_IMPORT" && /larger than 12/.test(e.message),
    );
    // A missing file keeps its code, for callers that treat it as empty.
    await assert.rejects(readTrustFile(join(dir, "none"), { maxBytes: 12 }), { code: "ENOENT" });
    // A directory is not a file.
    await assert.rejects(readTrustFile(dir, { maxBytes: 12 }), notRegular);
  });
});

test(
  "readTrustFile() refuses a FIFO at once instead of waiting for a writer",
  { skip: NO_FIFOS },
  async () => {
    await inDir(async (dir) => {
      const fifo = join(dir, "fifo");
      execFileSync("mkfifo", [fifo]);
      // More attempts than Node's file thread pool has threads: none may park one.
      const started = Date.now();
      const all = await Promise.allSettled(
        Array.from({ length: 8 }, () => readTrustFile(fifo, { maxBytes: 1024 })),
      );
      for (const r of all) {
        assert.equal(r.status, "rejected");
        assert.ok(notRegular(r.reason), String(r.reason));
      }
      assert.ok(Date.now() - started < 5_000);
    });
  },
);

test("readTrustFile() refuses a link to /dev/zero", { skip: NO_FIFOS }, async () => {
  await inDir(async (dir) => {
    const link = join(dir, "zero");
    symlinkSync("/dev/zero", link);
    await assert.rejects(readTrustFile(link, { maxBytes: 1024 }), notRegular);
  });
});
