/**
 * `ssh_config` for the running process: {@link resolveSSHConfig} reads
 * `~/.ssh/config` and `/etc/ssh/ssh_config` (or the files given) with this
 * machine's files, environment, user, DNS and `Match exec`, and resolves
 * them with `config/` exactly as `ssh -G` would.
 *
 * @example
 * ```ts ignore
 * import { resolveSSHConfig } from "@sshts/ssh";
 * const c = await resolveSSHConfig("prod");
 * console.log(c.hostname, c.port, c.user, c.identityFiles);
 * ```
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { environment } from "../runtime/env.ts";
import {
  resolveSSHConfig as resolvePure,
  type ResolveSSHConfigOptions,
} from "../../config/resolve.ts";
import type { ResolvedSSHConfig } from "../../config/resolved.ts";
import { createSSHConfigSystem, localHostname, localUserInfo } from "./system.ts";

export { createSSHConfigSystem, localHostname, localUserInfo } from "./system.ts";
export type { SSHConfigSystemOptions } from "./system.ts";

/**
 * Resolves `host` against this machine's configuration. Every option of
 * `config/`'s resolver may be given; the local user, uid, home directory,
 * host name, environment and system default to the running process's.
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { resolveSSHConfig } from "@sshts/ssh";
 * const file = join(await mkdtemp(join(tmpdir(), "ssh-config-")), "config");
 * await writeFile(file, "Host db\n  HostName 10.0.0.5\n  Port 2200\n");
 * const c = await resolveSSHConfig("db", { files: [file] });
 * console.log(c.hostname, c.port); // "10.0.0.5" 2200
 * ```
 */
export async function resolveSSHConfig(
  host: string,
  options: ResolveSSHConfigOptions = {},
): Promise<ResolvedSSHConfig> {
  const me = localUserInfo();
  const env = options.env ?? environment();
  const localUser = options.localUser ?? me?.name ?? env.USER ?? env.LOGNAME;
  const homeDir = options.homeDir ?? me?.homeDir ?? env.HOME;
  if (localUser === undefined || homeDir === undefined) {
    throw new SSHError(
      "ERR_LOCAL_ACCOUNT",
      "resolveSSHConfig cannot read the local user and home directory: on Deno, run with " +
        "--allow-sys=uid,gid,userInfo,homedir or --allow-env=USER,HOME (and where $USER or " +
        "$LOGNAME and $HOME are unset, as in some containers, set them), or give localUser " +
        "and homeDir",
    );
  }
  return await resolvePure(host, {
    ...options,
    env,
    localUser,
    uid: options.uid ?? me?.uid,
    homeDir,
    localHostname: options.localHostname ?? localHostname(),
    system: options.system ?? (await createSSHConfigSystem({ env })),
  });
}

/**
 * Reads and resolves one configuration file (as `ssh -F file -G host`).
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readSSHConfig } from "@sshts/ssh";
 * const file = join(await mkdtemp(join(tmpdir(), "ssh-config-")), "config");
 * await writeFile(file, "Host web\n  User deploy\n");
 * const c = await readSSHConfig(file, "web");
 * console.log(c.user); // "deploy"
 * ```
 */
export function readSSHConfig(
  path: string,
  host: string,
  options: Omit<ResolveSSHConfigOptions, "files"> = {},
): Promise<ResolvedSSHConfig> {
  return resolveSSHConfig(host, { ...options, files: [path] });
}
