/**
 * Helpers shared by the agent tests.
 *
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `fn` with a new temporary directory for sockets, removed afterwards.
 *
 * @example
 * ```ts
 * import { join } from "node:path";
 * import { withSocketDir } from "./_test_util.ts";
 * await withSocketDir(async (dir) => console.log(join(dir, "agent.sock")));
 * ```
 */
export async function withSocketDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sshts-agent-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
