/**
 * The subjects one benchmark run measures, in table order: OpenSSH's own client, the `ssh2`
 * package on every runtime, and this library on Node, Deno and Bun. To measure another client,
 * add a {@link Subject} here (a worker script plus {@link workerSubject} is the usual way).
 *
 * @module
 */

import { opensshClientVersion, opensshSubject } from "./openssh_subject.ts";
import { selected } from "./options.ts";
import type { Runtime } from "./runtimes.ts";
import type { Subject } from "./types.ts";
import { workerSubject } from "./worker_subject.ts";

/** Subjects to run, and those that cannot run here with the reason. */
export interface SubjectPlan {
  readonly subjects: Subject[];
  readonly unavailable: { readonly name: string; readonly reason: string }[];
}

/** Runtimes the `ssh2` worker runs on (all of them: it is plain CommonJS). */
const SSH2_RUNTIMES = ["node", "node20", "node22", "deno", "bun"];

/** Runtimes this library's worker runs on (TypeScript: Node 22.18+, Deno, Bun). */
const SSHTS_RUNTIMES = ["node", "deno", "bun"];

/**
 * Builds the subject list for the runtimes found, keeping those `only` selects.
 *
 * @example
 * ```ts ignore
 * const { subjects } = planSubjects(detectRuntimes().runtimes, []);
 * ```
 */
export function planSubjects(
  runtimes: readonly Runtime[],
  only: readonly string[],
  profileDir?: string,
): SubjectPlan {
  const subjects: Subject[] = [];
  const unavailable: { name: string; reason: string }[] = [];
  if (selected(only, "openssh", "native")) {
    const version = opensshClientVersion();
    if (version === undefined) {
      unavailable.push({ name: "openssh", reason: "no `ssh` client on PATH" });
    } else subjects.push(opensshSubject(version));
  }
  for (const runtime of runtimes) {
    if (SSH2_RUNTIMES.includes(runtime.id) && selected(only, "ssh2", runtime.id)) {
      subjects.push(
        workerSubject({
          name: "ssh2",
          script: "bench/e2e/ssh2_worker.cjs",
          runtime,
          canDisableNoDelay: true,
          profileDir,
        }),
      );
    }
  }
  for (const runtime of runtimes) {
    if (SSHTS_RUNTIMES.includes(runtime.id) && selected(only, "sshts", runtime.id)) {
      subjects.push(
        workerSubject({
          name: "sshts",
          script: "bench/e2e/sshts_worker.ts",
          runtime,
          canDisableNoDelay: false,
          profileDir,
        }),
      );
    }
  }
  return { subjects, unavailable };
}
