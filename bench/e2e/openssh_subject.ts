/**
 * The machine's own OpenSSH client as a subject: each run is one `ssh` process. Uploads pipe
 * `head -c N /dev/zero` into `ssh … 'cat > /dev/null'`; downloads run
 * `ssh … 'head -c N /dev/zero'` with standard output on /dev/null. Both remote commands first
 * print a start marker on standard error ({@link remoteCommand}); a run's time is from that
 * marker's arrival to the `ssh` process's exit, which leaves out starting `ssh`, the handshake
 * and the server's session set-up, as the workers' timing does.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { type ChildResult, firstLine, runChild } from "./spawn.ts";
import {
  type BulkOutcome,
  type BulkSpec,
  type CipherSetting,
  type HandshakeOutcome,
  type HandshakeSpec,
  remoteCommand,
  START_MARKER,
  type Subject,
  type Target,
} from "./types.ts";

/** `ssh` options that make it log in to `target` non-interactively, ignoring all config. */
function sshArgs(target: Target, setting: CipherSetting | undefined): string[] {
  const args = [
    "-F",
    "/dev/null",
    "-p",
    String(target.port),
    "-l",
    target.user,
    "-i",
    target.keyPath,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${target.knownHostsPath}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "ConnectTimeout=10",
  ];
  if (setting !== undefined) {
    args.push("-o", `Ciphers=${setting.cipher}`);
    if (setting.mac !== undefined) args.push("-o", `MACs=${setting.mac}`);
  }
  if (target.kex !== undefined) args.push("-o", `KexAlgorithms=${target.kex.join(",")}`);
  args.push(target.host);
  return args;
}

/**
 * The `ssh` client's version, e.g. `OpenSSH_9.2p1`, or `undefined` when there is none.
 *
 * @example
 * ```ts ignore
 * console.log(opensshClientVersion()); // "OpenSSH_9.2p1"
 * ```
 */
export function opensshClientVersion(ssh = "ssh"): string | undefined {
  const r = spawnSync(ssh, ["-V"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return undefined;
  return /OpenSSH_[^\s,]+/.exec(`${r.stderr}${r.stdout}`)?.[0];
}

function check(r: ChildResult, what: string): void {
  if (r.timedOut) throw new Error(`${what} timed out and was killed`);
  if (r.status !== 0) {
    const why = firstLine(r.stderr) || `exited with ${r.signal ?? `status ${r.status}`}`;
    throw new Error(`${what} failed: ${why}`);
  }
}

/**
 * The OpenSSH client subject.
 *
 * @example
 * ```ts ignore
 * const subject = opensshSubject("OpenSSH_9.2p1");
 * const { runsMs } = await subject.bulk(spec);
 * ```
 */
export function opensshSubject(version: string, ssh = "ssh"): Subject {
  return {
    name: "openssh",
    runtime: "native",
    runtimeLabel: version,
    canDisableNoDelay: false,
    async bulk(spec: BulkSpec): Promise<BulkOutcome> {
      const deadline = performance.now() + spec.timeoutMs;
      const left = () => Math.max(1, deadline - performance.now());
      const args = [
        ...sshArgs(spec.target, spec.setting),
        remoteCommand(spec.direction, spec.bytes),
      ];
      // `ssh` runs under a shell of its own whose `times` reports its children's (only ssh's)
      // user and system CPU on standard error once ssh has exited.
      const timed = ["sh", "-c", '"$@"; s=$?; times >&2; exit $s', "sh", ssh, ...args];
      const argv = spec.direction === "upload"
        // `$0` is the byte count and `$@` the ssh command line: nothing is quoted by hand.
        ? ["sh", "-c", 'head -c "$0" /dev/zero | exec "$@"', String(spec.bytes), ...timed]
        : timed;
      const runsMs: number[] = [];
      const wallMs: number[] = [];
      const cpuMs: number[] = [];
      for (let i = 0; i < spec.runs; i++) {
        const r = await runChild(argv, {
          timeoutMs: left(),
          stdout: "ignore",
          marker: START_MARKER,
        });
        check(r, `ssh … '${remoteCommand(spec.direction, spec.bytes)}'`);
        if (r.markerMs === undefined) throw new Error("ssh exited without the start marker");
        runsMs.push(r.wallMs - r.markerMs);
        wallMs.push(Math.round(r.wallMs * 1000) / 1000);
        const cpu = childCpuMs(r.stderr);
        if (cpu !== undefined) cpuMs.push(cpu);
      }
      return {
        runsMs,
        info: { processWallMs: wallMs, ...(cpuMs.length === spec.runs ? { cpuMs } : {}) },
      };
    },
    async handshakes(spec: HandshakeSpec): Promise<HandshakeOutcome> {
      const deadline = performance.now() + spec.timeoutMs;
      const argv = [ssh, ...sshArgs(spec.target, undefined), "true"];
      const roundsMs: number[] = [];
      for (let i = 0; i < spec.warmup + spec.rounds; i++) {
        const timeoutMs = Math.max(1, deadline - performance.now());
        const r = await runChild(argv, { timeoutMs, stdout: "ignore" });
        check(r, "ssh … true");
        if (i >= spec.warmup) roundsMs.push(r.wallMs);
      }
      return { roundsMs };
    },
  };
}

/** The children's user+sys ms from the last line of `times` output ("0m1.230s 0m0.450s"). */
function childCpuMs(stderr: string): number | undefined {
  const lines = stderr.trim().split("\n");
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1]?.trim() ?? "");
  if (!m) return undefined;
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}
