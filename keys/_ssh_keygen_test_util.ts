/**
 * Test helper (not part of the library): runs the real `ssh-keygen` for interop
 * tests, in a private temporary directory. Uses node: APIs, so only tests import it.
 *
 * A test registered with {@link keygenTest} is skipped with one line when
 * ssh-keygen is missing, unless `SSH_CONFORMANCE=required`, which makes it fail.
 *
 * @module
 */

import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** Where ssh-keygen is expected (override with SSH_KEYGEN). */
export const SSH_KEYGEN: string = process.env.SSH_KEYGEN ?? "/usr/bin/ssh-keygen";

/** Result of one ssh-keygen run. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A scratch directory with helpers to run ssh-keygen in it. */
export interface KeygenDir {
  readonly dir: string;
  /** Path of a file in the directory. */
  path(name: string): string;
  /** Writes a file (mode 0600, as ssh-keygen insists on for private keys). */
  write(name: string, data: string | Uint8Array): string;
  /** Reads a file as text. */
  read(name: string): string;
  /** Runs ssh-keygen with `args`; throws with its stderr when it fails. */
  run(args: string[]): string;
  /** Runs ssh-keygen and returns the result whatever the status. */
  tryRun(args: string[]): RunResult;
  /** The `SHA256:...` fingerprint ssh-keygen -l prints for a key file. */
  fingerprint(name: string, hash?: "sha256" | "md5"): string;
}

let announced = false;

/**
 * Registers a test that needs ssh-keygen: it gets a fresh directory, removed afterwards.
 */
export function keygenTest(name: string, fn: (k: KeygenDir) => void | Promise<void>): void {
  if (!existsSync(SSH_KEYGEN)) {
    const reason = `ssh-keygen interop: ${
      process.env.SSH_CONFORMANCE === "required" ? "required but unavailable" : "skipped"
    } — ${SSH_KEYGEN} not found; install openssh-client (set SSH_CONFORMANCE=required to make this fail)`;
    if (process.env.SSH_CONFORMANCE === "required") {
      test(name, () => {
        throw new Error(reason);
      });
      return;
    }
    if (!announced) {
      announced = true;
      console.error(reason);
    }
    test(name, { skip: reason }, () => {});
    return;
  }
  test(name, async () => {
    const dir = mkdtempSync(join(tmpdir(), "sshts-keys-"));
    try {
      await fn(makeDir(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function makeDir(dir: string): KeygenDir {
  const tryRun = (args: string[]): RunResult => {
    const r = spawnSync(SSH_KEYGEN, args, { cwd: dir, encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const run = (args: string[]): string => {
    const r = tryRun(args);
    if (r.status !== 0) {
      throw new Error(`ssh-keygen ${args.join(" ")} failed (${r.status}): ${r.stderr.trim()}`);
    }
    return r.stdout;
  };
  return {
    dir,
    path: (name) => join(dir, name),
    write: (name, data) => {
      const p = join(dir, name);
      writeFileSync(p, data, { mode: 0o600 });
      return p;
    },
    read: (name) => readFileSync(join(dir, name), "utf8"),
    run,
    tryRun,
    fingerprint: (name, hash = "sha256") => {
      const out = run(["-l", "-E", hash, "-f", join(dir, name)]);
      const m = /^\d+ ((?:SHA256|MD5):\S+)/.exec(out);
      if (!m) throw new Error(`Unexpected ssh-keygen -l output: ${out}`);
      return m[1]!;
    },
  };
}
