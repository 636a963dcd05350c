/**
 * Every read of the host environment `io/` makes, in one place: environment
 * variables, the home directory, the local user name, the running runtime, the
 * clock and the time zone. Nothing else in `io/` looks at `process.env`,
 * `os.homedir()` or the runtime's globals.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { homedir, hostname, networkInterfaces, userInfo } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { SSHError } from "../../core/errors.ts";

/** The JavaScript runtimes this library runs on. */
export type Runtime = "node" | "deno" | "bun";

/**
 * The runtime this code runs on (Deno and Bun are recognised by their globals).
 *
 * @example
 * ```ts
 * import { currentRuntime } from "./env.ts";
 * console.log(currentRuntime()); // "deno", "node" or "bun"
 * ```
 */
export function currentRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/**
 * An environment variable, or undefined (also where the runtime has no `process`, and
 * on Deno where reading it is not allowed: never a permission prompt).
 *
 * @example
 * ```ts
 * import { envVar } from "./env.ts";
 * console.log(envVar("HOME") !== undefined);
 * ```
 */
export function envVar(name: string): string | undefined {
  if (!envReadable(name)) return undefined;
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.[name];
}

/** The part of Deno's permission API {@link granted} asks (declared for every runtime). */
interface DenoPermissions {
  querySync?(d: PermissionQuery): { state: string; partial?: boolean };
}

/** The queries {@link granted} makes of Deno's permission API. */
type PermissionQuery =
  | { name: "env"; variable?: string }
  | { name: "sys"; kind: string }
  | { name: "read"; path: string };

/**
 * Whether Deno allows an access without asking (elsewhere always true): on Deno, an env or
 * sys read without the permission prompts the user or throws `NotCapable`, and a library
 * must do neither for something the user never meant to give it.
 */
function granted(d: PermissionQuery): boolean {
  const perms = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  if (perms?.querySync === undefined) return true;
  try {
    return perms.querySync(d).state === "granted";
  } catch {
    return false;
  }
}

/** Whether reading the environment (one variable, or all of it) is allowed without asking. */
function envReadable(variable?: string): boolean {
  return granted({ name: "env", ...(variable === undefined ? {} : { variable }) });
}

/**
 * Whether reading `path` is allowed without asking (elsewhere always true). On Deno in a
 * terminal, reading or looking at a file without the permission prompts the user, where a
 * run without a terminal fails the look and carries on (a certificate beside a key, whether
 * a download's target is a directory): the library asks this first, so both carry on.
 *
 * @example
 * ```ts
 * import { readAllowed } from "./env.ts";
 * console.log(typeof readAllowed("/etc/hostname")); // "boolean"
 * ```
 */
export function readAllowed(path: string): boolean {
  return granted({ name: "read", path });
}

/**
 * Undefined where reading `path` is allowed without asking; else the error Deno throws for a
 * read it may not make when it may not prompt (`NotCapable`, naming `--allow-read`), for
 * readers to throw instead of reading — so that a run in a terminal goes as one without.
 *
 * @example
 * ```ts
 * import { readDenial } from "./env.ts";
 * const denied = readDenial("/etc/hostname");
 * if (denied) throw denied;
 * ```
 */
export function readDenial(path: string): Error | undefined {
  if (readAllowed(path)) return undefined;
  const g = globalThis as { Deno?: { errors?: { NotCapable?: new (message: string) => Error } } };
  const NotCapable = g.Deno?.errors?.NotCapable ?? Error;
  return new NotCapable(`Requires read access to "${path}", run again with the --allow-read flag`);
}

/** Whether every one of Deno's `sys` kinds given is allowed without asking. */
function sysReadable(...kinds: string[]): boolean {
  return kinds.every((kind) => granted({ name: "sys", kind }));
}

/**
 * The environment, read-only (empty where the runtime has no `process`, or where Deno may
 * not read all of it), for `ssh_config`'s `${VAR}`, `SendEnv` and `Match exec`.
 *
 * The runtime's own `process.env`, not a copy: copying it costs about 80 µs on Node (each
 * variable is read from the process), at every `connect()`, which then reads a few
 * variables, if any. Changes made meanwhile are seen, as `getenv` sees them.
 *
 * @example
 * ```ts
 * import { environment } from "./env.ts";
 * console.log(typeof environment()); // "object"
 * ```
 */
export function environment(): Readonly<Record<string, string | undefined>> {
  if (!envReadable()) return {};
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  if (env === undefined) return {};
  // Deno with some variables denied (`--allow-env --deny-env=X`): reading one of them from
  // process.env throws NotCapable, where a copy leaves them out.
  return envPartlyDenied() ? { ...env } : env;
}

/** On Deno, whether env access is granted with some variables denied. */
function envPartlyDenied(): boolean {
  const perms = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  try {
    return perms?.querySync?.({ name: "env" }).partial === true;
  } catch {
    return true;
  }
}

/**
 * The host name as `gethostname()` gives it, for what must match the X server's own records
 * (X11 authority entries); on Deno without sys access to it, an `SSHError` (ERR_LOCAL_ACCOUNT)
 * naming the flag that gives it, never a permission prompt or `NotCapable` — and never
 * "localhost", which no X authority entry would match.
 *
 * @example
 * ```ts
 * import { exactHostname } from "./env.ts";
 * console.log(exactHostname("X11 forwarding").length > 0);
 * ```
 */
export function exactHostname(purpose: string): string {
  return withSys("hostname", `${purpose} needs the host name`, hostname);
}

/**
 * The local network interfaces (`os.networkInterfaces()`, for `Match localnetwork`); on Deno
 * without sys access to them, an `SSHError` (ERR_LOCAL_ACCOUNT) naming the flag that gives it,
 * never a permission prompt or `NotCapable`.
 *
 * @example
 * ```ts
 * import { localNetworkInterfaces } from "./env.ts";
 * console.log(typeof localNetworkInterfaces()); // "object"
 * ```
 */
export function localNetworkInterfaces(): ReturnType<typeof networkInterfaces> {
  return withSys(
    "networkInterfaces",
    "The local network interfaces cannot be read",
    networkInterfaces,
  );
}

/**
 * `read()` where Deno allows sys access of `kind` without asking (elsewhere always); else an
 * `SSHError` (ERR_LOCAL_ACCOUNT): `what`, and the flag that gives it.
 */
function withSys<T>(kind: string, what: string, read: () => T): T {
  if (!sysReadable(kind)) {
    throw new SSHError("ERR_LOCAL_ACCOUNT", `${what}: on Deno, run with --allow-sys=${kind}`);
  }
  return read();
}

/**
 * The credentials files are opened with: effective uid and gid and the supplementary groups
 * ("" where the runtime cannot tell, or Deno may not read them). What a process derived from a
 * file it could read stays its own only while these are the same: after `process.setuid()` or
 * `setgroups()`, the file may no longer be readable to it.
 *
 * @example
 * ```ts
 * import { fileCredentials } from "./env.ts";
 * console.log(typeof fileCredentials()); // "string"
 * ```
 */
export function fileCredentials(): string {
  const p = process as {
    geteuid?: () => number;
    getegid?: () => number;
    getgid?: () => number;
    getgroups?: () => number[];
  };
  // Deno asks for "uid" (geteuid), "gid" (getgid, getgroups) and a kind of its own for
  // getegid, which the flags users are told to give leave out: the real gid then, which a
  // setgid() as root changes too.
  if (!sysReadable("uid", "gid")) return "";
  const egid = currentRuntime() === "deno" && !sysReadable("getegid") ? p.getgid : p.getegid;
  if (p.geteuid === undefined || egid === undefined) return "";
  try {
    return `${p.geteuid()}:${egid()}:${p.getgroups?.().join(",") ?? ""}`;
  } catch {
    return "";
  }
}

/** The local account: name, uid (undefined where it cannot be read) and home directory. */
export interface LocalAccount {
  readonly name: string;
  readonly uid: number | undefined;
  readonly homeDir: string;
}

/** The last {@link localAccount} read through getpwuid, for the uid and `$HOME` it was read with. */
let accountKept: { readonly account: LocalAccount; readonly home: string | undefined } | undefined;

/**
 * The local account as `getpwuid(getuid())` reports it (what `ssh` uses for `%u`,
 * `%d`, `%i` and `~`): name and uid; the home directory is {@link homeDir}'s (`$HOME`
 * where set, as Node's `os.homedir()` and AsyncSSH read it, else the account's), so that
 * ssh_config's `~` and `%d` name the directory the default keys and known_hosts come
 * from — one home for a connection, not two. On Deno without sys access to it
 * (`--allow-sys=uid,gid,userInfo`), what the environment tells where it may be read:
 * `$USER` (or `$LOGNAME`) and the home directory, with the uid unknown;
 * undefined when that cannot be read either. Never a permission prompt or `NotCapable`.
 *
 * @example
 * ```ts
 * import { localAccount } from "./env.ts";
 * console.log(localAccount()?.homeDir.startsWith("/"));
 * ```
 */
export function localAccount(): LocalAccount | undefined {
  if (sysReadable("uid", "gid", "userInfo")) {
    // getpwuid reads /etc/passwd (through NSS) at every call, and connect() asks at every
    // connection: the answer is kept for as long as the process runs as the same uid.
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    const home = knownHomeDir();
    const kept = accountKept;
    if (uid !== undefined && kept?.account.uid === uid && kept.home === home) return kept.account;
    const u = userInfo();
    const account = Object.freeze({ name: u.username, uid: u.uid, homeDir: home ?? u.homedir });
    accountKept = uid === u.uid ? { account, home } : undefined;
    return account;
  }
  const name = envVar("USER") ?? envVar("LOGNAME");
  const home = knownHomeDir();
  return name === undefined || home === undefined
    ? undefined
    : { name, uid: undefined, homeDir: home };
}

/**
 * This machine's host name (gethostname), for `%l` and `%L`; "localhost" on Deno without
 * `--allow-sys=hostname`.
 *
 * @example
 * ```ts
 * import { localHostname } from "./env.ts";
 * console.log(localHostname().length > 0);
 * ```
 */
export function localHostname(): string {
  return sysReadable("hostname") ? hostname() : "localhost";
}

/**
 * The local user name: `$USER`, then `$LOGNAME`, else "root" (the client's default login).
 *
 * @example
 * ```ts
 * import { localUsername } from "./env.ts";
 * console.log(localUsername().length > 0); // true
 * ```
 */
export function localUsername(): string {
  return envVar("USER") ?? envVar("LOGNAME") ?? "root";
}

/**
 * The home directory of the user running this process. On Deno it needs
 * `--allow-sys=homedir` or `--allow-env=HOME`; without either it throws an
 * {@link SSHError} (`ERR_LOCAL_ACCOUNT`) saying so, never a permission prompt.
 *
 * @example
 * ```ts
 * import { homeDir } from "./env.ts";
 * console.log(homeDir().startsWith("/"));
 * ```
 */
export function homeDir(): string {
  const home = knownHomeDir();
  if (home === undefined) {
    throw new SSHError(
      "ERR_LOCAL_ACCOUNT",
      "The home directory cannot be read: on Deno, run with --allow-sys=homedir or " +
        "--allow-env=HOME, or give the paths that default to ~ (knownHosts, clientKeys)",
    );
  }
  return home;
}

/** The home directory, or undefined where Deno allows neither sys `homedir` nor `$HOME`. */
function knownHomeDir(): string | undefined {
  return sysReadable("homedir") ? homedir() : envVar("HOME");
}

/**
 * Expands a leading `~` to the home directory.
 *
 * @example
 * ```ts
 * import { expandHome } from "./env.ts";
 * console.log(expandHome("~/.ssh/id_ed25519").endsWith("/.ssh/id_ed25519")); // true
 * ```
 */
export function expandHome(path: string): string {
  if (path === "~") return homeDir();
  if (path.startsWith("~/")) return join(homeDir(), path.slice(2));
  return path;
}

/**
 * `SSH_SOCKET_ADAPTER`: forces the TCP adapter ("node", "deno" or "bun") for comparisons.
 *
 * @example
 * ```ts
 * import { socketAdapterOverride } from "./env.ts";
 * console.log(socketAdapterOverride()); // undefined unless SSH_SOCKET_ADAPTER is set
 * ```
 */
export function socketAdapterOverride(): Runtime | undefined {
  const forced = envVar("SSH_SOCKET_ADAPTER");
  return forced === "node" || forced === "deno" || forced === "bun" ? forced : undefined;
}

/**
 * `SSH_CRYPTO_PROVIDER`: forces a packet-protection provider ("noble" = the portable path).
 *
 * @example
 * ```ts
 * import { cryptoProviderOverride } from "./env.ts";
 * console.log(cryptoProviderOverride()); // undefined unless SSH_CRYPTO_PROVIDER is set
 * ```
 */
export function cryptoProviderOverride(): string | undefined {
  return envVar("SSH_CRYPTO_PROVIDER") || undefined;
}

let aesInstructions: boolean | undefined;

/**
 * Whether this CPU has AES and carry-less multiply instructions, which make AES-GCM
 * constant-time and cheap in OpenSSL and BoringSSL: on Linux the `aes` flag with
 * `pclmulqdq` (x86) or `pmull` (Arm) in /proc/cpuinfo; on macOS, Apple silicon. False
 * where it cannot tell (Windows, other systems, an unreadable /proc).
 *
 * @example
 * ```ts
 * import { hardwareAes } from "./env.ts";
 * console.log(typeof hardwareAes()); // "boolean"
 * ```
 */
export function hardwareAes(): boolean {
  if (aesInstructions !== undefined) return aesInstructions;
  aesInstructions = false;
  if (process.platform === "darwin") aesInstructions = process.arch === "arm64";
  else if (process.platform === "linux") {
    try {
      // The first processor's flags stand for all (a hybrid CPU's cores share them).
      const info = readFileSync("/proc/cpuinfo", "latin1");
      const flags = /^(?:flags|Features)\s*:(.*)$/m.exec(info)?.[1]?.split(/\s+/) ?? [];
      aesInstructions = flags.includes("aes") &&
        (flags.includes("pclmulqdq") || flags.includes("pmull"));
    } catch {
      // Unreadable: keep the portable preference.
    }
  }
  return aesInstructions;
}

/**
 * The wall clock in ms since the epoch (what `io/` passes to the pure layers as `now`).
 *
 * @example
 * ```ts
 * import { wallClock } from "./env.ts";
 * console.log(wallClock() > 0); // true
 * ```
 */
export function wallClock(): number {
  return Date.now();
}

/**
 * The host's offset from UTC in minutes at `at` (east positive, as `+0200` → 120): what
 * authorized_keys `expiry-time` values without a zone are read in, as sshd does.
 *
 * @example
 * ```ts
 * import { localTimeZoneOffset } from "./env.ts";
 * console.log(Number.isInteger(localTimeZoneOffset(Date.now()))); // true
 * ```
 */
export function localTimeZoneOffset(at: number): number {
  return -new Date(at).getTimezoneOffset();
}

/** The part of Deno's signal API {@link prepareForDescriptorExhaustion} uses. */
interface DenoSignals {
  addSignalListener?(signal: string, handler: () => void): void;
  removeSignalListener?(signal: string, handler: () => void): void;
}

let signalsPrepared = false;

/**
 * Keeps a listening Deno process alive when it runs out of file descriptors. Deno sets up
 * its signal handling (a pipe) the first time something needs it, and when that first time
 * comes while a listener's accepts have used up the descriptors, Deno 2.x panics and the
 * whole process exits ("Too many open files" in ext/signals), with every connection it
 * served. Setting it up early, by adding and removing a listener for SIGWINCH (ignored by
 * default, so nothing changes for the program), leaves a failed accept to the listener,
 * which retries. Once per process; nothing on Node, Bun or Windows.
 *
 * @example
 * ```ts
 * import { prepareForDescriptorExhaustion } from "./env.ts";
 * prepareForDescriptorExhaustion(); // before a server starts accepting
 * ```
 */
export function prepareForDescriptorExhaustion(): void {
  if (signalsPrepared) return;
  signalsPrepared = true;
  const deno = (globalThis as { Deno?: DenoSignals }).Deno;
  if (!deno?.addSignalListener || !deno.removeSignalListener) return;
  const ignore = () => {};
  try {
    deno.addSignalListener("SIGWINCH", ignore);
    deno.removeSignalListener("SIGWINCH", ignore);
  } catch { /* Windows: no such signal, and no such panic to avoid */ }
}
