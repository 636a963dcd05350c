/**
 * The real outside world for `config/`: files and directories through
 * `node:fs`, DNS through `node:dns`, interfaces through `node:os`, `Match exec`
 * through `node:child_process`, service names from `/etc/services` and home
 * directories from `/etc/passwd`. Deno, Node and Bun all provide these modules.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { lookup } from "node:dns/promises";
import { readdir, readFile, stat } from "node:fs/promises";
import { readTrustFile } from "../keys/trust_file.ts";
import { FileCache } from "../runtime/file_cache.ts";
import { MAX_CONFIG_FILE_BYTES } from "../../config/_parse.ts";
import {
  environment,
  type LocalAccount,
  localAccount,
  localHostname as hostName,
  localNetworkInterfaces,
} from "../runtime/env.ts";
import type { SSHConfigLookupResult, SSHConfigSystem } from "../../config/types.ts";

/** Longest a `Match exec` command may run before it counts as failed (OpenSSH waits forever). */
export const DEFAULT_MATCH_EXEC_TIMEOUT_MS = 60_000;

/** Options of {@link createSSHConfigSystem}. */
export interface SSHConfigSystemOptions {
  /** Environment for `Match exec` commands (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Gives up on a `Match exec` command after this many ms (default 60 s). */
  readonly execTimeout?: number | undefined;
  /** Where service names come from (default `/etc/services`). */
  readonly servicesFile?: string | undefined;
  /** Where other users' home directories come from (default `/etc/passwd`). */
  readonly passwdFile?: string | undefined;
}

function errno(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** /etc/services: TCP service name (and aliases) to port. */
function parseServices(text: string | undefined): Map<string, number> {
  const map = new Map<string, number>();
  for (const raw of (text ?? "").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(portProto ?? "");
    if (!name || !m) continue;
    for (const n of [name, ...aliases]) if (!map.has(n)) map.set(n, Number(m[1]));
  }
  return map;
}

/** /etc/passwd: user name to home directory. */
function parsePasswd(text: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && f[0] && !map.has(f[0])) map.set(f[0], f[5]!);
  }
  return map;
}

/**
 * The system `config/` resolves against, backed by this machine.
 *
 * @example
 * ```ts
 * import { resolveSSHConfig } from "@sshts/ssh";
 * import { createSSHConfigSystem } from "./system.ts";
 * const system = await createSSHConfigSystem();
 * const c = await resolveSSHConfig("web", {
 *   system,
 *   homeDir: "/home/me",
 *   localUser: "me",
 *   text: "Host web\n  Port 2222\n",
 * });
 * console.log(c.port); // 2222
 * ```
 */
export async function createSSHConfigSystem(
  options: SSHConfigSystemOptions = {},
): Promise<SSHConfigSystem> {
  const [servicesText, passwdText] = await Promise.all([
    readOptional(options.servicesFile ?? "/etc/services"),
    readOptional(options.passwdFile ?? "/etc/passwd"),
  ]);
  const services = parseServices(servicesText);
  const passwd = parsePasswd(passwdText);
  const env = options.env ?? environment();
  const timeout = options.execTimeout ?? DEFAULT_MATCH_EXEC_TIMEOUT_MS;
  // As the trust files: a FIFO (which would wait for a writer), a device (/dev/zero never
  // ends) or a file over the parser's limit is refused before it is read. Kept while
  // unchanged: connect() resolves the configuration again for every connection.
  const files = new FileCache((path) => readTrustFile(path, { maxBytes: MAX_CONFIG_FILE_BYTES }));
  return {
    async readFile(path) {
      try {
        return await files.read(path);
      } catch (e) {
        const code = errno(e);
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        // A directory reads as an empty file (OpenSSH's fgets on one reads nothing).
        if (code === "EISDIR" || (await stat(path).catch(() => undefined))?.isDirectory()) {
          return "";
        }
        throw e;
      }
    },
    async readDir(path) {
      try {
        return await readdir(path);
      } catch {
        return undefined;
      }
    },
    async stat(path) {
      try {
        const s = await stat(path);
        return { uid: Number(s.uid), mode: Number(s.mode) & 0o7777 };
      } catch {
        return undefined;
      }
    },
    exec(command) {
      const shell = env.SHELL || "/bin/sh";
      return new Promise<number>((resolve) => {
        const child = spawn(shell, ["-c", command], {
          stdio: ["ignore", "ignore", "inherit"],
          env: env as Record<string, string>,
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
        child.on("error", () => {
          clearTimeout(timer);
          resolve(127);
        });
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          resolve(signal !== null || code === null ? -1 : code);
        });
      });
    },
    async lookupHost(name, family): Promise<SSHConfigLookupResult | undefined> {
      try {
        const r = await lookup(name, {
          all: true,
          family: family === "inet" ? 4 : family === "inet6" ? 6 : 0,
        });
        return r.length > 0 ? {} : undefined;
      } catch {
        return undefined;
      }
    },
    localAddresses() {
      const out: string[] = [];
      for (const [name, list] of Object.entries(localNetworkInterfaces())) {
        for (const a of list ?? []) {
          // getnameinfo() names scoped (link-local) IPv6 addresses with their interface.
          const scoped = a.family === "IPv6" && "scopeid" in a && a.scopeid !== 0;
          out.push(scoped ? `${a.address}%${name}` : a.address);
        }
      }
      return Promise.resolve(out);
    },
    servicePort: (name) => services.get(name),
    userHome: (user) => passwd.get(user),
  };
}

/**
 * The local user: name and uid as `ssh` sees them (getpwuid), and the home directory
 * `connect()` uses — `$HOME` where set (as Node's `os.homedir()` and AsyncSSH), else the
 * account's, where `ssh` always takes the account's; on Deno without sys access, `$USER`
 * and `$HOME` where they may be read, else undefined. A process that keeps a caller's
 * `$HOME` while running as someone else (`sudo -E`) reads that caller's `~/.ssh/config`,
 * ProxyCommand included: give `config` (or `config: false`) there.
 *
 * @example
 * ```ts
 * import { localUserInfo } from "./system.ts";
 * console.log(localUserInfo()?.name.length); // the user name's length
 * ```
 */
export function localUserInfo(): LocalAccount | undefined {
  return localAccount();
}

/**
 * gethostname().
 *
 * @example
 * ```ts
 * import { localHostname } from "./system.ts";
 * console.log(localHostname().length > 0); // true
 * ```
 */
export function localHostname(): string {
  return hostName();
}
