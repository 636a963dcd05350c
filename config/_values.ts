/**
 * Value parsers shared by the keyword handlers: times, ports, sizes,
 * forwarding specs, jump host lists, URIs. Each mirrors the OpenSSH function
 * named in its doc, including what it accepts at the edges.
 *
 * @module
 */

import { INT_MAX, isAlnum, isDigit, strtonum } from "./_bytes.ts";
import { expand, ExpandError } from "./_expand.ts";
import { type ForwardSpec, PORT_STREAMLOCAL, TUNID_ANY, TUNID_ERR, TUNID_MAX } from "./_options.ts";

/** NI_MAXHOST. */
const NI_MAXHOST = 1025;
/** sizeof(sun_path) on Linux. */
const PATH_MAX_SUN = 108;

/** convtime (OpenSSH 10): seconds, or -1 when invalid. */
export function convtime(s: string | undefined): number {
  if (s === undefined || s === "") return -1;
  let total = 0;
  let p = 0;
  while (p < s.length) {
    let np = p;
    while (isDigit(s[np])) np++;
    const digits = s.slice(p, np);
    if (digits === "") return -1;
    const secs0 = Number(digits);
    if (secs0 > INT_MAX) return -1;
    let mult: number;
    switch (s[np]) {
      case undefined:
        mult = 1;
        np--;
        break;
      case "s":
      case "S":
        mult = 1;
        break;
      case "m":
      case "M":
        mult = 60;
        break;
      case "h":
      case "H":
        mult = 3600;
        break;
      case "d":
      case "D":
        mult = 86400;
        break;
      case "w":
      case "W":
        mult = 604800;
        break;
      default:
        return -1;
    }
    if (secs0 > Math.floor(INT_MAX / mult)) return -1;
    const secs = secs0 * mult;
    if (total > INT_MAX - secs) return -1;
    total += secs;
    p = np + 1;
  }
  return total;
}

/** a2port: 0..65535 or a service name; -1 when invalid. */
export function a2port(
  s: string,
  servicePort: ((name: string) => number | undefined) | undefined,
): number {
  const n = strtonum(s, 0, 65535);
  if (n !== undefined) return n;
  const p = servicePort?.(s);
  return p !== undefined && p >= 0 && p <= 65535 ? p : -1;
}

/** a2tun with a remote part: [local, remote]; local is TUNID_ERR when invalid. */
export function a2tunPair(s: string): [number, number] {
  const colon = s.indexOf(":");
  if (colon < 0) return [a2tun(s), TUNID_ANY];
  const remote = a2tun(s.slice(colon + 1));
  const local = a2tun(s.slice(0, colon));
  return [remote === TUNID_ERR ? TUNID_ERR : local, remote];
}

function a2tun(s: string): number {
  if (s.toLowerCase() === "any") return TUNID_ANY;
  const n = strtonum(s, 0, TUNID_MAX);
  return n === undefined ? TUNID_ERR : n;
}

const LLONG_MAX = (1n << 63n) - 1n;
const LLONG_MIN = -(1n << 63n);

/** scan_scaled: a size with an optional B/K/M/G/T/P/E suffix (powers of 1024); undefined when invalid. */
export function scanScaled(s: string): bigint | undefined {
  let p = 0;
  while (p < s.length && /[ \t\n\r\f\v]/.test(s[p]!)) p++;
  let sign = 0;
  while (s[p] === "-" || s[p] === "+") {
    if (sign) return undefined;
    sign = s[p] === "-" ? -1 : 1;
    p++;
  }
  const MAX_DIGITS = 21;
  let ndigits = 0, fractDigits = 0;
  let whole = 0n, fpart = 0n;
  for (; p < s.length && (isDigit(s[p]) || s[p] === "."); p++) {
    if (s[p] === ".") {
      if (fractDigits > 0) return undefined;
      fractDigits = 1;
      continue;
    }
    const i = BigInt(s.charCodeAt(p) - 48);
    if (fractDigits > 0) {
      if (fractDigits >= MAX_DIGITS - 1) continue;
      fractDigits++;
      if (fpart > LLONG_MAX / 10n) return undefined;
      fpart *= 10n;
      if (i > LLONG_MAX - fpart) return undefined;
      fpart += i;
    } else {
      if (++ndigits >= MAX_DIGITS) return undefined;
      if (whole > LLONG_MAX / 10n) return undefined;
      whole *= 10n;
      if (i > LLONG_MAX - whole) return undefined;
      whole += i;
    }
  }
  if (sign) whole *= BigInt(sign);
  if (p >= s.length) return whole;
  const units = "BKMGTPE";
  const u = units.indexOf(s[p]!.toUpperCase());
  if (u < 0 || (s[p] !== units[u] && s[p] !== units[u]!.toLowerCase())) return undefined;
  if (isAlnum(s[p + 1])) return undefined;
  const scale = 1n << BigInt(10 * u);
  if (whole > LLONG_MAX / scale || whole < LLONG_MIN / scale) return undefined;
  whole *= scale;
  // C division truncates toward zero, as BigInt division does.
  while (fpart >= LLONG_MAX / scale || fpart <= LLONG_MIN / scale) {
    fpart /= 10n;
    fractDigits--;
  }
  fpart *= scale;
  if (fractDigits > 0) { for (let i = 0; i < fractDigits - 1; i++) fpart /= 10n; }
  return sign === -1 ? whole - fpart : whole + fpart;
}

interface FwdArg {
  arg: string;
  ispath: boolean;
}

/** parse_fwd_field over a cursor; null at the end or on a malformed field. */
function parseFwdFields(spec: string): { fields: FwdArg[]; trailing: boolean } {
  const fields: FwdArg[] = [];
  let cp: string | null = spec;
  for (let n = 0; n < 4 && cp !== null; n++) {
    if (cp === "") {
      cp = null;
      break;
    }
    if (cp[0] === "[") {
      let ep = 1;
      let ispath = false;
      while (ep < cp.length && cp[ep] !== "]") {
        if (cp[ep] === "/") ispath = true;
        ep++;
      }
      if (cp[ep] !== "]" || (cp[ep + 1] !== ":" && ep + 1 < cp.length)) break;
      fields.push({ arg: cp.slice(1, ep), ispath });
      cp = ep + 1 < cp.length ? cp.slice(ep + 2) : "";
      continue;
    }
    let arg = "";
    let ispath = false;
    let i = 0;
    let bad = false;
    let ended = false;
    for (; i < cp.length; i++) {
      const c = cp[i]!;
      if (c === "\\") {
        if (i + 1 >= cp.length) {
          bad = true;
          break;
        }
        // The escaped character is taken literally: it neither ends the field nor marks a path.
        i++;
        arg += cp[i]!;
        continue;
      }
      if (c === "/") ispath = true;
      if (c === ":") {
        cp = cp.slice(i + 1);
        ended = true;
        break;
      }
      arg += c;
    }
    if (bad) return { fields, trailing: true };
    fields.push({ arg, ispath });
    if (!ended) cp = "";
  }
  return { fields, trailing: cp !== null && cp !== "" };
}

/**
 * parse_forward: a LocalForward/RemoteForward/DynamicForward spec (`${ENV}`
 * expanded first). Returns undefined when OpenSSH would refuse it.
 */
export function parseForward(
  spec: string,
  dynamic: boolean,
  remote: boolean,
  env: (name: string) => string | undefined,
  servicePort: ((name: string) => number | undefined) | undefined,
): ForwardSpec | undefined {
  let p: string;
  try {
    p = expand(spec, undefined, env);
  } catch (e) {
    if (e instanceof ExpandError) return undefined;
    throw e;
  }
  p = p.replace(/^[ \t\n\r\f\v]+/, "");
  const { fields, trailing } = parseFwdFields(p);
  let i = trailing ? 0 : fields.length;
  const port = (s: string) => a2port(s, servicePort);
  const f: ForwardSpec = {
    listenHost: undefined,
    listenPort: 0,
    listenPath: undefined,
    connectHost: undefined,
    connectPort: 0,
    connectPath: undefined,
  };
  const a = (k: number) => fields[k]!;
  switch (i) {
    case 1:
      if (a(0).ispath) {
        f.listenPath = a(0).arg;
        f.listenPort = PORT_STREAMLOCAL;
      } else f.listenPort = port(a(0).arg);
      f.connectHost = "socks";
      break;
    case 2:
      if (a(0).ispath && a(1).ispath) {
        f.listenPath = a(0).arg;
        f.listenPort = PORT_STREAMLOCAL;
        f.connectPath = a(1).arg;
        f.connectPort = PORT_STREAMLOCAL;
      } else if (a(1).ispath) {
        f.listenPort = port(a(0).arg);
        f.connectPath = a(1).arg;
        f.connectPort = PORT_STREAMLOCAL;
      } else {
        f.listenHost = a(0).arg;
        f.listenPort = port(a(1).arg);
        f.connectHost = "socks";
      }
      break;
    case 3:
      if (a(0).ispath) {
        f.listenPath = a(0).arg;
        f.listenPort = PORT_STREAMLOCAL;
        f.connectHost = a(1).arg;
        f.connectPort = port(a(2).arg);
      } else if (a(2).ispath) {
        f.listenHost = a(0).arg;
        f.listenPort = port(a(1).arg);
        f.connectPath = a(2).arg;
        f.connectPort = PORT_STREAMLOCAL;
      } else {
        f.listenPort = port(a(0).arg);
        f.connectHost = a(1).arg;
        f.connectPort = port(a(2).arg);
      }
      break;
    case 4:
      f.listenHost = a(0).arg;
      f.listenPort = port(a(1).arg);
      f.connectHost = a(2).arg;
      f.connectPort = port(a(3).arg);
      break;
    default:
      i = 0;
  }
  if (dynamic) {
    if (!(i === 1 || i === 2)) return undefined;
  } else {
    if (!(i === 3 || i === 4)) {
      if (f.connectPath === undefined && f.listenPath === undefined) return undefined;
    }
    if (f.connectPort <= 0 && f.connectPath === undefined) return undefined;
  }
  if ((f.listenPort < 0 && f.listenPath === undefined) || (!remote && f.listenPort === 0)) {
    return undefined;
  }
  if (f.connectHost !== undefined && f.connectHost.length >= NI_MAXHOST) return undefined;
  if (f.connectPath !== undefined && f.connectPath.length >= PATH_MAX_SUN) return undefined;
  if (f.listenHost !== undefined && f.listenHost.length >= NI_MAXHOST) return undefined;
  if (f.listenPath !== undefined && f.listenPath.length >= PATH_MAX_SUN) return undefined;
  return f;
}

/** forward_equals. */
export function forwardEquals(a: ForwardSpec, b: ForwardSpec): boolean {
  return a.listenHost === b.listenHost && a.listenPort === b.listenPort &&
    a.listenPath === b.listenPath && a.connectHost === b.connectHost &&
    a.connectPort === b.connectPort && a.connectPath === b.connectPath;
}

/** valid_domain (without lower-casing); the error text, or undefined when valid. */
export function validDomain(name: string): string | undefined {
  if (name.length === 0) return "empty domain name";
  const c0 = name[0]!;
  if (!/[A-Za-z0-9_]/.test(c0)) return `domain name "${name}" starts with invalid character`;
  let last = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!.toLowerCase();
    if (last === "." && c === ".") return `domain name "${name}" contains consecutive separators`;
    if (c !== "." && c !== "-" && c !== "_" && !/[a-z0-9]/.test(c)) {
      return `domain name "${name}" contains invalid characters`;
    }
    last = c;
  }
  return undefined;
}

/** hpdelim2 result: the field, the rest (null when none), and the delimiter. */
interface HpDelim {
  readonly field: string;
  readonly rest: string | null;
  readonly delim: string;
}

/** hpdelim2: splits "host:rest", "[v6]:rest" or "host/rest"; undefined when malformed. */
export function hpdelim2(s: string): HpDelim | undefined {
  let i: number;
  if (s[0] === "[") {
    const close = s.indexOf("]");
    if (close < 0) return undefined;
    i = close + 1;
  } else {
    i = 0;
    while (i < s.length && s[i] !== ":" && s[i] !== "/") i++;
  }
  if (i >= s.length) return { field: s, rest: null, delim: "" };
  const d = s[i]!;
  if (d !== ":" && d !== "/") return undefined;
  return { field: s.slice(0, i), rest: s.slice(i + 1), delim: d };
}

/** cleanhostname: strips one pair of surrounding brackets. */
export function cleanhostname(h: string): string {
  return h.length >= 2 && h[0] === "[" && h[h.length - 1] === "]" ? h.slice(1, -1) : h;
}

/** A parsed [user@]host[:port]. */
export interface UserHostPort {
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number;
}

/** parse_user_host_port; undefined when invalid. */
export function parseUserHostPort(
  s: string,
  servicePort: ((name: string) => number | undefined) | undefined,
): UserHostPort | undefined {
  let user: string | undefined;
  let tmp = s;
  const at = tmp.lastIndexOf("@");
  if (at >= 0) {
    if (at === 0) return undefined;
    user = tmp.slice(0, at);
    tmp = tmp.slice(at + 1);
  }
  const d = hpdelim2(tmp);
  if (!d || d.delim === "/" || d.field === "") return undefined;
  const host = cleanhostname(d.field);
  let port = -1;
  if (d.rest !== null && d.rest !== "") {
    port = a2port(d.rest, servicePort);
    if (port <= 0) return undefined;
  }
  return { user, host, port };
}

function urldecode(s: string): string | undefined {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "+") out += " ";
    else if (c === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h) || h === "00") return undefined;
      out += String.fromCharCode(parseInt(h, 16));
      i += 2;
    } else out += c;
  }
  return out;
}

/**
 * parse_uri("ssh", ...): 1 when `s` is not an ssh:// URI, undefined when it is
 * one but invalid (a path is not allowed), else the parts.
 */
export function parseSSHUri(
  s: string,
  servicePort: ((name: string) => number | undefined) | undefined,
): UserHostPort | 1 | undefined {
  if (!s.startsWith("ssh://")) return 1;
  let tmp = s.slice(6);
  let user: string | undefined;
  const at = tmp.indexOf("@");
  if (at >= 0) {
    let u = tmp.slice(0, at);
    const semi = u.indexOf(";");
    if (semi >= 0) u = u.slice(0, semi);
    if (u === "") return undefined;
    user = urldecode(u);
    if (user === undefined) return undefined;
    tmp = tmp.slice(at + 1);
  }
  const d = hpdelim2(tmp);
  if (!d || d.field === "") return undefined;
  const host = cleanhostname(d.field);
  if (validDomain(host) !== undefined) return undefined;
  let port = -1;
  let rest = d.rest;
  if (rest !== null && rest !== "") {
    if (d.delim === ":") {
      const slash = rest.indexOf("/");
      const ps = slash >= 0 ? rest.slice(0, slash) : rest;
      port = a2port(ps, servicePort);
      if (port <= 0) return undefined;
      rest = slash >= 0 ? rest.slice(slash + 1) : null;
    }
    if (rest !== null && rest !== "") {
      // A path: ssh:// URIs for ssh and ProxyJump allow none.
      return undefined;
    }
  }
  return { user, host, port };
}

/** The parts of a ProxyJump value that OpenSSH keeps. */
export interface JumpSpec {
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly extra: string | undefined;
}

/**
 * parse_jump: checks every hop of a ProxyJump value and returns the last hop
 * (the one `ssh` connects to first is the first; OpenSSH keeps the last as
 * the jump host and the rest as `extra`), "none", or undefined when invalid.
 */
export function parseJump(
  s: string,
  servicePort: ((name: string) => number | undefined) | undefined,
  strict = false,
): JumpSpec | "none" | undefined {
  if (s.toLowerCase() === "none") return "none";
  let orig = s;
  const hash = orig.indexOf("#");
  if (hash >= 0) orig = orig.slice(0, hash);
  orig = rtrimC(orig);
  let first: UserHostPort | undefined;
  let rest = orig;
  for (;;) {
    const comma = rest.lastIndexOf(",");
    const cp = comma < 0 ? rest : rest.slice(comma + 1);
    const uri = parseSSHUri(cp, servicePort);
    let parsed: UserHostPort | undefined;
    if (uri === undefined) return undefined;
    if (uri === 1) {
      parsed = parseUserHostPort(cp, servicePort);
      if (!parsed) return undefined;
    } else parsed = uri;
    // Values from the command line (-o) may not carry shell metacharacters.
    if (
      strict &&
      (!validHostname(parsed.host) || (parsed.user !== undefined && !validRemoteUser(parsed.user)))
    ) {
      return undefined;
    }
    first ??= parsed;
    if (comma < 0) break;
    rest = rest.slice(0, comma);
  }
  const lastComma = orig.lastIndexOf(",");
  const extra = lastComma >= 0 ? orig.slice(0, lastComma) : undefined;
  return { user: first.user, host: first.host, port: first.port, extra };
}

/** C's iscntrl (which covers tab, newline and the other whitespace controls). */
function isCntrl(c: string): boolean {
  const n = c.charCodeAt(0);
  return n < 0x20 || n === 0x7f;
}

/** ssh_valid_hostname: no leading '-', no shell metacharacters, spaces or controls. */
export function validHostname(s: string): boolean {
  if (s[0] === "-") return false;
  for (const c of s) {
    if ("'`\"$\\;&<>|(){},".includes(c) || c === " " || isCntrl(c)) return false;
  }
  return true;
}

/** ssh_valid_ruser. */
export function validRemoteUser(s: string): boolean {
  if (s[0] === "-") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (isCntrl(c)) return false;
    if ("'`\";&<>|(){}".includes(c)) return false;
    if (/[ \t\n\r\f\v]/.test(c) && s[i + 1] === "-") return false;
    if (c === "\\" && i === s.length - 1) return false;
  }
  return true;
}

function rtrimC(s: string): string {
  for (let i = 1; i < s.length; i++) if (/[ \t\n\r\f\v]/.test(s[i]!)) return s.slice(0, i);
  return s;
}

/** parse_pattern_interval ("type=time"): true when valid. */
export function validPatternInterval(s: string): boolean {
  const eq = s.indexOf("=");
  if (eq <= 0) return false;
  return convtime(s.slice(eq + 1)) >= 0;
}

/** valid_env_name. */
export function validEnvName(name: string): boolean {
  return name !== "" && /^[A-Za-z0-9_]+$/.test(name);
}
