/**
 * OpenSSH authorized_keys files (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"): each
 * line is `[options] keytype base64 [comment]`, options being a comma-separated
 * list such as `from="*.example.com",command="backup",no-pty`. Parsing gives a
 * typed {@link AuthorizedKeyOptions} per entry; bad lines are reported, not
 * fatal. The evaluation helpers apply the options as sshd does.
 *
 * @module
 */

import { matchHostAndAddress, patternItems } from "./host_patterns.ts";
import { parseOpenSSHPublicKeyLine } from "../formats/public_formats.ts";
import { SSHKey } from "../ssh_key.ts";

/** Longest line we look at. */
export const MAX_AUTHORIZED_KEYS_LINE = 64 * 1024;

/** A `permitopen` / `permitlisten` destination; `"*"` is a wildcard. */
export interface PermittedAddress {
  /** Host name or address (brackets removed); `"*"` matches any; absent for a bare listen port. */
  readonly host?: string;
  /** Port number, or `"*"` for any. */
  readonly port: number | "*";
}

/** The options of one entry, after applying `restrict` and the individual flags in order. */
export interface AuthorizedKeyOptions {
  /** `cert-authority`: the key is a CA trusted to sign user certificates. */
  readonly certAuthority: boolean;
  /** Port forwarding allowed (true unless `restrict` or `no-port-forwarding`; `port-forwarding` turns it back on). */
  readonly portForwarding: boolean;
  /** Agent forwarding allowed (true unless `restrict` or `no-agent-forwarding`). */
  readonly agentForwarding: boolean;
  /** X11 forwarding allowed (true unless `restrict` or `no-x11-forwarding`). */
  readonly x11Forwarding: boolean;
  /** A pty may be allocated (true unless `restrict` or `no-pty`). */
  readonly pty: boolean;
  /** ~/.ssh/rc may run (true unless `restrict` or `no-user-rc`). */
  readonly userRc: boolean;
  /** `no-touch-required`: FIDO keys need not show user presence. */
  readonly noTouchRequired: boolean;
  /** `verify-required`: FIDO keys must have verified the user (PIN, biometrics). */
  readonly verifyRequired: boolean;
  /** `restrict` was present. */
  readonly restrict: boolean;
  /** `command="..."`: the forced command. */
  readonly command?: string;
  /** `from="..."`: host/address patterns the client must match. */
  readonly from?: readonly string[];
  /** `principals="..."`: names accepted in certificates (with cert-authority). */
  readonly principals?: readonly string[];
  /** `environment="NAME=value"` entries, in order. */
  readonly environment: readonly { readonly name: string; readonly value: string }[];
  /**
   * `permitopen="host:port"` entries; empty means any (if port forwarding is allowed).
   * Once non-empty, UNIX sockets too are limited to entries `"[path]:*"` (or `"*:*"`).
   */
  readonly permitOpen: readonly PermittedAddress[];
  /** `permitlisten="[host:]port"` entries; empty means any. */
  readonly permitListen: readonly PermittedAddress[];
  /** `expiry-time="..."` as milliseconds since the epoch (the earliest if repeated). */
  readonly expiryTime?: number;
  /** `tunnel="n"`: the forced tun device number. */
  readonly tunnel?: number;
}

/** One parsed authorized_keys line. */
export interface AuthorizedKeyEntry {
  /** 1-based line number. */
  readonly line: number;
  /** The parsed options (all permissions on when the line has none). */
  readonly options: AuthorizedKeyOptions;
  /** The options as written (empty when none). */
  readonly optionsText: string;
  /** The public key (a CA key when `options.certAuthority`). */
  readonly key: SSHKey;
  /** The text after the key (empty when none). */
  readonly comment: string;
}

/** A skipped line and why. */
export interface AuthorizedKeysError {
  /** 1-based line number. */
  readonly line: number;
  /** The line as written. */
  readonly text: string;
  /** Why the line was skipped. */
  readonly reason: string;
}

/** The outcome of parsing. */
export interface AuthorizedKeys {
  /** The usable lines, in file order. */
  readonly entries: readonly AuthorizedKeyEntry[];
  /** Lines that could not be parsed (blank lines and comments are not errors). */
  readonly errors: readonly AuthorizedKeysError[];
}

/**
 * Splits the options prefix off a line: everything up to the first whitespace
 * outside double quotes. Returns the raw option items with their values
 * dequoted (`\"` is the only escape, as in OpenSSH).
 */
function splitOptions(
  line: string,
): { items: [string, string | undefined][]; rest: string; text: string } {
  const items: [string, string | undefined][] = [];
  let i = 0;
  for (;;) {
    const nameMatch = /^[A-Za-z0-9-]+/.exec(line.slice(i));
    if (!nameMatch) throw new Error(`bad option syntax at column ${i + 1}`);
    const name = nameMatch[0].toLowerCase();
    i += nameMatch[0].length;
    let value: string | undefined;
    if (line[i] === "=") {
      if (line[++i] !== '"') throw new Error(`option '${name}' needs a double-quoted value`);
      i++;
      value = "";
      for (;;) {
        if (i >= line.length) throw new Error(`unterminated quote in option '${name}'`);
        const c = line[i]!;
        if (c === '"') break;
        if (c === "\\" && line[i + 1] === '"') i++;
        value += line[i++];
      }
      i++; // closing quote
    }
    items.push([name, value]);
    if (line[i] === ",") {
      i++;
      continue;
    }
    if (i >= line.length || !/[ \t]/.test(line[i]!)) {
      throw new Error("expected whitespace after the options");
    }
    return { items, rest: line.slice(i).trim(), text: line.slice(0, i) };
  }
}

/**
 * `host:port` as sshd's handle_permit() reads it (hpdelim2): `[host]` or the text up to
 * the first ':' or '/', then ':' or '/' and the port. So "db/5432" is db port 5432, and
 * in "a:b:22" or "::1:22" the port is what follows the first colon (refused: an IPv6
 * address needs brackets). `hostOptional` (permitlisten) also takes a bare port, text
 * with no ':' at all.
 */
function parseAddress(value: string, what: string, hostOptional: boolean): PermittedAddress {
  let host: string | undefined;
  let portText: string;
  if (hostOptional && !value.includes(":")) {
    portText = value;
  } else {
    let cut: number;
    if (value.startsWith("[")) {
      cut = value.indexOf("]") + 1;
      if (cut === 0) throw new Error(`${what} "${value}" has no closing ']'`);
      host = value.slice(1, cut - 1);
    } else {
      cut = value.search(/[:/]/);
      if (cut < 0) cut = value.length;
      host = value.slice(0, cut);
    }
    if (value[cut] !== ":" && value[cut] !== "/") {
      throw new Error(`${what} "${value}" is not host:port`);
    }
    portText = value.slice(cut + 1);
  }
  if (host === "") throw new Error(`${what} "${value}" has an empty host`);
  let port: number | "*";
  if (portText === "*") port = "*";
  // 1–65535, as sshd's a2port: "0" refuses the line (permitlisten="0" would have allowed any
  // port the server picks).
  else if (/^\d{1,5}$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535) {
    port = Number(portText);
  } else throw new Error(`${what} "${value}" has an invalid port`);
  return host === undefined ? { port } : { host, port };
}

/**
 * How `expiry-time` values without a trailing `Z` are read: a fixed offset from UTC
 * in minutes (east positive: `+02:00` is 120), or a function giving the offset in
 * force at a moment (ms since the epoch), as a host time zone with daylight saving
 * does. sshd reads them in the host's local time; `io/` passes that zone. Default 0 (UTC):
 * `keys/` reads no host settings.
 */
export type TimeZone = number | ((utcMs: number) => number);

/** Options of the authorized_keys parsers. */
export interface AuthorizedKeysParseOptions {
  /** The zone `expiry-time` values without `Z` are in (default UTC). */
  readonly timeZone?: TimeZone;
}

/**
 * Parses an expiry-time value, `YYYYMMDD[HHMM[SS]]`, in the given time zone (as
 * sshd reads it in local time), or in UTC with a trailing `Z`, to milliseconds
 * since the epoch.
 *
 * @example
 * ```ts
 * import { parseExpiryTime } from "@sshts/ssh";
 * console.log(parseExpiryTime("202401021530Z") === Date.UTC(2024, 0, 2, 15, 30)); // true
 * console.log(parseExpiryTime("202401021530", 60) === Date.UTC(2024, 0, 2, 14, 30)); // true
 * ```
 */
export function parseExpiryTime(value: string, timeZone: TimeZone = 0): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(value);
  if (!m) throw new Error(`invalid expiry-time "${value}" (expected YYYYMMDD[HHMM[SS]][Z])`);
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Date rolls out-of-range fields over (Feb 30 → Mar 1); refuse them instead.
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) {
    throw new Error(`invalid expiry-time "${value}"`);
  }
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec);
  if (new Date(wall).getUTCDate() !== d) throw new Error(`invalid expiry-time "${value}"`);
  if (m[7] === "Z") return wall;
  if (typeof timeZone === "number") return wall - timeZone * 60_000;
  // The offset in force at the instant meant: guess with the offset at the wall
  // time read as UTC, then correct once with the offset at the guess.
  const guess = wall - timeZone(wall) * 60_000;
  return wall - timeZone(guess) * 60_000;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const FLAGS: Record<string, [keyof AuthorizedKeyOptions, boolean]> = {
  "port-forwarding": ["portForwarding", true],
  "no-port-forwarding": ["portForwarding", false],
  "agent-forwarding": ["agentForwarding", true],
  "no-agent-forwarding": ["agentForwarding", false],
  "x11-forwarding": ["x11Forwarding", true],
  "no-x11-forwarding": ["x11Forwarding", false],
  "pty": ["pty", true],
  "no-pty": ["pty", false],
  "user-rc": ["userRc", true],
  "no-user-rc": ["userRc", false],
  "cert-authority": ["certAuthority", true],
  // sshd's opt_flag() takes both of these with or without "no-", as the others above.
  "touch-required": ["noTouchRequired", false],
  "no-touch-required": ["noTouchRequired", true],
  "verify-required": ["verifyRequired", true],
  "no-verify-required": ["verifyRequired", false],
};

/**
 * Parses an options string (`no-pty,command="x"`) into typed options, applying
 * them in order as sshd does. Throws Error with the reason for a bad option.
 *
 * @example
 * ```ts
 * import { parseAuthorizedKeyOptions } from "@sshts/ssh";
 * const o = parseAuthorizedKeyOptions('restrict,pty,command="uptime"');
 * console.log(o.pty, o.portForwarding, o.command); // true false "uptime"
 * ```
 */
export function parseAuthorizedKeyOptions(
  text: string,
  options: AuthorizedKeysParseOptions = {},
): AuthorizedKeyOptions {
  if (text.trim() === "") return defaultOptions();
  return applyOptions(splitOptions(text.trim() + " x").items, options.timeZone ?? 0);
}

function defaultOptions(): Mutable<AuthorizedKeyOptions> {
  return {
    certAuthority: false,
    portForwarding: true,
    agentForwarding: true,
    x11Forwarding: true,
    pty: true,
    userRc: true,
    noTouchRequired: false,
    verifyRequired: false,
    restrict: false,
    environment: [],
    permitOpen: [],
    permitListen: [],
  };
}

function applyOptions(
  items: [string, string | undefined][],
  timeZone: TimeZone,
): AuthorizedKeyOptions {
  const o = defaultOptions();
  const env: { name: string; value: string }[] = [];
  const open: PermittedAddress[] = [];
  const listen: PermittedAddress[] = [];
  const once = (name: string, present: unknown) => {
    if (present !== undefined) throw new Error(`multiple "${name}" options`);
  };
  for (const [name, value] of items) {
    const flag = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    const needValue = (): string => {
      if (value === undefined) throw new Error(`option '${name}' needs a value`);
      return value;
    };
    if (flag) {
      if (value !== undefined) throw new Error(`option '${name}' takes no value`);
      (o as Record<string, unknown>)[flag[0]] = flag[1];
      continue;
    }
    switch (name) {
      case "restrict":
        if (value !== undefined) throw new Error("option 'restrict' takes no value");
        o.restrict = true;
        o.portForwarding =
          o.agentForwarding =
          o.x11Forwarding =
          o.pty =
          o.userRc =
            false;
        break;
      case "command":
        once(name, o.command);
        o.command = needValue();
        break;
      case "from": {
        once(name, o.from);
        const list = patternItems(needValue());
        // OpenSSH denies on an empty item (a typo such as a trailing comma): the line is
        // refused, rather than allowed on what remains.
        if (list.some((s) => s === "")) throw new Error("empty item in 'from' pattern list");
        o.from = list;
        break;
      }
      case "principals":
        once(name, o.principals);
        // As sshd's match_list: split at commas, nothing trimmed ("a, b" names " b", not "b").
        o.principals = needValue().split(",").filter((p) => p !== "");
        break;
      case "environment": {
        const v = needValue();
        const eq = v.indexOf("=");
        if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.slice(0, eq))) {
          throw new Error(`environment "${v}" is not NAME=value`);
        }
        // As sshd: the first value given for a name wins. A later one is dropped (kept, it
        // was set after the first and so overrode it in the session).
        const envName = v.slice(0, eq);
        if (!env.some((x) => x.name === envName)) {
          env.push({ name: envName, value: v.slice(eq + 1) });
        }
        break;
      }
      case "permitopen":
        open.push(parseAddress(needValue(), "permitopen", false));
        break;
      case "permitlisten":
        listen.push(parseAddress(needValue(), "permitlisten", true));
        break;
      case "expiry-time": {
        const t = parseExpiryTime(needValue(), timeZone);
        if (o.expiryTime === undefined || t < o.expiryTime) o.expiryTime = t;
        break;
      }
      case "tunnel": {
        once(name, o.tunnel);
        const v = needValue();
        if (!/^\d{1,9}$/.test(v)) throw new Error(`tunnel "${v}" is not a device number`);
        o.tunnel = Number(v);
        break;
      }
      default:
        throw new Error(`unsupported option '${name}'`);
    }
  }
  o.environment = env;
  o.permitOpen = open;
  o.permitListen = listen;
  return o;
}

/** True when the first token of a line is a key type rather than options. */
function startsWithKeyType(line: string): boolean {
  return /^(ssh-|ecdsa-sha2-|sk-|rsa-sha2-)[A-Za-z0-9@.-]*[ \t]/.test(line);
}

/**
 * Parses an authorized_keys text. Comments and blank lines are ignored; bad
 * lines are returned in `errors` with the reason (as sshd logs and skips them).
 * `expiry-time` values without `Z` are read in `options.timeZone` (default UTC).
 *
 * @example
 * ```ts
 * import { parseAuthorizedKeys } from "@sshts/ssh";
 * const text = 'from="10.0.0.0/8",no-pty ssh-ed25519 ' +
 *   "AAAAC3NzaC1lZDI1NTE5AAAAIPloysTBsoIpccdFuhWaXhTsvZZFbH/PapG2mclKgeMK me\n";
 * const { entries } = parseAuthorizedKeys(text);
 * console.log(entries[0]!.options.pty, entries[0]!.options.from); // false ["10.0.0.0/8"]
 * ```
 */
export function parseAuthorizedKeys(
  text: string,
  parseOptions: AuthorizedKeysParseOptions = {},
): AuthorizedKeys {
  const entries: AuthorizedKeyEntry[] = [];
  const errors: AuthorizedKeysError[] = [];
  for (const { number, raw, line } of contentLines(text, errors)) {
    try {
      let options = defaultOptions() as AuthorizedKeyOptions;
      let optionsText = "";
      let keyPart = line;
      if (!startsWithKeyType(line)) {
        const split = splitOptions(line);
        options = applyOptions(split.items, parseOptions.timeZone ?? 0);
        optionsText = split.text;
        keyPart = split.rest;
      }
      const pub = parseOpenSSHPublicKeyLine(keyPart);
      const key = SSHKey.fromPublicBlob(pub.blob, pub.comment);
      entries.push({ line: number, options, optionsText, key, comment: pub.comment });
    } catch (e) {
      errors.push({ line: number, text: raw, reason: (e as Error).message });
    }
  }
  return { entries, errors };
}

/**
 * The lines of an authorized_keys-style file that hold something, trimmed, with
 * their 1-based numbers: blank and `#` lines skipped, and a line over
 * {@link MAX_AUTHORIZED_KEYS_LINE} reported in `errors` as "line too long" instead.
 *
 * @example
 * ```ts
 * import { contentLines } from "./authorized_keys.ts";
 * console.log([...contentLines("# c\n\n  alice \n", [])].map((l) => l.line)); // ["alice"]
 * ```
 */
export function* contentLines(
  text: string,
  errors: AuthorizedKeysError[],
): Generator<{ number: number; raw: string; line: string }> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (raw.length > MAX_AUTHORIZED_KEYS_LINE) {
      errors.push({ line: i + 1, text: raw.slice(0, 80), reason: "line too long" });
      continue;
    }
    yield { number: i + 1, raw, line };
  }
}

/**
 * Evaluates a `from=` pattern list against the client's host name and address
 * (host = address when the name is unknown): OpenSSH's match_host_and_ip.
 *
 * @example
 * ```ts
 * import { matchFrom } from "@sshts/ssh";
 * console.log(matchFrom(["*.example.com", "!10.9.0.0/16"], "ci.example.com", "10.1.2.3")); // true
 * ```
 */
export function matchFrom(
  patterns: string | readonly string[],
  host: string,
  addr: string,
): boolean {
  return matchHostAndAddress(host, addr, patterns);
}

/**
 * True when `expiry-time` has passed at `nowMs`.
 *
 * @example
 * ```ts
 * import { isExpired, parseAuthorizedKeyOptions } from "@sshts/ssh";
 * console.log(isExpired(parseAuthorizedKeyOptions('expiry-time="20000101Z"'), Date.UTC(2024, 0, 1))); // true
 * ```
 */
export function isExpired(options: AuthorizedKeyOptions, nowMs: number): boolean {
  return options.expiryTime !== undefined && nowMs >= options.expiryTime;
}

function addressAllowed(list: readonly PermittedAddress[], host: string, port: number): boolean {
  return list.some((a) =>
    (a.port === "*" || a.port === port) &&
    (a.host === undefined || a.host === "*" || a.host.toLowerCase() === host.toLowerCase())
  );
}

/**
 * True when the entry lets the client open a direct-tcpip channel to host:port
 * (port forwarding allowed, and `permitopen` lists it if present).
 *
 * @example
 * ```ts
 * import { permitsOpen, parseAuthorizedKeyOptions } from "@sshts/ssh";
 * const o = parseAuthorizedKeyOptions('permitopen="db:5432"');
 * console.log(permitsOpen(o, "db", 5432), permitsOpen(o, "db", 22)); // true false
 * ```
 */
export function permitsOpen(options: AuthorizedKeyOptions, host: string, port: number): boolean {
  if (!options.portForwarding) return false;
  return options.permitOpen.length === 0 || addressAllowed(options.permitOpen, host, port);
}

/**
 * True when the entry lets the client open a `direct-streamlocal@openssh.com`
 * channel (`ssh -L port:/path/to.sock`) to the UNIX socket `path`: port
 * forwarding allowed and, once `permitopen` lists anything, an entry whose port
 * is `*` and whose host is `*` or the path itself (`permitopen="[/run/app.sock]:*"`).
 * sshd matches a path against its permitopen list that way, so a key held to
 * `permitopen="db:5432"` reaches no socket at all.
 *
 * @example
 * ```ts
 * import { parseAuthorizedKeyOptions, permitsStreamlocalOpen } from "@sshts/ssh";
 * const db = parseAuthorizedKeyOptions('permitopen="db:5432"');
 * const app = parseAuthorizedKeyOptions('permitopen="[/run/app.sock]:*"');
 * console.log(permitsStreamlocalOpen(db, "/run/app.sock")); // false
 * console.log(permitsStreamlocalOpen(app, "/run/app.sock"), permitsStreamlocalOpen(app, "/run/x")); // true false
 * ```
 */
export function permitsStreamlocalOpen(options: AuthorizedKeyOptions, path: string): boolean {
  if (!options.portForwarding) return false;
  return options.permitOpen.length === 0 ||
    options.permitOpen.some((a) => a.port === "*" && (a.host === "*" || a.host === path));
}

/**
 * True when the entry lets the client ask for a remote listener on host:port.
 *
 * @example
 * ```ts
 * import { permitsListen, parseAuthorizedKeyOptions } from "@sshts/ssh";
 * console.log(permitsListen(parseAuthorizedKeyOptions('permitlisten="8080"'), "localhost", 8080)); // true
 * ```
 */
export function permitsListen(options: AuthorizedKeyOptions, host: string, port: number): boolean {
  if (!options.portForwarding) return false;
  return options.permitListen.length === 0 || addressAllowed(options.permitListen, host, port);
}

/** Where a client connects from, for {@link findAuthorizedKey}. */
export interface ClientContext {
  /** Reverse-resolved host name, or the address when unknown. */
  readonly host: string;
  /** The client's IP address, as text ("" when unknown: a line with `from=` then refuses). */
  readonly addr: string;
  /** Current time in ms since the epoch (for expiry-time). */
  readonly now: number;
}

/**
 * Why an authorized_keys entry refuses this client although it holds the key,
 * or undefined when it authorizes it: sshd's `auth_authorise_keyopts()`. A line
 * with `principals=` but no `cert-authority` is refused outright ("principals on
 * non-CA key": the option only means something on a CA line, so sshd denies rather
 * than ignore a restriction the writer meant); an expired `expiry-time`, and a
 * client `from=` does not match, refuse too. The key itself is not compared.
 *
 * @example
 * ```ts
 * import { authorizedKeyRefusal, parseAuthorizedKeys, generatePrivateKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519");
 * const [entry] = parseAuthorizedKeys(`principals="ops" ${key.exportPublicKey()}`).entries;
 * const client = { host: "10.0.0.5", addr: "10.0.0.5", now: Date.now() };
 * console.log(authorizedKeyRefusal(entry!, client)); // "principals on non-CA key"
 * ```
 */
export function authorizedKeyRefusal(
  entry: Pick<AuthorizedKeyEntry, "options">,
  client: ClientContext,
): string | undefined {
  const o = entry.options;
  if (o.principals !== undefined && !o.certAuthority) return "principals on non-CA key";
  if (isExpired(o, client.now)) return "entry expired";
  if (o.from !== undefined && client.addr === "") {
    // No address to check (a connection over a WebSocket relay, say): a negated item
    // could never refuse it, so "*,!203.0.113.5" would let anyone in. Refused, as a
    // restriction that cannot be checked.
    return `from= and the client's address is unknown (from="${o.from.join(",")}")`;
  }
  if (o.from !== undefined && !matchFrom(o.from, client.host, client.addr)) {
    return `not from a permitted host (from="${o.from.join(",")}")`;
  }
  return undefined;
}

/**
 * The outcome of {@link lookupAuthorizedKey}: the entry that authorizes the key,
 * or why none does (to log; a client is told no more than "denied").
 */
export type AuthorizedKeyLookup =
  | { readonly entry: AuthorizedKeyEntry; readonly reason?: undefined }
  | { readonly entry?: undefined; readonly reason: string };

/**
 * The first entry that authorizes `key` for this client, as {@link findAuthorizedKey},
 * or the reason none does: the key is on no line of the kind asked for, or the
 * first line holding it refuses the client ({@link authorizedKeyRefusal}, prefixed
 * with the line number).
 *
 * @example Log why a key was refused
 * ```ts
 * import { lookupAuthorizedKey, parseAuthorizedKeys, generatePrivateKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519");
 * const ak = parseAuthorizedKeys(`principals="ops" ${key.exportPublicKey()}`);
 * const client = { host: "10.0.0.5", addr: "10.0.0.5", now: Date.now() };
 * const r = lookupAuthorizedKey(ak, key, client);
 * if (!r.entry) console.log(r.reason); // "line 1: principals on non-CA key"
 * ```
 */
export function lookupAuthorizedKey(
  authorized: AuthorizedKeys | readonly AuthorizedKeyEntry[],
  key: SSHKey,
  client: ClientContext,
  certAuthority = false,
): AuthorizedKeyLookup {
  const entries: readonly AuthorizedKeyEntry[] = Array.isArray(authorized)
    ? authorized as readonly AuthorizedKeyEntry[]
    : (authorized as AuthorizedKeys).entries;
  let refused: string | undefined;
  for (const e of entries) {
    if (e.options.certAuthority !== certAuthority || !e.key.equals(key)) continue;
    const why = authorizedKeyRefusal(e, client);
    if (why === undefined) return { entry: e };
    refused ??= `line ${e.line}: ${why}`;
  }
  return {
    reason: refused ??
      (certAuthority ? "no cert-authority line holds the key" : "key is not in authorized_keys"),
  };
}

/**
 * The first entry that authorizes `key` for this client: same key, not a
 * cert-authority line (pass `certAuthority: true` to look for a CA instead),
 * `from=` matching, not expired, and no `principals=` on a plain key's line
 * (sshd refuses such a line). Undefined when none does;
 * {@link lookupAuthorizedKey} says why.
 *
 * @example
 * ```ts
 * import { findAuthorizedKey, parseAuthorizedKeys, generatePrivateKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519");
 * const ak = parseAuthorizedKeys(`from="10.*" ${key.exportPublicKey()}`);
 * const client = { host: "10.0.0.5", addr: "10.0.0.5", now: Date.now() };
 * console.log(findAuthorizedKey(ak, key, client)?.line); // 1
 * ```
 */
export function findAuthorizedKey(
  authorized: AuthorizedKeys | readonly AuthorizedKeyEntry[],
  key: SSHKey,
  client: ClientContext,
  certAuthority = false,
): AuthorizedKeyEntry | undefined {
  return lookupAuthorizedKey(authorized, key, client, certAuthority).entry;
}
