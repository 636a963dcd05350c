/**
 * Test helper: a test body run in a fresh temporary directory, removed after it.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A test function that runs `body` in a new directory named from `prefix`, then removes it. */
export function inTempDir(
  prefix: string,
  body: (dir: string) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
