/**
 * `resolveSSHConfig(host, options)`: the settings `ssh` would use for `host`,
 * computed the way OpenSSH 10's `ssh -G` computes them — command-line
 * settings, then the configuration files (first value wins), hostname
 * canonicalisation through the injected resolver, the final `Match` pass,
 * defaults, and token expansion.
 *
 * @module
 */

import { fromBytes, lower, toBytes } from "./_bytes.ts";
import { expand, ExpandError, type Tokens } from "./_expand.ts";
import {
  AF,
  FLAG,
  initializeOptions,
  IPQOS_NONE,
  multistateName,
  type Options,
  PORT_STREAMLOCAL,
  STRICT_HOSTKEY,
  TUNID_ANY,
} from "./_options.ts";
import {
  CONF,
  connectionHash,
  type ParseContext,
  processCommandLine,
  readConfigFile,
  tilde,
} from "./_parse.ts";
import { formatAddress, parseAddress } from "./_addr.ts";
import { a2port, parseSSHUri, validDomain, validHostname, validRemoteUser } from "./_values.ts";
import {
  type AlgorithmFamily,
  DEFAULT_SSH_CONFIG_PROFILE,
  type SSHConfigProfile,
} from "./defaults.ts";
import { SSHConfigError } from "./errors.ts";
import { filterList, matchPatternListBytes } from "./patterns.ts";
import type { ResolvedSSHConfig, SSHConfigForward } from "./resolved.ts";
import type { SSHConfigSystem } from "./types.ts";

/** Options of {@link resolveSSHConfig}. */
export interface ResolveSSHConfigOptions {
  /**
   * Configuration files to read through `system`, in order, each as `ssh -F`
   * reads one (a missing file is an error). Without `files` and `text`, the
   * user's `<homeDir>/.ssh/config` then `/etc/ssh/ssh_config` are read through
   * `system`, skipping either when absent — and the default `system` has no
   * files, so nothing is read: give `text`, or a `system` that reads files
   * (`resolveSSHConfig` from "@sshts/ssh" reads this machine's).
   */
  readonly files?: readonly string[] | undefined;
  /** Configuration text, read before `files` as a user configuration named `textName`. */
  readonly text?: string | undefined;
  /** Name `text` goes by in errors (default "<config>"). */
  readonly textName?: string | undefined;
  /** The remote user given explicitly (as `ssh -l`): wins over `User` lines. */
  readonly user?: string | undefined;
  /** The port given explicitly (as `ssh -p`): wins over `Port` lines. */
  readonly port?: number | undefined;
  /** Settings given as `ssh -o` would ("Keyword value"), applied before the files. */
  readonly options?: readonly string[] | undefined;
  /** The remote command, if any (for `Match command` and `sessiontype`). */
  readonly command?: string | undefined;
  /** Local user name (default: `$USER`/`$LOGNAME` from `env`). */
  readonly localUser?: string | undefined;
  /** Local user id (for `%i`; default 0). */
  readonly uid?: number | undefined;
  /** The local user's home directory (default `$HOME` from `env`). */
  readonly homeDir?: string | undefined;
  /** Environment for `${VAR}` (default: none). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Local host name for `%l` and `%L` (default "localhost"). */
  readonly localHostname?: string | undefined;
  /** Files, DNS, `Match exec`, ... (default: nothing exists). */
  readonly system?: SSHConfigSystem | undefined;
  /** Algorithm lists and build defaults (default: this library's). */
  readonly profile?: SSHConfigProfile | undefined;
}

/** getaddrinfo with AI_NUMERICHOST: the canonical text of an address, or undefined. */
function numericAddress(name: string, af: number): string | undefined {
  const a = parseAddress(name, af === AF.INET ? 4 : af === AF.INET6 ? 6 : 0);
  return a ? formatAddress(a) : undefined;
}

/** is_addr_fast. */
function looksLikeAddress(name: string): boolean {
  return name.includes("%") || name.includes(":") || /^[0-9.]*$/.test(name);
}

function familyName(af: number): "any" | "inet" | "inet6" {
  return af === AF.INET ? "inet" : af === AF.INET6 ? "inet6" : "any";
}

/** config_has_permitted_cnames. */
function hasPermittedCnames(o: Options): boolean {
  if (
    o.permittedCnames.length === 1 && o.permittedCnames[0]!.source.toLowerCase() === "none" &&
    o.permittedCnames[0]!.target === ""
  ) return false;
  return o.permittedCnames.length > 0;
}

function clearOrNone(s: string | undefined): boolean {
  return s === undefined || s.toLowerCase() === "none";
}

/** resolve_host with AI_CANONNAME: undefined when the name does not resolve, else the CNAME (possibly ""). */
async function lookup(ctx: ParseContext, name: string): Promise<string | undefined> {
  const r = await ctx.sys.lookupHost?.(fromBytes(name), familyName(ctx.o.addressFamily));
  if (!r) return undefined;
  const cn = r.canonicalName === undefined ? "" : toBytes(r.canonicalName);
  if (cn !== "" && validDomain(cn) !== undefined) return "";
  return cn.endsWith(".") ? cn.slice(0, -1) : cn;
}

/** check_follow_cname. */
function followCname(o: Options, direct: boolean, name: string, cname: string): string {
  if (cname === "" || !hasPermittedCnames(o) || name === cname) return name;
  if (o.canonicalizeHostname === 0) return name;
  if (!direct && o.canonicalizeHostname !== 2) return name;
  for (const rule of o.permittedCnames) {
    if (
      matchPatternListBytes(name, rule.source, true) !== 1 ||
      matchPatternListBytes(cname, rule.target, true) !== 1
    ) continue;
    return cname;
  }
  return name;
}

/** resolve_canonicalize: the new host name and whether it resolved. */
async function canonicalize(
  ctx: ParseContext,
  host: string,
): Promise<{ host: string; resolved: boolean }> {
  const o = ctx.o;
  const addr = numericAddress(host, o.addressFamily);
  if (addr !== undefined) {
    return { host: addr.toLowerCase() === host.toLowerCase() ? host : addr, resolved: true };
  }
  if (looksLikeAddress(host)) return { host, resolved: false };
  if (o.canonicalizeHostname === 0) return { host, resolved: false };
  const direct = clearOrNone(o.proxyCommand) && clearOrNone(o.jumpHost);
  if (!direct && o.canonicalizeHostname !== 2) return { host, resolved: false };
  const found = (full: string, cname: string) => ({
    host: followCname(o, direct, full.slice(0, -1), cname),
    resolved: true,
  });
  if (host.endsWith(".")) {
    const cname = await lookup(ctx, host);
    if (cname !== undefined) return found(host, cname);
  } else {
    const ndots = host.split(".").length - 1;
    if (ndots > o.canonicalizeMaxDots) return { host, resolved: false };
    for (const dom of o.canonicalDomains) {
      if (dom.toLowerCase() === "none") break;
      const full = `${host}.${dom}.`;
      const cname = await lookup(ctx, full);
      if (cname !== undefined) return found(full, cname);
    }
  }
  if (!o.canonicalizeFallbackLocal) {
    throw new SSHConfigError("ERR_CONFIG_RESOLVE", `Could not resolve host "${fromBytes(host)}"`);
  }
  return { host, resolved: false };
}

/** kex_names_cat. */
function namesCat(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  let ret = a;
  const have = new Set(a.split(","));
  for (const n of b.split(",")) {
    if (n === "") break;
    if (have.has(n)) continue;
    have.add(n);
    ret += "," + n;
  }
  return ret;
}

/**
 * kex_assemble_names: applies `+`, `-` or `^` to the defaults, expands patterns
 * against the supported names. Undefined where OpenSSH fails (an empty result
 * or a negated pattern).
 */
function assemble(list: string | undefined, fam: AlgorithmFamily): string | undefined {
  const def = fam.defaults.filter((n) => fam.supported.includes(n)).join(",");
  const all = fam.supported.join(",");
  if (list === undefined || list === "") return def;
  let l = list;
  if (l[0] === "+") l = namesCat(def, l.slice(1));
  else if (l[0] === "-") return filterList(def, l.slice(1), true);
  else if (l[0] === "^") l = namesCat(l.slice(1), def);
  let ret = "";
  for (const cp of l.split(",")) {
    if (cp[0] === "!") return undefined;
    ret = namesCat(ret, filterList(all, cp, false));
  }
  return ret === "" ? undefined : ret;
}

function splitList(s: string | undefined): string[] | undefined {
  return s === undefined ? undefined : s === "" ? [] : s.split(",").map(fromBytes);
}

/** fill_default_options, including where OpenSSH's stops early (yet reports success). */
function fillDefaults(o: Options, profile: SSHConfigProfile): void {
  const def = (k: keyof Options, v: number) => {
    if ((o[k] as number) === -1) (o[k] as number) = v;
  };
  def("forwardAgent", 0);
  def("forwardX11", 0);
  def("forwardX11Trusted", profile.forwardX11Trusted ? 1 : 0);
  def("forwardX11Timeout", 1200);
  def("exitOnForwardFailure", 0);
  def("clearForwardings", 0);
  if (o.clearForwardings === 1) {
    o.localForwards = [];
    o.remoteForwards = [];
    o.tunOpen = 0;
  }
  o.xauthLocation ??= toBytes(profile.xauthLocation);
  def("gatewayPorts", 0);
  def("streamLocalBindMask", 0o177);
  def("streamLocalBindUnlink", 0);
  def("pubkeyAuthentication", 3);
  def("gssAuthentication", 0);
  def("gssDelegCreds", 0);
  def("gssKeyExchange", 0);
  def("gssTrustDns", 0);
  def("gssRenewalRekey", 0);
  def("passwordAuthentication", 1);
  def("kbdInteractiveAuthentication", 1);
  def("hostbasedAuthentication", 0);
  def("batchMode", 0);
  def("checkHostIP", 0);
  def("strictHostKeyChecking", STRICT_HOSTKEY.ASK);
  def("compression", 0);
  def("tcpKeepAlive", 1);
  def("port", 0);
  def("addressFamily", AF.UNSPEC);
  def("connectionAttempts", 1);
  def("numberOfPasswordPrompts", 3);
  if (o.addKeysToAgent === -1) {
    o.addKeysToAgent = 0;
    o.addKeysToAgentLifespan = 0;
  }
  if (o.identityFiles.length === 0) {
    for (const f of profile.identityFiles) {
      const path = toBytes(f);
      if (!o.identityFiles.some((x) => !x.userProvided && x.path === path)) {
        o.identityFiles.push({ path, userProvided: false });
      }
    }
  }
  def("escapeChar", 0x7e);
  if (o.systemHostfiles.length === 0) {
    o.systemHostfiles.push("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2");
  }
  if (o.updateHostKeys === -1) {
    o.updateHostKeys = o.verifyHostKeyDNS <= 0 &&
        (o.userHostfiles.length === 0 ||
          (o.userHostfiles.length === 1 && o.userHostfiles[0] === "~/.ssh/known_hosts"))
      ? 1
      : 0;
  }
  if (o.userHostfiles.length === 0) {
    o.userHostfiles.push("~/.ssh/known_hosts", "~/.ssh/known_hosts2");
  }
  o.logLevel ??= "INFO";
  o.logFacility ??= "USER";
  def("noHostAuthenticationForLocalhost", 0);
  def("identitiesOnly", 0);
  def("enableSSHKeysign", 0);
  if (o.rekeyLimit === -1n) o.rekeyLimit = 0n;
  def("rekeyInterval", 0);
  def("verifyHostKeyDNS", 0);
  def("serverAliveInterval", o.batchMode === 1 ? profile.batchModeServerAliveInterval ?? 0 : 0);
  def("serverAliveCountMax", 3);
  def("controlMaster", 0);
  if (o.controlPersist === -1) {
    o.controlPersist = 0;
    o.controlPersistTimeout = 0;
  }
  def("hashKnownHosts", 0);
  def("tunOpen", 0);
  def("tunLocal", TUNID_ANY);
  def("tunRemote", TUNID_ANY);
  def("permitLocalCommand", 0);
  def("visualHostKey", 0);
  def("ipQosInteractive", profile.ipqos[0]);
  def("ipQosBulk", profile.ipqos[1]);
  def("requestTTY", 0);
  def("sessionType", 2);
  def("stdinNull", 0);
  def("forkAfterAuthentication", 0);
  def("proxyUseFdpass", 0);
  def("canonicalizeMaxDots", 1);
  def("canonicalizeFallbackLocal", 1);
  def("canonicalizeHostname", 0);
  o.fingerprintHash ??= "SHA256";
  o.skProvider ??= toBytes(profile.securityKeyProvider);
  def("requiredRSASize", profile.requiredRSASize);
  def("enableEscapeCommandline", 0);
  def("obscureKeystrokeTimingInterval", 20);
  if (o.gssKexAlgorithms === undefined && profile.gssKex) {
    o.gssKexAlgorithms = profile.gssKex.defaults.join(",");
  }

  // Assemble the algorithm lists; OpenSSH stops at the first that fails and
  // skips everything after it (yet reports success).
  const steps: [keyof Options, AlgorithmFamily][] = [
    ["ciphers", profile.ciphers],
    ["macs", profile.macs],
    ["kexAlgorithms", profile.kex],
    ["hostbasedAcceptedAlgorithms", profile.keys],
    ["pubkeyAcceptedAlgorithms", profile.keys],
    ["caSignAlgorithms", profile.caSignatures],
  ];
  for (const [k, fam] of steps) {
    const r = assemble(o[k] as string | undefined, fam);
    (o[k] as string | undefined) = r;
    if (r === undefined) return;
  }
  for (
    const k of [
      "localCommand",
      "remoteCommand",
      "proxyCommand",
      "controlPath",
      "revokedHostKeys",
      "pkcs11Provider",
      "skProvider",
      "knownHostsCommand",
    ] as const
  ) {
    if (clearOrNone(o[k])) o[k] = undefined;
  }
  if (o.jumpHost === "none" && o.jumpPort === 0 && o.jumpUser === undefined) o.jumpHost = undefined;
  if (o.permittedCnames.length === 1 && !hasPermittedCnames(o)) o.permittedCnames = [];
  if (o.channelTimeouts.length === 1 && o.channelTimeouts[0]!.toLowerCase() === "none") {
    o.channelTimeouts = [];
  }
}

function fatal(message: string, cause?: unknown): never {
  throw new SSHConfigError("ERR_CONFIG_INVALID", message, cause !== undefined ? { cause } : {});
}

/**
 * Resolves the client settings for `host` as `ssh -G host` would.
 *
 * `host` may be `user@host` or an `ssh://` URI, as on the `ssh` command line.
 * Throws {@link SSHConfigError} wherever `ssh` would refuse to run.
 *
 * @example Resolve from text
 * ```ts
 * import { resolveSSHConfig } from "@sshts/ssh";
 * const c = await resolveSSHConfig("web", {
 *   text: "Host web\n  HostName web1.example.com\n  User deploy\n  Port 2222\n",
 *   homeDir: "/home/me",
 *   localUser: "me",
 * });
 * console.log(c.hostname, c.user, c.port); // "web1.example.com" "deploy" 2222
 * ```
 */
export async function resolveSSHConfig(
  host: string,
  options: ResolveSSHConfigOptions = {},
): Promise<ResolvedSSHConfig> {
  const envRec = options.env ?? {};
  // Variables are converted when looked up, not all at once: `env` may be the runtime's own
  // (Node's process.env reads each variable from the process at every access), and a
  // configuration names a few of them, if any. Own names only: `${toString}` must find
  // nothing, as an unset variable; a name that is not UTF-8 names no variable.
  const envLookup = (n: string): string | undefined => {
    const name = fromBytes(n);
    const v = toBytes(name) === n && Object.hasOwn(envRec, name) ? envRec[name] : undefined;
    return v === undefined ? undefined : toBytes(v);
  };
  const localUserText = options.localUser ?? envRec.USER ?? envRec.LOGNAME;
  const homeText = options.homeDir ?? envRec.HOME;
  if (localUserText === undefined || homeText === undefined) {
    throw new SSHConfigError(
      "ERR_CONFIG_INVALID",
      "resolveSSHConfig needs the local user and home directory: give localUser and homeDir " +
        '(or USER and HOME in env), or use `import { resolveSSHConfig } from "@sshts/ssh"`, ' +
        "which reads them, and the files, from the running process",
    );
  }
  const profile = options.profile ?? DEFAULT_SSH_CONFIG_PROFILE;
  const sys = options.system ?? {};
  const sp = sys.servicePort?.bind(sys);

  // The host argument: ssh://[user@]host[:port] or [user@]host.
  let hostArg = toBytes(host);
  let argUser: string | undefined;
  let argPort = -1;
  const uri = parseSSHUri(hostArg, sp);
  if (uri === undefined) fatal(`Invalid ssh:// URI "${host}"`);
  if (uri !== 1) {
    hostArg = uri.host;
    argUser = uri.user;
    argPort = uri.port;
  } else {
    const at = hostArg.lastIndexOf("@");
    if (at === 0) fatal(`Invalid user@host "${host}"`);
    if (at > 0) {
      argUser = hostArg.slice(0, at);
      hostArg = hostArg.slice(at + 1);
    }
  }
  if (hostArg === "" || !validHostname(hostArg)) fatal("hostname contains invalid characters");

  const o = initializeOptions(hostArg);
  const ctx: ParseContext = {
    profile,
    sys,
    env: envLookup,
    homeDir: toBytes(homeText),
    localUser: toBytes(localUserText),
    uid: options.uid,
    thisHost: toBytes(options.localHostname ?? "localhost"),
    hostArg,
    remoteCommand: options.command === undefined ? undefined : toBytes(options.command),
    o,
    wantFinalPass: false,
    lines: 0,
  };

  // Command line: -l, -p, -o, then the user@ and :port of the host argument.
  if (options.user !== undefined) o.user = toBytes(options.user);
  if (options.port !== undefined) {
    if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) {
      fatal(`Bad port '${options.port}'`);
    }
    o.port = options.port;
  }
  for (const line of options.options ?? []) await processCommandLine(ctx, toBytes(line), hostArg);
  const optionsSetUser = options.user === undefined && o.user !== undefined;
  if (argUser !== undefined && o.user === undefined) o.user = argUser;
  if (argPort !== -1 && o.port === -1) o.port = argPort;
  // A user from the command line (or user@host) is taken literally, never expanded.
  const userOnCommandLine = options.user !== undefined ||
    (argUser !== undefined && o.user === argUser && !optionsSetUser);
  // Any user known before the files are read (-l, user@host, -o User) must be a valid one.
  if (o.user !== undefined && !validRemoteUser(o.user)) {
    fatal("remote username contains invalid characters");
  }
  // ssh refuses a subsystem session (-s, -o SessionType) without a subsystem name.
  if (o.sessionType === 1 && (options.command === undefined || options.command === "")) {
    fatal("You must specify a subsystem to invoke.");
  }

  const readAll = async (h: string, final: boolean, record: boolean) => {
    const flagsFinal = final ? CONF.FINAL : 0;
    const sources: { name: string; text?: string; flags: number; required: boolean }[] = [];
    if (options.text !== undefined || options.files !== undefined) {
      if (options.text !== undefined) {
        sources.push({
          name: toBytes(options.textName ?? "<config>"),
          text: toBytes(options.text),
          flags: CONF.USERCONF,
          required: true,
        });
      }
      for (const f of options.files ?? []) {
        if (f.toLowerCase() === "none") continue;
        sources.push({ name: toBytes(f), flags: CONF.USERCONF, required: true });
      }
    } else {
      sources.push({
        name: `${ctx.homeDir}/.ssh/config`,
        flags: CONF.CHECKPERM | CONF.USERCONF,
        required: false,
      });
      sources.push({ name: "/etc/ssh/ssh_config", flags: 0, required: false });
    }
    for (const s of sources) {
      const ok = await readConfigFile(ctx, s.name, {
        host: h,
        flags: s.flags | flagsFinal,
        active: { v: true },
        recordFinal: record,
        depth: 0,
      }, s.text);
      if (!ok && s.required) {
        throw new SSHConfigError(
          "ERR_CONFIG_FILE",
          `Can't open user config file ${fromBytes(s.name)}: No such file or directory`,
        );
      }
    }
  };

  let h = hostArg;
  await readAll(h, false, true);
  let wantFinal = ctx.wantFinalPass;
  if (o.canonicalizeMaxDots === -1) o.canonicalizeMaxDots = 1;
  if (o.canonicalizeFallbackLocal === -1) o.canonicalizeFallbackLocal = 1;
  if (o.canonicalizeHostname === -1) o.canonicalizeHostname = 0;

  if (o.hostname !== undefined) {
    h = expandOrFail(o.hostname, { h }, undefined, "HostName");
    o.hostname = h;
  }
  const wasAddr = looksLikeAddress(h) || numericAddress(h, o.addressFamily) !== undefined;
  if (!wasAddr) h = lower(h);
  let resolved = false;
  if (o.canonicalizeHostname !== 0 || wasAddr) {
    const c = await canonicalize(ctx, h);
    h = c.host;
    resolved = c.resolved;
  }
  const direct = clearOrNone(o.proxyCommand) && clearOrNone(o.jumpHost);
  if (!resolved && hasPermittedCnames(o) && (direct || o.canonicalizeHostname === 2)) {
    const cname = await lookup(ctx, h);
    if (cname === undefined) {
      if (direct) {
        throw new SSHConfigError(
          "ERR_CONFIG_RESOLVE",
          `Could not resolve hostname ${fromBytes(h)}`,
        );
      }
    } else h = followCname(o, direct, h, cname);
  }
  if (o.canonicalizeHostname !== 0 && !wantFinal) wantFinal = true;
  if (wantFinal) {
    o.hostname = h;
    await readAll(h, true, false);
  }

  fillDefaults(o, profile);
  const userWasDefault = o.user === undefined;
  o.user ??= ctx.localUser;

  if (o.jumpHost !== undefined) {
    const port = o.port <= 0 ? 22 : o.port;
    const jumpPort = o.jumpPort <= 0 ? 22 : o.jumpPort;
    const jumpUser = o.jumpUser ?? o.user;
    if (o.jumpHost === h && port === jumpPort && o.user === jumpUser) {
      fatal(`jumphost loop via ${fromBytes(o.jumpHost)}`);
    }
    if (o.proxyCommand !== undefined && o.proxyCommand.toLowerCase() !== "none") {
      fatal("inconsistent options: ProxyCommand+ProxyJump");
    }
    o.proxyUseFdpass = 0;
  }
  if (o.port === 0) o.port = 22;
  if (o.hostKeyAlias !== undefined) o.hostKeyAlias = lower(o.hostKeyAlias);
  if (o.proxyCommand === "-" && o.proxyUseFdpass) {
    fatal("ProxyCommand=- and ProxyUseFDPass are incompatible");
  }
  if (o.updateHostKeys === 2) {
    const levels = ["QUIET", "FATAL", "ERROR"];
    if (o.controlPersist && o.controlPath !== undefined) o.updateHostKeys = 0;
    else if (
      (options.command !== undefined && options.command !== "") || o.remoteCommand !== undefined ||
      o.requestTTY === 1
    ) o.updateHostKeys = 0;
    else if (levels.includes(o.logLevel!)) o.updateHostKeys = 0;
  }
  if (o.connectionAttempts <= 0) fatal("Invalid number of ConnectionAttempts");
  if (options.command !== undefined && options.command !== "" && o.remoteCommand !== undefined) {
    fatal("Cannot execute command-line and remote command.");
  }
  if (
    o.forkAfterAuthentication && (options.command === undefined || options.command === "") &&
    o.remoteCommand === undefined && o.sessionType !== 0
  ) fatal("Cannot fork into background without a command to execute.");

  // Token values (ssh_conn_info).
  const dot = ctx.thisHost.indexOf(".");
  const jmphost = o.jumpHost ?? "";
  const base: Record<string, string> = {
    L: dot < 0 ? ctx.thisHost : ctx.thisHost.slice(0, dot),
    i: String(ctx.uid ?? 0),
    k: o.hostKeyAlias ?? hostArg,
    l: ctx.thisHost,
    n: hostArg,
    p: String(o.port),
    d: ctx.homeDir,
    h,
    u: ctx.localUser,
    j: jmphost,
  };
  if (!userOnCommandLine && !userWasDefault) {
    // A User line is expanded; only a value that expansion changed is checked.
    const expanded = expandOrFail(o.user, base, ctx.env, "User");
    if (expanded !== o.user && !validRemoteUser(expanded)) {
      fatal("remote username contains invalid characters");
    }
    o.user = expanded;
  }
  const tokens: Tokens = {
    ...base,
    C: connectionHash(ctx.thisHost, h, String(o.port), o.user, jmphost),
    r: o.user,
  };
  if (o.remoteCommand !== undefined) {
    o.remoteCommand = expandOrFail(o.remoteCommand, tokens, undefined, "RemoteCommand");
  }
  const pathExpand = (v: string, what: string) =>
    expandOrFail(tildeOrFail(ctx, v), tokens, ctx.env, what);
  if (o.controlPath !== undefined) o.controlPath = pathExpand(o.controlPath, "ControlPath");
  if (o.identityAgent !== undefined) o.identityAgent = pathExpand(o.identityAgent, "IdentityAgent");
  if (o.revokedHostKeys !== undefined) {
    o.revokedHostKeys = pathExpand(o.revokedHostKeys, "RevokedHostKeys");
  }
  if (o.forwardAgentSockPath !== undefined) {
    o.forwardAgentSockPath = pathExpand(o.forwardAgentSockPath, "ForwardAgent");
    if (o.exitOnForwardFailure && !(await sys.stat?.(fromBytes(o.forwardAgentSockPath)))) {
      fatal(
        `Cannot forward agent socket path "${
          fromBytes(o.forwardAgentSockPath)
        }": No such file or directory`,
      );
    }
  }
  if (o.versionAddendum !== undefined) {
    o.versionAddendum = expandOrFail(o.versionAddendum, tokens, ctx.env, "VersionAddendum");
  }
  for (const which of ["systemHostfiles", "userHostfiles"] as const) {
    const list = o[which];
    if (list.length > 0 && list[0]!.toLowerCase() === "none") {
      if (list.length > 1) {
        fatal(
          `Invalid ${
            which === "systemHostfiles" ? "Global" : "User"
          }KnownHostsFiles: "none" appears with other entries`,
        );
      }
      o[which] = [];
    }
  }
  o.userHostfiles = o.userHostfiles.map((f) => pathExpand(f, "UserKnownHostsFile"));
  o.setEnv = o.setEnv.map((s) => {
    const eq = s.indexOf("=");
    return `${s.slice(0, eq)}=${expandOrFail(s.slice(eq + 1), tokens, ctx.env, "SetEnv")}`;
  });
  for (const list of [o.localForwards, o.remoteForwards]) {
    for (const f of list) {
      if (f.listenPath !== undefined) {
        f.listenPath = expandOrFail(f.listenPath, tokens, undefined, "forward path");
      }
      if (f.connectPath !== undefined) {
        f.connectPath = expandOrFail(f.connectPath, tokens, undefined, "forward path");
      }
    }
  }
  const hka = assemble(o.hostKeyAlgorithms, profile.keys);
  if (hka === undefined) fatal("expand HostKeyAlgorithms: invalid argument");

  return toResolved(o, h, hka, tokens);
}

function tildeOrFail(ctx: ParseContext, v: string): string {
  try {
    return tilde(ctx, v);
  } catch (e) {
    fatal((e as Error).message, e);
  }
}

function expandOrFail(
  s: string,
  tokens: Tokens | undefined,
  env: ((n: string) => string | undefined) | undefined,
  what: string,
): string {
  try {
    return expand(s, tokens, env);
  } catch (e) {
    if (e instanceof ExpandError) {
      throw new SSHConfigError(
        "ERR_CONFIG_EXPAND",
        `Cannot expand ${what} "${fromBytes(s)}": ${e.message}`,
        {
          cause: e,
        },
      );
    }
    throw e;
  }
}

const onOff = (v: number) => v === 1;

function toForward(f: Options["localForwards"][number]): SSHConfigForward {
  const out: { -readonly [K in keyof SSHConfigForward]: SSHConfigForward[K] } = {};
  if (f.listenPort === PORT_STREAMLOCAL) out.listenPath = fromBytes(f.listenPath ?? "");
  else {
    if (f.listenHost !== undefined) out.listenHost = fromBytes(f.listenHost);
    out.listenPort = f.listenPort;
  }
  if (f.connectPort === PORT_STREAMLOCAL) out.connectPath = fromBytes(f.connectPath ?? "");
  else {
    if (f.connectHost !== undefined) out.connectHost = fromBytes(f.connectHost);
    out.connectPort = f.connectPort;
  }
  return out;
}

function str(s: string | undefined): string | undefined {
  return s === undefined ? undefined : fromBytes(s);
}

function toResolved(o: Options, h: string, hka: string, tokens: Tokens): ResolvedSSHConfig {
  const tri = (v: number) => (v === 2 ? "ask" : v === 1 ? "yes" : "no") as "no" | "yes" | "ask";
  const tok = Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, fromBytes(v)]));
  let proxyJump: string | undefined;
  if (o.jumpHost !== undefined) {
    const numeric = o.jumpHost.includes(":") || /^[0-9.]*$/.test(o.jumpHost);
    proxyJump = fromBytes(
      (o.jumpExtra === undefined ? "" : o.jumpExtra + ",") +
        (o.jumpUser === undefined ? "" : o.jumpUser + "@") +
        (numeric ? `[${o.jumpHost}]` : o.jumpHost) +
        (o.jumpPort <= 0 ? "" : `:${o.jumpPort}`),
    );
  }
  const r: ResolvedSSHConfig = {
    host: fromBytes(o.hostArg),
    hostname: fromBytes(h),
    user: fromBytes(o.user!),
    port: o.port,
    addressFamily: familyName(o.addressFamily),
    batchMode: onOff(o.batchMode),
    canonicalizeFallbackLocal: onOff(o.canonicalizeFallbackLocal),
    canonicalizeHostname: (["no", "yes", "always"] as const)[o.canonicalizeHostname]!,
    checkHostIP: onOff(o.checkHostIP),
    compression: o.compression !== 0,
    controlMaster: (["no", "yes", "auto", "ask", "autoask"] as const)[o.controlMaster]!,
    enableSSHKeysign: onOff(o.enableSSHKeysign),
    clearAllForwardings: onOff(o.clearForwardings),
    exitOnForwardFailure: onOff(o.exitOnForwardFailure),
    fingerprintHash: o.fingerprintHash!,
    forwardX11: onOff(o.forwardX11),
    forwardX11Trusted: onOff(o.forwardX11Trusted),
    gatewayPorts: onOff(o.gatewayPorts),
    gssapiAuthentication: onOff(o.gssAuthentication),
    gssapiKeyExchange: onOff(o.gssKeyExchange),
    gssapiDelegateCredentials: onOff(o.gssDelegCreds),
    gssapiTrustDns: onOff(o.gssTrustDns),
    gssapiRenewalForcesRekey: onOff(o.gssRenewalRekey),
    gssapiClientIdentity: str(o.gssClientIdentity),
    gssapiServerIdentity: str(o.gssServerIdentity),
    gssapiKexAlgorithms: splitList(o.gssKexAlgorithms),
    hashKnownHosts: onOff(o.hashKnownHosts),
    hostbasedAuthentication: onOff(o.hostbasedAuthentication),
    identitiesOnly: onOff(o.identitiesOnly),
    kbdInteractiveAuthentication: onOff(o.kbdInteractiveAuthentication),
    noHostAuthenticationForLocalhost: onOff(o.noHostAuthenticationForLocalhost),
    passwordAuthentication: onOff(o.passwordAuthentication),
    permitLocalCommand: onOff(o.permitLocalCommand),
    proxyUseFdpass: onOff(o.proxyUseFdpass),
    pubkeyAuthentication:
      (["no", "unbound", "host-bound", "yes"] as const)[o.pubkeyAuthentication]!,
    requestTTY: (["auto", "no", "yes", "force"] as const)[o.requestTTY]!,
    sessionType: (["none", "subsystem", "default"] as const)[o.sessionType]!,
    stdinNull: onOff(o.stdinNull),
    forkAfterAuthentication: onOff(o.forkAfterAuthentication),
    streamLocalBindUnlink: onOff(o.streamLocalBindUnlink),
    strictHostKeyChecking: (["no", "accept-new", "yes", "ask"] as const)[o.strictHostKeyChecking]!,
    tcpKeepAlive: onOff(o.tcpKeepAlive),
    tunnel: (["no", "point-to-point", "ethernet"] as const)[o.tunOpen]!,
    verifyHostKeyDNS: tri(o.verifyHostKeyDNS),
    visualHostKey: onOff(o.visualHostKey),
    updateHostKeys: tri(o.updateHostKeys),
    enableEscapeCommandline: onOff(o.enableEscapeCommandline),
    obscureKeystrokeTiming: o.obscureKeystrokeTimingInterval,
    canonicalizeMaxDots: o.canonicalizeMaxDots,
    connectionAttempts: o.connectionAttempts,
    forwardX11Timeout: o.forwardX11Timeout,
    numberOfPasswordPrompts: o.numberOfPasswordPrompts,
    serverAliveCountMax: o.serverAliveCountMax,
    serverAliveInterval: o.serverAliveInterval,
    requiredRSASize: o.requiredRSASize,
    bindAddress: str(o.bindAddress),
    bindInterface: str(o.bindInterface),
    ciphers: splitList(o.ciphers),
    controlPath: str(o.controlPath),
    hostKeyAlgorithms: splitList(hka)!,
    hostKeyAlias: str(o.hostKeyAlias),
    hostbasedAcceptedAlgorithms: splitList(o.hostbasedAcceptedAlgorithms),
    identityAgent: str(o.identityAgent),
    ignoreUnknown: str(o.ignoredUnknown),
    kbdInteractiveDevices: str(o.kbdInteractiveDevices),
    kexAlgorithms: splitList(o.kexAlgorithms),
    caSignatureAlgorithms: splitList(o.caSignAlgorithms),
    localCommand: str(o.localCommand),
    remoteCommand: str(o.remoteCommand),
    logLevel: o.logLevel!,
    macs: splitList(o.macs),
    pkcs11Provider: str(o.pkcs11Provider),
    securityKeyProvider: str(o.skProvider),
    preferredAuthentications: str(o.preferredAuthentications),
    pubkeyAcceptedAlgorithms: splitList(o.pubkeyAcceptedAlgorithms),
    revokedHostKeys: str(o.revokedHostKeys),
    xauthLocation: fromBytes(o.xauthLocation!),
    knownHostsCommand: str(o.knownHostsCommand),
    tag: str(o.tag),
    versionAddendum: str(o.versionAddendum),
    dynamicForwards: o.localForwards.filter((f) => f.connectHost === "socks").map(toForward),
    localForwards: o.localForwards.filter((f) => f.connectHost !== "socks").map(toForward),
    remoteForwards: o.remoteForwards.map(toForward),
    identityFiles: o.identityFiles.map((f) => fromBytes(f.path)),
    canonicalDomains: o.canonicalDomains.map(fromBytes),
    certificateFiles: o.certificateFiles.map((f) => fromBytes(f.path)),
    globalKnownHostsFiles: o.systemHostfiles.map(fromBytes),
    userKnownHostsFiles: o.userHostfiles.map(fromBytes),
    sendEnv: o.sendEnv.map(fromBytes),
    setEnv: o.setEnv.map(fromBytes),
    logVerbose: o.logVerbose.map(fromBytes),
    channelTimeouts: o.channelTimeouts.map(fromBytes),
    permitRemoteOpen: o.permittedRemoteOpens.map(fromBytes),
    addKeysToAgent: (["no", "yes", "ask", "confirm"] as const)[o.addKeysToAgent]!,
    addKeysToAgentLifespan: o.addKeysToAgentLifespan,
    forwardAgent: o.forwardAgentSockPath !== undefined
      ? fromBytes(o.forwardAgentSockPath)
      : onOff(o.forwardAgent),
    connectTimeout: o.connectionTimeout === -1 ? undefined : o.connectionTimeout,
    tunnelDevice: {
      local: o.tunLocal === TUNID_ANY ? "any" : o.tunLocal,
      remote: o.tunRemote === TUNID_ANY ? "any" : o.tunRemote,
    },
    canonicalizePermittedCNAMEs: o.permittedCnames.map((c) => ({
      source: fromBytes(c.source),
      target: fromBytes(c.target),
    })),
    controlPersist: o.controlPersist === 0
      ? false
      : o.controlPersistTimeout === 0
      ? true
      : o.controlPersistTimeout,
    escapeChar: o.escapeChar === -2 ? "none" : o.escapeChar,
    ipqos: [o.ipQosInteractive, o.ipQosBulk],
    rekeyLimit: o.rekeyLimit,
    rekeyInterval: o.rekeyInterval,
    streamLocalBindMask: o.streamLocalBindMask,
    syslogFacility: o.logFacility!,
    proxyCommand: o.jumpHost === undefined ? str(o.proxyCommand) : undefined,
    proxyJump,
    tokens: tok as unknown as ResolvedSSHConfig["tokens"],
  };
  return r;
}

export { a2port, FLAG, IPQOS_NONE, multistateName };
