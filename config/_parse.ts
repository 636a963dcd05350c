/**
 * Reading configuration files into {@link Options}: OpenSSH's
 * `process_config_line`, `match_cfg_line` and `Include`, line for line. The
 * first value obtained for an option wins; lists accumulate where OpenSSH's do.
 * All strings are byte strings.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { fromBytes, fromRaw, lower, strtonum, toBytes } from "./_bytes.ts";
import { expand, ExpandError, tildeExpand, type Tokens } from "./_expand.ts";
import { glob } from "./_glob.ts";
import { lookupKeyword, type Opcode } from "./_keywords.ts";
import { argvSplit, QuoteError, strdelim } from "./_lex.ts";
import {
  ADDRESSFAMILY,
  CANONICALIZE,
  COMPRESSION,
  CONTROLMASTER,
  DIGESTS,
  ESCAPECHAR_NONE,
  FLAG,
  type ForwardSpec,
  IPQOS_DEPRECATED_TOS,
  LOG_FACILITIES,
  LOG_LEVELS,
  type Multistate,
  multistateValue,
  type Options,
  PUBKEYAUTH,
  REQUESTTTY,
  SESSIONTYPE,
  STRICT_HOSTKEY_TABLE,
  TUNID_ERR,
  TUNNEL,
  YESNOASK,
  YESNOASKCONFIRM,
} from "./_options.ts";
import { addrMatchCidrList } from "./_addr.ts";
import {
  a2port,
  a2tunPair,
  cleanhostname,
  convtime,
  forwardEquals,
  hpdelim2,
  parseForward,
  parseJump,
  scanScaled,
  validDomain,
  validEnvName,
  validPatternInterval,
} from "./_values.ts";
import type { SSHConfigProfile } from "./defaults.ts";
import { isCertAlgorithm } from "./defaults.ts";
import { SSHConfigError } from "./errors.ts";
import { matchHostname, matchPatternBytes, matchPatternListBytes } from "./patterns.ts";
import type { SSHConfigSystem } from "./types.ts";

/** SSHCONF_* flags. */
export const CONF = { CHECKPERM: 1, USERCONF: 2, FINAL: 4, NEVERMATCH: 8 } as const;

/** READCONF_MAX_DEPTH: how deep Include may nest. */
export const MAX_INCLUDE_DEPTH = 16;
/** SSH_MAX_IDENTITY_FILES and SSH_MAX_CERTIFICATE_FILES. */
const MAX_IDENTITY_FILES = 100;
/** SSH_MAX_HOSTS_FILES. */
const MAX_HOSTS_FILES = 32;
/** Longest configuration file we read (OpenSSH has no limit; a file this big is a mistake). */
export const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;
/** Most lines read across all files of one resolution (guards against include fan-out). */
export const MAX_TOTAL_LINES = 1_000_000;

/** Everything the parser consults besides the option state. */
export interface ParseContext {
  readonly profile: SSHConfigProfile;
  readonly sys: SSHConfigSystem;
  /** getenv over byte strings. */
  readonly env: (name: string) => string | undefined;
  /** pw_dir of the local user. */
  readonly homeDir: string;
  /** pw_name of the local user. */
  readonly localUser: string;
  /**
   * The local user's uid; undefined where it cannot be known (Deno without `--allow-sys`):
   * the owner check of config files is then skipped, the mode check kept.
   */
  readonly uid: number | undefined;
  /** gethostname(). */
  readonly thisHost: string;
  /** The host as given (original_host / host_arg). */
  readonly hostArg: string;
  /** The remote command, for Match command / sessiontype. */
  readonly remoteCommand: string | undefined;
  /** The option state being filled. */
  readonly o: Options;
  /** Set when a `Match final` or `canonical` line was seen in the first pass. */
  wantFinalPass: boolean;
  /** Lines read so far. */
  lines: number;
}

/** Where the reader is. */
interface Place {
  readonly file: string;
  readonly line: number;
}

function syntax(p: Place, message: string): never {
  throw new SSHConfigError("ERR_CONFIG_SYNTAX", fromBytes(message), {
    file: fromBytes(p.file),
    line: p.line,
  });
}

/** ssh_connection_hash (OpenSSH 10: with the jump host). */
export function connectionHash(
  thisHost: string,
  host: string,
  port: string,
  user: string,
  jumpHost: string,
): string {
  const data = new Uint8Array(
    thisHost.length + host.length + port.length + user.length + jumpHost.length,
  );
  let k = 0;
  for (const s of [thisHost, host, port, user, jumpHost]) {
    for (let i = 0; i < s.length; i++) data[k++] = s.charCodeAt(i) & 0xff;
  }
  const d = sha1(data);
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The port Match and Include see (options->port or the default). */
function currentPort(ctx: ParseContext): number {
  return ctx.o.port <= 0 ? 22 : ctx.o.port;
}

/** The host name Match and Include see at this point of the pass. */
function currentHost(ctx: ParseContext, finalPass: boolean): string {
  const o = ctx.o;
  if (finalPass) return o.hostname ?? ctx.hostArg;
  if (o.hostname !== undefined) return expand(o.hostname, { h: ctx.hostArg }, undefined);
  return ctx.hostArg;
}

/** expand_match_exec_or_include_path's token set. */
function matchTokens(ctx: ParseContext, finalPass: boolean): Tokens {
  const o = ctx.o;
  const host = currentHost(ctx, finalPass);
  const port = String(currentPort(ctx));
  const ruser = o.user ?? ctx.localUser;
  const jmp = o.jumpHost === undefined || o.jumpHost.toLowerCase() === "none" ? "" : o.jumpHost;
  const dot = ctx.thisHost.indexOf(".");
  return {
    C: connectionHash(ctx.thisHost, host, port, ruser, jmp),
    L: dot < 0 ? ctx.thisHost : ctx.thisHost.slice(0, dot),
    d: ctx.homeDir,
    h: host,
    k: o.hostKeyAlias ?? host,
    l: ctx.thisHost,
    n: ctx.hostArg,
    p: port,
    r: ruser,
    u: ctx.localUser,
    i: String(ctx.uid ?? 0),
    j: jmp,
  };
}

const MATCH_WITH_VALUE = [
  "host",
  "originalhost",
  "user",
  "localuser",
  "localnetwork",
  "version",
  "tagged",
  "command",
  "exec",
];

/**
 * match_cfg_line: evaluates the criteria of a Match line (consuming `av`).
 * Returns whether it matched.
 */
async function matchCfgLine(
  ctx: ParseContext,
  av: string[],
  finalPass: boolean,
  recordFinal: boolean,
  p: Place,
): Promise<boolean> {
  const o = ctx.o;
  const ruser = o.user ?? ctx.localUser;
  let host: string;
  try {
    host = currentHost(ctx, finalPass);
  } catch (e) {
    // A HostName with a bad %-token, met by a Match line (OpenSSH is fatal here too).
    throw new SSHConfigError(
      "ERR_CONFIG_EXPAND",
      `Cannot expand the host name for Match: ${(e as Error).message}`,
      { file: fromBytes(p.file), line: p.line, cause: e },
    );
  }
  let result = true;
  let attributes = 0;
  while (av.length > 0) {
    const oattrib = av.shift()!;
    let attrib = oattrib;
    if (attrib[0] === "#") {
      av.length = 0;
      break;
    }
    const negate = attrib[0] === "!";
    if (negate) attrib = attrib.slice(1);
    const la = lower(attrib);
    if (la === "all") {
      const next = av[0];
      if (attributes > 1 || (next !== undefined && next !== "" && next[0] !== "#")) {
        syntax(p, `'${oattrib}' cannot be combined with other Match attributes`);
      }
      av.length = 0;
      if (result) result = !negate;
      return result;
    }
    attributes++;
    if (la === "canonical" || la === "final") {
      if (la === "final" && recordFinal) ctx.wantFinalPass = true;
      if (finalPass === negate) result = false;
      continue;
    }
    let arg: string | undefined;
    const eq = attrib.indexOf("=");
    if (eq > 0 && MATCH_WITH_VALUE.includes(lower(attrib.slice(0, eq)))) {
      arg = attrib.slice(eq + 1);
      attrib = attrib.slice(0, eq);
    } else {
      arg = av.shift();
      if (arg === undefined) syntax(p, `missing argument for Match '${oattrib}'`);
    }
    const lattr = lower(attrib);
    if (arg === "" && lattr !== "tagged" && lattr !== "command") arg = undefined;
    if (arg === undefined || arg[0] === "#") syntax(p, `Missing Match criteria for ${attrib}`);
    let r: boolean;
    switch (lattr) {
      case "host":
        r = matchHostname(fromBytes(host), fromBytes(arg)) === 1;
        break;
      case "originalhost":
        r = matchHostname(fromBytes(ctx.hostArg), fromBytes(arg)) === 1;
        break;
      case "user":
        r = matchPatternListBytes(ruser, arg, false) === 1;
        break;
      case "localuser":
        r = matchPatternListBytes(ctx.localUser, arg, false) === 1;
        break;
      case "localnetwork": {
        if (addrMatchCidrList(undefined, arg) === -1) syntax(p, `Invalid network list "${arg}"`);
        const addrs = (await ctx.sys.localAddresses?.()) ?? [];
        r = addrs.some((a) => addrMatchCidrList(a, arg!) === 1);
        break;
      }
      case "version":
        r = matchPatternListBytes(toBytes(ctx.profile.version), arg, false) === 1;
        break;
      case "tagged": {
        const crit = o.tag ?? "";
        r = crit === "" ? arg === "" : matchPatternListBytes(crit, arg, false) === 1;
        break;
      }
      case "command": {
        const crit = ctx.remoteCommand ?? "";
        r = crit === "" ? arg === "" : matchPatternListBytes(crit, arg, false) === 1;
        break;
      }
      case "sessiontype": {
        const crit = o.sessionType === 1
          ? "subsystem"
          : o.sessionType === 0
          ? "none"
          : ctx.remoteCommand !== undefined && ctx.remoteCommand !== ""
          ? "exec"
          : "shell";
        r = matchPatternListBytes(crit, arg, false) === 1;
        break;
      }
      case "exec": {
        let cmd: string;
        try {
          cmd = expand(arg, matchTokens(ctx, finalPass), undefined);
        } catch (e) {
          throw new SSHConfigError(
            "ERR_CONFIG_EXPAND",
            `failed to expand match exec '${fromBytes(arg)}': ${(e as Error).message}`,
            { file: fromBytes(p.file), line: p.line, cause: e },
          );
        }
        if (!result) continue;
        const status = ctx.sys.exec ? await ctx.sys.exec(fromBytes(cmd)) : 127;
        if (status === -1) {
          throw new SSHConfigError("ERR_CONFIG_EXEC", `match exec '${fromBytes(cmd)}' error`, {
            file: fromBytes(p.file),
            line: p.line,
          });
        }
        r = status === 0;
        break;
      }
      default:
        syntax(p, `Unsupported Match attribute ${attrib}`);
    }
    if (r === negate) result = false;
  }
  if (attributes === 0) syntax(p, "One or more attributes required for Match");
  return result;
}

/** rm_env: removes SendEnv entries matching the pattern. */
function rmEnv(o: Options, pattern: string): void {
  o.sendEnv = o.sendEnv.filter((e) => !matchPatternBytes(e, pattern));
}

function validNames(names: string, valid: (n: string) => boolean): boolean {
  if (names === "") return false;
  for (const n of names.split(",")) {
    if (n === "") break;
    if (!valid(n)) return false;
  }
  return true;
}

/** sshkey_names_valid2 with wildcards. */
function keyNamesValid(names: string, supported: readonly string[], plainOnly: boolean): boolean {
  return validNames(names, (n) => {
    if (supported.includes(n)) return !(plainOnly && isCertAlgorithm(n));
    return supported.some((k) => matchPatternListBytes(k, n, false) !== 0);
  });
}

/** A reader's view of one file or command line. */
interface LineState {
  readonly host: string;
  readonly flags: number;
  /** null for command-line options (-o). */
  readonly active: { v: boolean } | null;
  readonly recordFinal: boolean;
  readonly depth: number;
}

/**
 * process_config_line_depth: applies one line. Throws SSHConfigError where
 * OpenSSH reports a bad option.
 */
export async function processLine(
  ctx: ParseContext,
  rawLine: string,
  p: Place,
  st: LineState,
): Promise<void> {
  const o = ctx.o;
  const cmdline = st.active === null;
  const active = st.active ?? { v: true };
  const sp = ctx.sys.servicePort?.bind(ctx.sys);
  let line = rawLine;
  const nul = line.indexOf("\0");
  if (nul >= 0) line = line.slice(0, nul);
  if (line.length === 0) return;
  // Strip trailing whitespace (and form feeds), never the first character.
  let len = line.length - 1;
  while (len > 0 && " \t\r\n\f".includes(line[len]!)) len--;
  line = line.slice(0, len + 1);

  let d = strdelim(line);
  let keyword = d.token;
  let str = d.rest;
  if (keyword === null) return;
  if (keyword === "") {
    d = strdelim(str);
    keyword = d.token;
    str = d.rest;
  }
  if (keyword === null || keyword === "" || keyword[0] === "\n" || keyword[0] === "#") return;
  keyword = lower(keyword);
  if (str !== null) str = str.replace(/^[ \t\r\n]+/, "");
  if (str === null || str === "") syntax(p, `no argument after keyword "${keyword}"`);

  let opcode: Opcode | "ignoredunknown" | undefined = lookupKeyword(keyword);
  if (opcode === undefined) {
    if (
      o.ignoredUnknown !== undefined && matchPatternListBytes(keyword, o.ignoredUnknown, true) === 1
    ) {
      opcode = "ignoredunknown";
    } else syntax(p, `Bad configuration option: ${keyword}`);
  }
  let av: string[];
  try {
    av = argvSplit(str, true);
  } catch (e) {
    if (e instanceof QuoteError) syntax(p, "invalid quotes");
    throw e;
  }
  const next = (): string | undefined => av.shift();
  const missing: () => never = () => syntax(p, "Missing argument.");
  const isActive = () => active.v;

  const setInt = (get: () => number, set: (v: number) => void, v: number) => {
    if (isActive() && get() === -1) set(v);
  };
  const multistate = (table: Multistate, get: () => number, set: (v: number) => void) => {
    const arg = next();
    if (arg === undefined || arg === "") syntax(p, "missing argument.");
    const v = multistateValue(arg, table);
    if (v === -1) syntax(p, `unsupported option "${arg}".`);
    setInt(get, set, v);
  };
  const flag = (field: keyof Options) =>
    multistate(FLAG, () => o[field] as number, (v) => ((o[field] as number) = v));
  const table = (field: keyof Options, t: Multistate) =>
    multistate(t, () => o[field] as number, (v) => ((o[field] as number) = v));
  const parseTime = (field: keyof Options) => {
    const arg = next();
    if (arg === undefined || arg === "") syntax(p, "missing time value.");
    let v: number;
    if (arg === "none") v = -1;
    else if ((v = convtime(arg)) === -1) syntax(p, "invalid time value.");
    if (isActive() && (o[field] as number) === -1) (o[field] as number) = v;
  };
  const parseString = (field: keyof Options) => {
    const arg = next();
    if (arg === undefined || arg === "") missing();
    if (isActive() && o[field] === undefined) (o[field] as string | undefined) = arg;
  };
  const parseInt_ = (field: keyof Options) => {
    const arg = next();
    if (arg === undefined || arg === "") syntax(p, "integer value missing.");
    const v = strtonum(arg, 0, 2147483647);
    if (v === undefined) {
      syntax(p, `integer value ${/^[ \t]*[+-]?\d+$/.test(arg) ? "too large" : "invalid"}.`);
    }
    if (isActive() && (o[field] as number) === -1) (o[field] as number) = v;
  };
  const parseCommand = (field: keyof Options) => {
    const rest = str!.replace(/^[ \t\r\n=]+/, "");
    if (isActive() && o[field] === undefined) (o[field] as string | undefined) = rest;
    av = [];
  };
  const parseCharArray = (list: string[], max: number) => {
    const wasEmpty = list.length === 0;
    let i = 0;
    let arg: string | undefined;
    while ((arg = next()) !== undefined) {
      if (arg === "") syntax(p, `keyword ${keyword} empty argument`);
      if (arg.toLowerCase() === "none" && (i > 0 || av.length > 0)) {
        syntax(p, `keyword ${keyword} "none" argument must appear alone.`);
      }
      i++;
      if (isActive() && wasEmpty) {
        if (list.length >= max) syntax(p, `too many ${keyword} entries.`);
        list.push(arg);
      }
    }
  };
  const parseAlgos = (
    field: keyof Options,
    valid: (names: string) => boolean,
    label: string,
  ) => {
    const arg = next();
    if (arg === undefined || arg === "") missing();
    const body = arg[0] === "+" || arg[0] === "^" ? arg.slice(1) : arg;
    if (arg[0] !== "-" && !valid(body)) syntax(p, `Bad ${label} '${arg}'.`);
    if (isActive() && o[field] === undefined) (o[field] as string | undefined) = arg;
  };
  const agentPath = (field: "identityAgent" | "forwardAgentSockPath", arg: string) => {
    try {
      expand(arg, undefined, ctx.env);
    } catch (e) {
      if (e instanceof ExpandError) syntax(p, `Invalid environment expansion ${arg}.`);
      throw e;
    }
    if (arg[0] === "$" && arg[1] !== "{" && !validEnvName(arg.slice(1))) {
      syntax(p, `Invalid environment name ${arg}.`);
    }
    if (isActive() && o[field] === undefined) o[field] = arg;
  };

  switch (opcode) {
    case "ignore":
    case "ignoredunknown":
    case "deprecated":
    case "unsupported":
      av = [];
      break;
    case "connecttimeout":
      parseTime("connectionTimeout");
      break;
    case "forwardagent": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      const v = multistateValue(arg, FLAG);
      if (v !== -1) {
        setInt(() => o.forwardAgent, (x) => (o.forwardAgent = x), v);
        break;
      }
      setInt(() => o.forwardAgent, (x) => (o.forwardAgent = x), 1);
      agentPath("forwardAgentSockPath", arg);
      break;
    }
    case "forwardx11":
      flag("forwardX11");
      break;
    case "forwardx11trusted":
      flag("forwardX11Trusted");
      break;
    case "forwardx11timeout":
      parseTime("forwardX11Timeout");
      break;
    case "gatewayports":
      flag("gatewayPorts");
      break;
    case "exitonforwardfailure":
      flag("exitOnForwardFailure");
      break;
    case "passwordauthentication":
      flag("passwordAuthentication");
      break;
    case "kbdinteractiveauthentication":
      flag("kbdInteractiveAuthentication");
      break;
    case "kbdinteractivedevices":
      parseString("kbdInteractiveDevices");
      break;
    case "pubkeyauthentication":
      table("pubkeyAuthentication", PUBKEYAUTH);
      break;
    case "hostbasedauthentication":
      flag("hostbasedAuthentication");
      break;
    case "gssapiauthentication":
      flag("gssAuthentication");
      break;
    case "gssapidelegatecredentials":
      flag("gssDelegCreds");
      break;
    case "gssapikeyexchange":
      flag("gssKeyExchange");
      break;
    case "gssapitrustdns":
      flag("gssTrustDns");
      break;
    case "gssapirenewalforcesrekey":
      flag("gssRenewalRekey");
      break;
    case "gssapiclientidentity":
      parseString("gssClientIdentity");
      break;
    case "gssapiserveridentity":
      parseString("gssServerIdentity");
      break;
    case "gssapikexalgorithms": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      const gss = ctx.profile.gssKex?.supported ?? [];
      if (!validNames(arg, (n) => gss.includes(n))) syntax(p, `Bad GSSAPI KexAlgorithms '${arg}'.`);
      if (isActive() && o.gssKexAlgorithms === undefined) o.gssKexAlgorithms = arg;
      break;
    }
    case "batchmode":
      flag("batchMode");
      break;
    case "checkhostip":
      flag("checkHostIP");
      break;
    case "verifyhostkeydns":
      table("verifyHostKeyDNS", YESNOASK);
      break;
    case "stricthostkeychecking":
      table("strictHostKeyChecking", STRICT_HOSTKEY_TABLE);
      break;
    case "compression":
      table("compression", COMPRESSION);
      break;
    case "tcpkeepalive":
      flag("tcpKeepAlive");
      break;
    case "nohostauthenticationforlocalhost":
      flag("noHostAuthenticationForLocalhost");
      break;
    case "numberofpasswordprompts":
      parseInt_("numberOfPasswordPrompts");
      break;
    case "rekeylimit": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      let val: bigint;
      if (arg === "default") val = 0n;
      else {
        const v = scanScaled(arg);
        if (v === undefined) syntax(p, `Bad number '${arg}'`);
        if (v !== 0n && v < 16n) syntax(p, "RekeyLimit too small");
        val = v;
      }
      if (isActive() && o.rekeyLimit === -1n) o.rekeyLimit = val;
      if (av.length > 0) {
        if (av[0] === "none") {
          next();
          break;
        }
        parseTime("rekeyInterval");
      }
      break;
    }
    case "identityfile":
    case "certificatefile": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      if (isActive()) {
        const list = opcode === "identityfile" ? o.identityFiles : o.certificateFiles;
        if (list.length >= MAX_IDENTITY_FILES) {
          syntax(
            p,
            `Too many ${
              opcode === "identityfile" ? "identity" : "certificate"
            } files specified (max ${MAX_IDENTITY_FILES}).`,
          );
        }
        const userProvided = (st.flags & CONF.USERCONF) !== 0;
        if (!list.some((f) => f.userProvided === userProvided && f.path === arg)) {
          list.push({ path: arg, userProvided });
        }
      }
      break;
    }
    case "xauthlocation":
      parseString("xauthLocation");
      break;
    case "user":
      parseString("user");
      break;
    case "globalknownhostsfile":
      parseCharArray(o.systemHostfiles, MAX_HOSTS_FILES);
      break;
    case "userknownhostsfile":
      parseCharArray(o.userHostfiles, MAX_HOSTS_FILES);
      break;
    case "hostname":
      parseString("hostname");
      break;
    case "tag":
      parseString("tag");
      break;
    case "hostkeyalias":
      parseString("hostKeyAlias");
      break;
    case "preferredauthentications":
      parseString("preferredAuthentications");
      break;
    case "bindaddress":
      parseString("bindAddress");
      break;
    case "bindinterface":
      parseString("bindInterface");
      break;
    case "pkcs11provider":
      parseString("pkcs11Provider");
      break;
    case "securitykeyprovider":
      parseString("skProvider");
      break;
    case "knownhostscommand":
      parseCommand("knownHostsCommand");
      break;
    case "proxycommand":
      parseCommand("proxyCommand");
      break;
    case "proxyjump": {
      const rest = str!.replace(/^[ \t\r\n=]+/, "");
      const j = parseJump(rest, sp, cmdline);
      if (j === undefined) syntax(p, `Invalid ProxyJump "${rest}"`);
      if (j === "none") {
        if (isActive() && o.jumpHost === undefined) {
          o.jumpHost = "none";
          o.jumpPort = 0;
        }
      } else if (isActive() && o.proxyCommand === undefined && o.jumpHost === undefined) {
        o.jumpUser = j.user;
        o.jumpHost = j.host;
        o.jumpPort = j.port;
        o.proxyCommand = "none";
        o.jumpExtra = j.extra;
      }
      av = [];
      break;
    }
    case "port": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      const v = a2port(arg, sp);
      if (v <= 0) syntax(p, `Bad port '${arg}'.`);
      if (isActive() && o.port === -1) o.port = v;
      break;
    }
    case "connectionattempts":
      parseInt_("connectionAttempts");
      break;
    case "ciphers": {
      const fam = ctx.profile.ciphers;
      parseAlgos(
        "ciphers",
        (s) => validNames(s, (n) => fam.supported.includes(n) || !!fam.accepted?.includes(n)),
        "SSH2 cipher spec",
      );
      break;
    }
    case "macs": {
      const fam = ctx.profile.macs;
      parseAlgos(
        "macs",
        (s) => validNames(s, (n) => fam.supported.includes(n) || !!fam.accepted?.includes(n)),
        "SSH2 MAC spec",
      );
      break;
    }
    case "kexalgorithms": {
      const fam = ctx.profile.kex;
      parseAlgos(
        "kexAlgorithms",
        (s) => validNames(s, (n) => fam.supported.includes(n) || !!fam.accepted?.includes(n)),
        "SSH2 KexAlgorithms",
      );
      break;
    }
    case "hostkeyalgorithms":
      parseAlgos(
        "hostKeyAlgorithms",
        (s) => keyNamesValid(s, ctx.profile.keys.supported, false),
        "key types",
      );
      break;
    case "casignaturealgorithms":
      parseAlgos(
        "caSignAlgorithms",
        (s) => keyNamesValid(s, ctx.profile.keys.supported, true),
        "key types",
      );
      break;
    case "hostbasedacceptedalgorithms":
      parseAlgos(
        "hostbasedAcceptedAlgorithms",
        (s) => keyNamesValid(s, ctx.profile.keys.supported, false),
        "key types",
      );
      break;
    case "pubkeyacceptedalgorithms":
      parseAlgos(
        "pubkeyAcceptedAlgorithms",
        (s) => keyNamesValid(s, ctx.profile.keys.supported, false),
        "key types",
      );
      break;
    case "loglevel": {
      const arg = next();
      const lv = arg === undefined
        ? undefined
        : (ctx.profile.logLevels ?? LOG_LEVELS).find(([n]) =>
          n.toLowerCase() === arg.toLowerCase()
        );
      if (!lv) syntax(p, `unsupported log level '${arg ?? "<NONE>"}'`);
      if (isActive() && o.logLevel === undefined) o.logLevel = lv[1];
      break;
    }
    case "syslogfacility": {
      const arg = next();
      const f = arg === undefined
        ? undefined
        : LOG_FACILITIES.find((n) => n.toLowerCase() === arg.toLowerCase());
      if (!f) syntax(p, `unsupported log facility '${arg ?? "<NONE>"}'`);
      // OpenSSH sets this even in inactive blocks (it does not check activep).
      if (o.logFacility === undefined) o.logFacility = f;
      break;
    }
    case "logverbose": {
      let i = 0;
      let arg: string | undefined;
      const wasEmpty = o.logVerbose.length === 0;
      while ((arg = next()) !== undefined) {
        if (arg === "") syntax(p, `keyword ${keyword} empty argument`);
        if (arg.toLowerCase() === "none" && (i > 0 || av.length > 0)) {
          syntax(p, `keyword ${keyword} "none" argument must appear alone.`);
        }
        i++;
        if (isActive() && wasEmpty) o.logVerbose.push(arg);
      }
      break;
    }
    case "localforward":
    case "remoteforward":
    case "dynamicforward": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      const remote = opcode === "remoteforward";
      let dynamic = opcode === "dynamicforward";
      let fwdarg = arg;
      if (!dynamic) {
        const arg2 = next();
        if (arg2 === undefined || arg2 === "") {
          if (remote) dynamic = true;
          else syntax(p, "Missing target argument.");
        } else fwdarg = `${arg}:${arg2}`;
      }
      // fwdarg is a 256-byte buffer in OpenSSH: longer specs are truncated.
      fwdarg = fwdarg.slice(0, 255);
      const fwd = parseForward(fwdarg, dynamic, remote, ctx.env, sp);
      if (!fwd) syntax(p, "Bad forwarding specification.");
      if (isActive()) {
        const list: ForwardSpec[] = remote ? o.remoteForwards : o.localForwards;
        if (!list.some((f) => forwardEquals(f, fwd))) list.push(fwd);
      }
      break;
    }
    case "permitremoteopen": {
      const found = o.permittedRemoteOpens.length === 0;
      const strs: string[] = [];
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        const la = arg.toLowerCase();
        if (la === "none" || la === "any") {
          if (strs.length > 0 || av.length > 0) {
            syntax(p, `keyword ${keyword} "${arg}" argument must appear alone.`);
          }
        } else {
          const h = hpdelim2(arg);
          if (!h || h.delim === "/") syntax(p, "missing host in permitremoteopen");
          cleanhostname(h.field);
          if (h.rest === null || (h.rest !== "*" && a2port(h.rest, sp) <= 0)) {
            syntax(p, "bad port number in permitremoteopen");
          }
        }
        strs.push(arg);
      }
      if (strs.length === 0) syntax(p, "missing permitremoteopen specification");
      if (found && isActive()) o.permittedRemoteOpens = strs;
      break;
    }
    case "clearallforwardings":
      flag("clearForwardings");
      break;
    case "host": {
      if (cmdline) syntax(p, "Host directive not supported as a command-line option");
      active.v = false;
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        if (arg === "") syntax(p, `keyword ${keyword} empty argument`);
        if ((st.flags & CONF.NEVERMATCH) !== 0) {
          av = [];
          break;
        }
        const negated = arg[0] === "!";
        const pat = negated ? arg.slice(1) : arg;
        if (matchPatternBytes(st.host, pat)) {
          if (negated) {
            active.v = false;
            av = [];
            break;
          }
          active.v = true;
        }
      }
      break;
    }
    case "match": {
      if (cmdline) syntax(p, "Host directive not supported as a command-line option");
      const v = await matchCfgLine(ctx, av, (st.flags & CONF.FINAL) !== 0, st.recordFinal, p);
      active.v = (st.flags & CONF.NEVERMATCH) !== 0 ? false : v;
      break;
    }
    case "escapechar": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      let v: number;
      if (arg === "none") v = ESCAPECHAR_NONE;
      else if (arg.length === 1) v = arg.charCodeAt(0);
      else if (
        arg[0] === "^" && arg.length === 2 && arg.charCodeAt(1) >= 64 && arg.charCodeAt(1) < 128
      ) {
        v = arg.charCodeAt(1) & 31;
      } else syntax(p, "Bad escape character.");
      setInt(() => o.escapeChar, (x) => (o.escapeChar = x), v);
      break;
    }
    case "addressfamily":
      table("addressFamily", ADDRESSFAMILY);
      break;
    case "enablesshkeysign":
      flag("enableSSHKeysign");
      break;
    case "identitiesonly":
      flag("identitiesOnly");
      break;
    case "serveraliveinterval":
      parseTime("serverAliveInterval");
      break;
    case "serveralivecountmax":
      parseInt_("serverAliveCountMax");
      break;
    case "sendenv": {
      let arg: string | undefined;
      let found = false;
      while ((arg = next()) !== undefined) {
        if (arg === "" || arg.includes("=")) syntax(p, "Invalid environment name.");
        found = true;
        if (!isActive()) continue;
        if (arg[0] === "-") {
          rmEnv(o, arg.slice(1));
          continue;
        }
        o.sendEnv.push(arg);
      }
      if (!found) syntax(p, `no ${keyword} specified`);
      break;
    }
    case "setenv": {
      const found = o.setEnv.length === 0;
      const strs: string[] = [];
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        if (!arg.includes("=")) syntax(p, "Invalid SetEnv.");
        const name = arg.slice(0, arg.indexOf("="));
        if (strs.some((s) => s.startsWith(name + "="))) continue;
        strs.push(arg);
      }
      if (strs.length === 0) syntax(p, `no ${keyword} specified`);
      if (found && isActive()) o.setEnv = strs;
      break;
    }
    case "controlpath":
      parseString("controlPath");
      break;
    case "controlmaster":
      table("controlMaster", CONTROLMASTER);
      break;
    case "controlpersist": {
      const arg = next();
      if (arg === undefined || arg === "") syntax(p, "Missing ControlPersist argument.");
      let v = 0, t = 0;
      if (arg === "no" || arg === "false") v = 0;
      else if (arg === "yes" || arg === "true") v = 1;
      else if ((t = convtime(arg)) >= 0) v = 1;
      else syntax(p, "Bad ControlPersist argument.");
      if (isActive() && o.controlPersist === -1) {
        o.controlPersist = v;
        o.controlPersistTimeout = t;
      }
      break;
    }
    case "hashknownhosts":
      flag("hashKnownHosts");
      break;
    case "tunnel":
      table("tunOpen", TUNNEL);
      break;
    case "tunneldevice": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      const [l, r] = a2tunPair(arg);
      if (l === TUNID_ERR) syntax(p, "Bad tun device.");
      if (isActive() && o.tunLocal === -1) {
        o.tunLocal = l;
        o.tunRemote = r;
      }
      break;
    }
    case "localcommand":
      parseCommand("localCommand");
      break;
    case "permitlocalcommand":
      flag("permitLocalCommand");
      break;
    case "remotecommand":
      parseCommand("remoteCommand");
      break;
    case "visualhostkey":
      flag("visualHostKey");
      break;
    case "include":
      if (cmdline) syntax(p, "Include directive not supported as a command-line option");
      await include(ctx, av, p, st, active);
      av = [];
      break;
    case "ipqos": {
      const parse = (a: string | undefined) => {
        if (a === undefined) return -1;
        const named = (ctx.profile.ipqosNames ?? IPQOS_DEPRECATED_TOS).find(([n]) =>
          n === a.toLowerCase()
        );
        if (named) return named[1];
        return strtonum(a, 0, 255) ?? -1;
      };
      const a1 = next();
      const v1 = parse(a1);
      if (v1 === -1) syntax(p, `Bad IPQoS value: ${a1 ?? "(null)"}`);
      const a2 = next();
      let v2 = v1;
      if (a2 !== undefined) {
        v2 = parse(a2);
        if (v2 === -1) syntax(p, `Bad IPQoS value: ${a2}`);
      }
      if (isActive() && o.ipQosInteractive === -1) {
        o.ipQosInteractive = v1;
        o.ipQosBulk = v2;
      }
      break;
    }
    case "requesttty":
      table("requestTTY", REQUESTTTY);
      break;
    case "sessiontype":
      table("sessionType", SESSIONTYPE);
      break;
    case "stdinnull":
      flag("stdinNull");
      break;
    case "forkafterauthentication":
      flag("forkAfterAuthentication");
      break;
    case "ignoreunknown":
      parseString("ignoredUnknown");
      break;
    case "proxyusefdpass":
      flag("proxyUseFdpass");
      break;
    case "canonicaldomains": {
      const found = o.canonicalDomains.length === 0;
      const strs: string[] = [];
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        if (arg.toLowerCase() === "none" && (strs.length > 0 || av.length > 0)) {
          syntax(p, `keyword ${keyword} "none" argument must appear alone.`);
        }
        const err = validDomain(arg);
        if (err !== undefined) syntax(p, err);
        // valid_domain lower-cases the name and drops a trailing dot.
        const dom = lower(arg);
        strs.push(dom.endsWith(".") ? dom.slice(0, -1) : dom);
      }
      if (strs.length === 0) syntax(p, `no ${keyword} specified`);
      if (found && isActive()) o.canonicalDomains = strs;
      break;
    }
    case "canonicalizepermittedcnames": {
      const found = o.permittedCnames.length === 0;
      const cn: { source: string; target: string }[] = [];
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        let source: string, target: string;
        if (arg.toLowerCase() === "none") {
          if (cn.length > 0 || av.length > 0) {
            syntax(p, `keyword ${keyword} "none" argument must appear alone.`);
          }
          source = arg;
          target = "";
        } else if (arg === "*") {
          source = arg;
          target = arg;
        } else {
          const la = lower(arg);
          const colon = la.indexOf(":");
          if (colon < 0 || colon === la.length - 1) syntax(p, `Invalid permitted CNAME "${arg}"`);
          source = la.slice(0, colon);
          target = la.slice(colon + 1);
        }
        cn.push({ source, target });
      }
      if (cn.length === 0) syntax(p, `no ${keyword} specified`);
      if (found && isActive()) o.permittedCnames = cn;
      break;
    }
    case "canonicalizehostname":
      table("canonicalizeHostname", CANONICALIZE);
      break;
    case "canonicalizemaxdots":
      parseInt_("canonicalizeMaxDots");
      break;
    case "canonicalizefallbacklocal":
      flag("canonicalizeFallbackLocal");
      break;
    case "streamlocalbindmask": {
      const arg = next();
      if (arg === undefined || arg === "") syntax(p, "Missing StreamLocalBindMask argument.");
      const m = /^[ \t\n\r\f\v]*([+-]?)([0-7]+)/.exec(arg);
      const v = m ? (m[1] === "-" ? -1 : 1) * parseInt(m[2]!, 8) : NaN;
      if (!m || v < 0 || v > 0o777) syntax(p, "Bad mask.");
      // OpenSSH sets this even in inactive blocks, and the last value wins.
      o.streamLocalBindMask = v;
      break;
    }
    case "streamlocalbindunlink":
      flag("streamLocalBindUnlink");
      break;
    case "revokedhostkeys":
      parseString("revokedHostKeys");
      break;
    case "fingerprinthash": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      const dg = DIGESTS.find((n) => n.toLowerCase() === arg.toLowerCase());
      if (!dg) syntax(p, `Invalid hash algorithm "${arg}".`);
      if (isActive() && o.fingerprintHash === undefined) o.fingerprintHash = dg;
      break;
    }
    case "updatehostkeys":
      table("updateHostKeys", YESNOASK);
      break;
    case "addkeystoagent": {
      const arg = next();
      const arg2 = next();
      let v = multistateValue(arg, YESNOASKCONFIRM);
      if (arg === undefined || arg === "") syntax(p, "missing argument.");
      let v2 = 0;
      if (v === 3 && arg2 !== undefined) {
        if ((v2 = convtime(arg2)) === -1) syntax(p, "invalid time value.");
      } else if (v === -1 && arg2 === undefined) {
        if ((v2 = convtime(arg)) === -1) syntax(p, "unsupported option");
        v = 1;
      } else if (v === -1 || arg2 !== undefined) syntax(p, "unsupported option");
      if (isActive() && o.addKeysToAgent === -1) {
        o.addKeysToAgent = v;
        o.addKeysToAgentLifespan = v2;
      }
      break;
    }
    case "identityagent": {
      const arg = next();
      if (arg === undefined || arg === "") missing();
      agentPath("identityAgent", arg);
      break;
    }
    case "enableescapecommandline":
      flag("enableEscapeCommandline");
      break;
    case "requiredrsasize":
      parseInt_("requiredRSASize");
      break;
    case "obscurekeystroketiming": {
      let v = -1;
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        if (v !== -1) syntax(p, "invalid arguments");
        if (arg === "yes" || arg === "true") v = 20;
        else if (arg === "no" || arg === "false") v = 0;
        else if (arg.startsWith("interval:")) {
          const n = strtonum(arg.slice(9), 0, 2147483647);
          if (arg.slice(9) === "" || n === undefined) syntax(p, "integer value invalid.");
          if (n <= 0 || n > 1000) syntax(p, "value out of range.");
          v = n;
        } else syntax(p, `unsupported argument "${arg}"`);
      }
      if (v === -1) syntax(p, "missing argument");
      setInt(
        () => o.obscureKeystrokeTimingInterval,
        (x) => (o.obscureKeystrokeTimingInterval = x),
        v,
      );
      break;
    }
    case "channeltimeout": {
      const found = o.channelTimeouts.length === 0;
      const strs: string[] = [];
      let arg: string | undefined;
      while ((arg = next()) !== undefined) {
        if (arg.toLowerCase() === "none") {
          if (strs.length > 0 || av.length > 0) {
            syntax(p, `keyword ${keyword} "none" argument must appear alone.`);
          }
        } else if (!validPatternInterval(arg)) syntax(p, `invalid channel timeout ${arg}`);
        strs.push(arg);
      }
      if (strs.length === 0) syntax(p, `no ${keyword} specified`);
      if (found && isActive()) o.channelTimeouts = strs;
      break;
    }
    case "versionaddendum": {
      const rest = str!.replace(/^[ \t\r\n]+/, "");
      if (rest.includes("\r")) syntax(p, `Invalid ${keyword} argument`);
      // The whole rest of the line, comments included (OpenSSH's '#' cut never reaches it).
      if (isActive() && o.versionAddendum === undefined) {
        o.versionAddendum = rest.toLowerCase() === "none" ? "" : rest;
      }
      av = [];
      break;
    }
    default: {
      const never: never = opcode;
      syntax(p, `Unimplemented opcode ${String(never)}`);
    }
  }
  if (av.length > 0) syntax(p, `keyword ${keyword} extra arguments at end of line`);
}

/** Include: expands, anchors and globs each argument, then reads the files. */
async function include(
  ctx: ParseContext,
  av: string[],
  p: Place,
  st: LineState,
  active: { v: boolean },
): Promise<void> {
  const user = (st.flags & CONF.USERCONF) !== 0;
  let failed = false;
  for (const arg of av) {
    if (arg === "") syntax(p, "keyword include empty argument");
    let path: string;
    try {
      path = expand(arg, matchTokens(ctx, (st.flags & CONF.FINAL) !== 0), ctx.env);
    } catch (e) {
      if (e instanceof ExpandError && e.missingVariable) continue; // OpenSSH logs and skips it
      throw new SSHConfigError(
        "ERR_CONFIG_EXPAND",
        `Unable to expand user config file '${fromBytes(arg)}'`,
        {
          file: fromBytes(p.file),
          line: p.line,
          cause: e,
        },
      );
    }
    if (path[0] === "~" && !user) syntax(p, `bad include path ${path}.`);
    const pattern = path[0] !== "/" && path[0] !== "~"
      ? `${user ? "~/.ssh" : "/etc/ssh"}/${path}`
      : path;
    const home = ctx.env("HOME") ?? ctx.homeDir;
    const files = await glob(pattern, {
      home,
      userHome: (u) => {
        const h = ctx.sys.userHome?.(fromBytes(u));
        return h === undefined ? undefined : toBytes(h);
      },
      readDir: async (d) => (await ctx.sys.readDir?.(fromBytes(d)))?.map(toBytes),
      // Asked without reading: a file read twice could differ (or, a FIFO, hang the second
      // read), and reading is the include's job.
      exists: async (f) =>
        ctx.sys.stat
          ? (await ctx.sys.stat(fromBytes(f))) !== undefined
          : (await readText(ctx, f)) !== undefined,
    });
    const oactive = active.v;
    for (const f of files) {
      const r = await readConfigFile(ctx, f, {
        host: st.host,
        flags: st.flags | CONF.CHECKPERM | (oactive ? 0 : CONF.NEVERMATCH),
        active,
        recordFinal: st.recordFinal,
        depth: st.depth + 1,
      });
      active.v = oactive;
      if (!r) failed = true;
    }
  }
  if (failed) syntax(p, "Can't open user config file");
}

/** Reads a file as a byte string; undefined when it does not exist. */
async function readText(ctx: ParseContext, path: string): Promise<string | undefined> {
  let data: Uint8Array | string | undefined;
  try {
    data = await ctx.sys.readFile?.(fromBytes(path));
  } catch (e) {
    throw new SSHConfigError(
      "ERR_CONFIG_FILE",
      `Can't open user config file ${fromBytes(path)}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (data === undefined) return undefined;
  const len = typeof data === "string" ? data.length : data.byteLength;
  if (len > MAX_CONFIG_FILE_BYTES) {
    throw new SSHConfigError(
      "ERR_CONFIG_FILE",
      `${fromBytes(path)} is larger than ${MAX_CONFIG_FILE_BYTES} bytes`,
    );
  }
  return typeof data === "string" ? toBytes(data) : fromRaw(data);
}

/**
 * read_config_file_depth: false when the file does not exist, else reads it
 * line by line.
 */
export async function readConfigFile(
  ctx: ParseContext,
  filename: string,
  st: LineState,
  text?: string,
): Promise<boolean> {
  if (st.depth < 0 || st.depth > MAX_INCLUDE_DEPTH) {
    throw new SSHConfigError("ERR_CONFIG_INCLUDE", "Too many recursive configuration includes", {
      file: fromBytes(filename),
    });
  }
  // Owner and mode first, as OpenSSH checks them before it reads a byte.
  if ((st.flags & CONF.CHECKPERM) !== 0 && text === undefined && ctx.sys.stat) {
    const s = await ctx.sys.stat(fromBytes(filename));
    const foreign = s !== undefined && s.uid !== 0 && ctx.uid !== undefined && s.uid !== ctx.uid;
    if (s && (foreign || (s.mode & 0o22) !== 0)) {
      throw new SSHConfigError(
        "ERR_CONFIG_FILE",
        `Bad owner or permissions on ${fromBytes(filename)}`,
      );
    }
  }
  const data = text ?? (await readText(ctx, filename));
  if (data === undefined) return false;
  const lines = data.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    if (++ctx.lines > MAX_TOTAL_LINES) {
      throw new SSHConfigError(
        "ERR_CONFIG_INCLUDE",
        `More than ${MAX_TOTAL_LINES} configuration lines`,
      );
    }
    await processLine(ctx, lines[i]!, { file: filename, line: i + 1 }, st);
  }
  return true;
}

/** Applies a command-line option (`ssh -o`). */
export async function processCommandLine(
  ctx: ParseContext,
  line: string,
  host: string,
): Promise<void> {
  await processLine(ctx, line, { file: "command-line", line: 0 }, {
    host,
    flags: CONF.USERCONF,
    active: null,
    recordFinal: false,
    depth: 0,
  });
}

/** `~` expansion with the context's home directories. */
export function tilde(ctx: ParseContext, path: string): string {
  return tildeExpand(path, {
    homeDir: ctx.homeDir,
    userHome: (u) => {
      const h = ctx.sys.userHome?.(fromBytes(u));
      return h === undefined ? undefined : toBytes(h);
    },
  });
}

export { matchTokens };
