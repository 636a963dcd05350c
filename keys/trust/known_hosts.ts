/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): parsing,
 * matching a host against them, and writing new entries.
 *
 * Each line is `[@cert-authority|@revoked] hostpatterns keytype base64 [comment]`.
 * Host patterns are plain (`host`, `[host]:port`, `*`/`?` wildcards, `!`
 * negation) or hashed (`|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as
 * `ssh-keygen -H` writes). Bad lines are skipped and reported, never fatal, as
 * OpenSSH does.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { type RandomSource, systemRandom } from "../../core/random.ts";
import { equalBytes, utf8 } from "../../core/wire.ts";
import { decodeBase64, encodeBase64 } from "../_base64.ts";
import { asciiLowerCase, matchPatternItems } from "./host_patterns.ts";
import { hashedNameMatches } from "./hashed_names.ts";
import { parseOpenSSHPublicKeyLine } from "../formats/public_formats.ts";
import { SSHKey } from "../ssh_key.ts";
import { SSHCertificate } from "../certificates/certificate.ts";
import { isCertificateAlgorithm } from "../../core/publickey/certificate.ts";

/**
 * Longest line we look at. ssh reads lines of any length, and a line skipped here is one
 * whose key ssh would see: a long host list listing another key (ssh: changed, here: new, so
 * `accept-new` would learn the offered key) or an `@revoked` line (its key trusted here). So
 * the bound is far beyond any real line: only absurd input (a file is read up to 256 MB) is
 * skipped. Parsing and matching are linear in the line's length.
 */
export const MAX_KNOWN_HOSTS_LINE = 16 * 1024 * 1024;

/** The marker of a line: none, a CA for host certificates, or a revoked key. */
export type KnownHostsMarker = "cert-authority" | "revoked";

/** One parsed known_hosts line. */
export interface KnownHostsEntry {
  /** 1-based line number. */
  readonly line: number;
  /** `@cert-authority` or `@revoked`; undefined for a plain host key. */
  readonly marker: KnownHostsMarker | undefined;
  /** Host patterns of a plain entry (undefined for a hashed one). */
  readonly patterns: readonly string[] | undefined;
  /** Salt and hash of a hashed entry. */
  readonly hashed: { readonly salt: Uint8Array; readonly hash: Uint8Array } | undefined;
  /** The host key (a CA key when `marker` is "cert-authority"). */
  readonly key: SSHKey;
  /** The text after the key (empty when none). */
  readonly comment: string;
}

/** A line that was skipped, and why. */
export interface KnownHostsError {
  /** 1-based line number. */
  readonly line: number;
  /** The line as written. */
  readonly text: string;
  /** Why the line was skipped. */
  readonly reason: string;
}

/** The outcome of parsing: good entries and skipped lines. */
export interface KnownHosts {
  /** The usable lines, in file order. */
  readonly entries: readonly KnownHostsEntry[];
  /** Lines that could not be parsed (blank lines and comments are not errors). */
  readonly errors: readonly KnownHostsError[];
}

/** The keys that apply to one host. */
export interface KnownHostsMatch {
  /** Keys accepted as this host's key. */
  readonly trustedHostKeys: SSHKey[];
  /** CA keys whose host certificates are accepted for this host. */
  readonly trustedCAKeys: SSHKey[];
  /** Keys that must be refused for this host (also as CAs). */
  readonly revokedKeys: SSHKey[];
}

/** Leading blanks: the only white space OpenSSH's hostfile.c skips or splits fields on. */
const LEADING_BLANKS = /^[ \t]+/;

/** A line cut into its fields: marker, host field and the key text (not yet decoded). */
interface LineFields {
  readonly marker: KnownHostsMarker | undefined;
  readonly hosts: string;
  readonly keyText: string;
}

/** The host field read: patterns of a plain line, salt and hash of a hashed one. */
type HostField = Pick<KnownHostsEntry, "patterns" | "hashed">;

function splitLine(text: string): LineFields {
  let rest = text.replace(LEADING_BLANKS, "");
  let marker: KnownHostsMarker | undefined;
  if (rest.startsWith("@")) {
    const m = /^@([^ \t]+)[ \t]+/.exec(rest);
    if (!m || (m[1] !== "cert-authority" && m[1] !== "revoked")) {
      throw new Error(`unknown marker '${rest.split(/[ \t]/)[0]}'`);
    }
    marker = m[1];
    rest = rest.slice(m[0].length);
  }
  // Host patterns, blanks, the key: found in one pass (a regular expression here took
  // quadratic time on a long run of blanks). Fields are split on spaces and tabs only, as
  // hostfile.c does: other white space ("\v", "\f", a lone "\r", U+00A0) is part of the host
  // field there, so `host\vssh-ed25519 AAAA...` is a bad line to ssh, never host's key.
  const cut = rest.search(/[ \t]/);
  const keyText = cut > 0 ? rest.slice(cut).replace(LEADING_BLANKS, "") : "";
  if (cut <= 0 || keyText.trim() === "" || /^\s/.test(keyText)) {
    throw new Error("expected host patterns followed by a key");
  }
  return { marker, hosts: rest.slice(0, cut), keyText };
}

function parseKey(
  keyText: string,
  marker: KnownHostsMarker | undefined,
): { key: SSHKey; comment: string } {
  const pub = parseOpenSSHPublicKeyLine(keyText);
  // A revoked host certificate (the leaked *-cert.pub pasted in) revokes its key, as
  // OpenSSH's check compares key material: dropped as a bad line, it revoked nothing.
  const key = marker === "revoked" && isCertificateAlgorithm(pub.type)
    ? SSHCertificate.fromBlob(pub.blob, pub.comment).key
    : SSHKey.fromPublicBlob(pub.blob, pub.comment);
  return { key, comment: pub.comment };
}

function parseHosts(hosts: string): HostField {
  if (hosts.startsWith("|")) {
    const h = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(hosts);
    if (!h) throw new Error("malformed hashed host name (expected |1|salt|hash)");
    const hashed = { salt: decodeBase64(h[1]!, "salt"), hash: decodeBase64(h[2]!, "hash") };
    if (hashed.hash.length !== 20) throw new Error("hashed host name is not a SHA-1 HMAC");
    // OpenSSH (hostfile.c extract_salt) skips a line whose salt is not 20 bytes: it matches
    // no host there, and `ssh-keygen -F` does not find it.
    if (hashed.salt.length !== 20) throw new Error("hashed host name's salt is not 20 bytes");
    // OpenSSH compares the text of `|1|salt|hash` with the one it computes, so only the
    // canonical (padded, no stray bits) base64 of both can match there.
    if (encodeBase64(hashed.salt) !== h[1] || encodeBase64(hashed.hash) !== h[2]) {
      throw new Error("hashed host name is not in canonical base64");
    }
    return { patterns: undefined, hashed };
  }
  const patterns = hosts.split(",").filter((p) => p !== "");
  if (patterns.length === 0) throw new Error("empty host pattern list");
  return { patterns, hashed: undefined };
}

/** A whole line read at once (the marker, then the key, then the host field). */
function parseLine(text: string, line: number): KnownHostsEntry {
  const { marker, hosts, keyText } = splitLine(text);
  const { key, comment } = parseKey(keyText, marker);
  return { line, marker, ...parseHosts(hosts), key, comment };
}

/**
 * A line whose fields and host field are read, its key decoded only when a lookup matches
 * its host or the entries are asked for: decoding checks the key (an RSA modulus read into a
 * bigint, an ECDSA point checked on its curve), 10–15 µs a line, and ssh too decodes only
 * the lines that name the host. The outcome is what {@link parseLine} gives, its error the
 * same (the key's before the host field's).
 */
class PendingLine {
  readonly line: number;
  readonly raw: string;
  readonly fields: LineFields;
  /** The host field, or why it is bad. */
  readonly host: HostField | Error;
  #outcome: KnownHostsEntry | Error | undefined;

  constructor(line: number, raw: string, fields: LineFields) {
    this.line = line;
    this.raw = raw;
    this.fields = fields;
    try {
      this.host = parseHosts(fields.hosts);
    } catch (e) {
      this.host = e as Error;
    }
  }

  /** The entry, or the error that makes this a bad line (decoded once). */
  outcome(): KnownHostsEntry | Error {
    if (this.#outcome === undefined) {
      const { marker, keyText } = this.fields;
      try {
        const { key, comment } = parseKey(keyText, marker);
        const host = this.host;
        this.#outcome = host instanceof Error
          ? host
          : { line: this.line, marker, patterns: host.patterns, hashed: host.hashed, key, comment };
      } catch (e) {
        this.#outcome = e as Error;
      }
    }
    return this.#outcome;
  }
}

/** What parseKnownHosts() read: each line's error, or its pending key; the lists once made. */
interface PendingKnownHosts {
  readonly lines: readonly (PendingLine | KnownHostsError)[];
  /** Freeze the lists and entries when they are made ({@link freezeKnownHosts}). */
  frozen: boolean;
  made: KnownHosts | undefined;
}

/** The pending lines behind each parseKnownHosts() result. */
const pendingOf = new WeakMap<KnownHosts, PendingKnownHosts>();

/** The entries and errors of pending lines, in line order. */
function settle(p: PendingKnownHosts): KnownHosts {
  if (p.made) return p.made;
  const entries: KnownHostsEntry[] = [];
  const errors: KnownHostsError[] = [];
  for (const l of p.lines) {
    if (!(l instanceof PendingLine)) {
      errors.push(l);
      continue;
    }
    const o = l.outcome();
    if (o instanceof Error) errors.push({ line: l.line, text: l.raw, reason: o.message });
    else entries.push(o);
  }
  p.made = { entries, errors };
  if (p.frozen) freezeLists(p.made);
  return p.made;
}

function freezeLists(kh: KnownHosts): void {
  // Frozen all the way down but for the salt and hash bytes (typed arrays cannot be frozen).
  for (const e of kh.entries) {
    if (e.patterns) Object.freeze(e.patterns);
    if (e.hashed) Object.freeze(e.hashed);
    Object.freeze(e);
  }
  for (const e of kh.errors) Object.freeze(e);
  Object.freeze(kh.entries);
  Object.freeze(kh.errors);
}

/**
 * Freezes a parsed known_hosts for sharing (connect() shares one parse of the files between
 * connections): the object, and its entries and errors, all the way down but for the salt
 * and hash bytes. Those of a {@link parseKnownHosts} result are frozen when first made, so
 * the keys are not decoded here. Returns `kh`.
 *
 * @example
 * ```ts
 * import { freezeKnownHosts, parseKnownHosts } from "./known_hosts.ts";
 * const kh = freezeKnownHosts(parseKnownHosts("example.com ssh-ed25519 AAAA\n"));
 * console.log(Object.isFrozen(kh), Object.isFrozen(kh.errors[0])); // true true
 * ```
 */
export function freezeKnownHosts(kh: KnownHosts): KnownHosts {
  const p = pendingOf.get(kh);
  if (p === undefined || p.made !== undefined) freezeLists(kh);
  else p.frozen = true;
  return Object.freeze(kh);
}

/**
 * Parses a known_hosts text. Comments and blank lines are ignored; malformed
 * lines (unknown key types included) are returned in `errors`, not thrown.
 * Keys are decoded when first needed: by a lookup ({@link matchKnownHosts}) for the
 * lines that name the host looked up, or for all lines when `entries` or `errors` is first
 * read (both are made then, as the whole text would have been parsed).
 *
 * @example
 * ```ts
 * import { parseKnownHosts } from "@sshts/ssh";
 * const kh = parseKnownHosts(
 *   "# comment\nexample.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPloysTBsoIpccdFuhWaXhTsvZZFbH/PapG2mclKgeMK\nbroken line\n",
 * );
 * console.log(kh.entries.length, kh.errors[0]?.line); // 1 3
 * ```
 */
export function parseKnownHosts(text: string): KnownHosts {
  const lines: (PendingLine | KnownHostsError)[] = [];
  const rawLines = text.split(/\r?\n/);
  for (let i = 0; i < rawLines.length; i++) {
    const raw = rawLines[i]!;
    const trimmed = raw.replace(LEADING_BLANKS, "");
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (raw.length > MAX_KNOWN_HOSTS_LINE) {
      lines.push({ line: i + 1, text: raw.slice(0, 80), reason: "line too long" });
      continue;
    }
    try {
      lines.push(new PendingLine(i + 1, raw, splitLine(raw)));
    } catch (e) {
      lines.push({ line: i + 1, text: raw, reason: (e as Error).message });
    }
  }
  const pending: PendingKnownHosts = { lines, frozen: false, made: undefined };
  const kh = Object.defineProperties({} as KnownHosts, {
    entries: { get: () => settle(pending).entries, enumerable: true },
    errors: { get: () => settle(pending).errors, enumerable: true },
  });
  pendingOf.set(kh, pending);
  return kh;
}

/** The name known_hosts stores for a host and port: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The hashed form of a name, as `ssh-keygen -H` writes it.
 *
 * @example
 * ```ts
 * import { hashKnownHostsName } from "@sshts/ssh";
 * console.log(hashKnownHostsName("example.com", new Uint8Array(20)).startsWith("|1|")); // true
 * ```
 */
export function hashKnownHostsName(name: string, salt: Uint8Array): string {
  return `|1|${encodeBase64(salt)}|${encodeBase64(hmac(sha1, salt, utf8(name)))}`;
}

/** A name looked up: `[host]:port` form, lower case, and its bytes for hashed lines. */
interface LookupName {
  readonly text: string;
  readonly bytes: Uint8Array;
}

function lookupName(host: string, port: number): LookupName {
  // ASCII letters only, as ssh lowercases the name before hashing or matching it.
  const text = knownHostsName(asciiLowerCase(host), port);
  return { text, bytes: utf8(text) };
}

/** True when the entry's host patterns match `name`. */
function entryMatches(e: HostField, name: LookupName): boolean {
  if (e.hashed) {
    const { salt, hash } = e.hashed;
    // ssh-keygen's salts are 20 bytes; a longer HMAC key is hashed first, which only the
    // general HMAC does.
    return salt.length <= 64
      ? hashedNameMatches(salt, hash, name.bytes)
      : equalBytes(hmac(sha1, salt, name.bytes), hash);
  }
  return matchPatternItems(name.text, e.patterns!) === 1;
}

/**
 * The keys that apply to a host: entries whose patterns match the host name or
 * its address (on `port`; `[host]:port` form off port 22), split by marker.
 *
 * @example
 * ```ts
 * import { matchKnownHosts, parseKnownHosts } from "@sshts/ssh";
 * const kh = parseKnownHosts(
 *   "*.example.com,!bad.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPloysTBsoIpccdFuhWaXhTsvZZFbH/PapG2mclKgeMK\n",
 * );
 * console.log(matchKnownHosts(kh, "www.example.com", "192.0.2.1", 22).trustedHostKeys.length); // 1
 * console.log(matchKnownHosts(kh, "bad.example.com", "192.0.2.2", 22).trustedHostKeys.length); // 0
 * ```
 */
export function matchKnownHosts(
  knownHosts: KnownHosts | readonly KnownHostsEntry[],
  host: string,
  addr?: string,
  port = 22,
): KnownHostsMatch {
  const entries = (): readonly KnownHostsEntry[] =>
    isEntryList(knownHosts) ? knownHosts : knownHosts.entries;
  const names = [lookupName(host, port)];
  if (addr !== undefined && addr !== "" && asciiLowerCase(addr) !== asciiLowerCase(host)) {
    names.push(lookupName(addr, port));
  }
  const out: KnownHostsMatch = { trustedHostKeys: [], trustedCAKeys: [], revokedKeys: [] };
  const add = (e: KnownHostsEntry) => {
    if (e.marker === "revoked") out.revokedKeys.push(e.key);
    else if (e.marker === "cert-authority") out.trustedCAKeys.push(e.key);
    else out.trustedHostKeys.push(e.key);
  };
  const pending = isEntryList(knownHosts) ? undefined : pendingOf.get(knownHosts);
  if (pending !== undefined && pending.made === undefined) {
    // The lines whose host field matches, their keys decoded now: the entries are those
    // whose key decodes, in the same order.
    for (const l of pending.lines) {
      if (!(l instanceof PendingLine) || l.host instanceof Error) continue;
      const host = l.host;
      if (!names.some((n) => entryMatches(host, n))) continue;
      const o = l.outcome();
      if (!(o instanceof Error)) add(o);
    }
  } else {
    for (const e of entries()) if (names.some((n) => entryMatches(e, n))) add(e);
  }
  // A revoked key is never trusted, whatever other lines say.
  const revoked = (k: SSHKey) => out.revokedKeys.some((r) => r.equals(k));
  return {
    trustedHostKeys: out.trustedHostKeys.filter((k) => !revoked(k)),
    trustedCAKeys: out.trustedCAKeys.filter((k) => !revoked(k)),
    revokedKeys: out.revokedKeys,
  };
}

/** Options for {@link formatKnownHostsLine}. */
export interface FormatKnownHostsOptions {
  /** Hash the host name (as `HashKnownHosts yes` / `ssh-keygen -H`). */
  readonly hashed?: boolean;
  /** Mark the line as a CA or a revoked key. */
  readonly marker?: KnownHostsMarker;
  /** Text after the key. */
  readonly comment?: string;
  /** Randomness for the hash salt. */
  readonly random?: RandomSource;
}

/**
 * Formats a known_hosts line (with its newline) for a host (or a list of names,
 * e.g. a host and its address) on `port`. Hashed entries get one line per name,
 * as OpenSSH writes them.
 *
 * @example
 * ```ts
 * import { formatKnownHostsLine, generatePrivateKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519");
 * console.log(formatKnownHostsLine("example.com", 2222, key).startsWith("[example.com]:2222 ssh-ed25519 "));
 * ```
 */
export function formatKnownHostsLine(
  host: string | readonly string[],
  port: number,
  key: SSHKey,
  options: FormatKnownHostsOptions = {},
): string {
  const names = (typeof host === "string" ? [host] : [...host]).map((h) => knownHostsName(h, port));
  if (names.length === 0 || names.some((n) => /[\s,]/.test(n) || n === "")) {
    throw new RangeError("formatKnownHostsLine() needs host names without spaces or commas");
  }
  // A plain line starting "#" is a comment, "@" a marker, "|" a hashed name: written, the
  // line would trust nothing (or fail to parse) with no word said.
  if (!options.hashed && /^[#@|]/.test(names[0]!)) {
    throw new RangeError(
      `formatKnownHostsLine() cannot write a line whose first name starts with '${names[0]![0]}'`,
    );
  }
  const prefix = options.marker ? `@${options.marker} ` : "";
  const keyPart = `${key.getAlgorithm()} ${encodeBase64(key.publicBlob)}` +
    (options.comment ? ` ${options.comment}` : "");
  if (!options.hashed) return `${prefix}${names.join(",")} ${keyPart}\n`;
  const random = options.random ?? systemRandom;
  return names
    .map((n) => `${prefix}${hashKnownHostsName(asciiLowerCase(n), random(20))} ${keyPart}\n`)
    .join("");
}

/**
 * Returns `text` with a new entry appended (adding a newline first if `text`
 * does not end with one).
 *
 * @example
 * ```ts
 * import { addKnownHost, matchKnownHosts, parseKnownHosts, generatePrivateKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519");
 * const text = addKnownHost("", "example.com", 22, key, { hashed: true });
 * console.log(matchKnownHosts(parseKnownHosts(text), "example.com").trustedHostKeys[0]?.equals(key)); // true
 * ```
 */
export function addKnownHost(
  text: string,
  host: string | readonly string[],
  port: number,
  key: SSHKey,
  options: FormatKnownHostsOptions = {},
): string {
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  return text + sep + formatKnownHostsLine(host, port, key, options);
}

/** What {@link removeKnownHost} removes besides plain lines. */
export interface RemoveKnownHostOptions {
  /** Only lines with this key (default: every key listed for the host). */
  readonly key?: SSHKey;
  /** Also remove `@cert-authority` and `@revoked` lines that match (default false, as ssh-keygen). */
  readonly markers?: boolean;
}

/**
 * Returns `text` without the lines that match `host` on `port`, as
 * `ssh-keygen -R` and libssh2's `knownhost_del` do: a plain or hashed line
 * whose patterns match the name (`[host]:port` off port 22) goes as a whole,
 * even when it lists other names too; `@cert-authority` and `@revoked` lines
 * stay unless `markers` is set. Comments and lines that do not parse are kept
 * as written.
 *
 * @example
 * ```ts
 * import { addKnownHost, parseKnownHosts, removeKnownHost, generatePrivateKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519");
 * let text = addKnownHost("", "a.example", 22, key);
 * text = addKnownHost(text, "b.example", 22, key, { hashed: true });
 * text = addKnownHost(text, "c.example", 2222, key);
 * text = removeKnownHost(removeKnownHost(text, "a.example"), "b.example");
 * console.log(parseKnownHosts(text).entries.map((e) => e.patterns)); // [["[c.example]:2222"]]
 * ```
 */
export function removeKnownHost(
  text: string,
  host: string,
  port = 22,
  options: RemoveKnownHostOptions = {},
): string {
  const name = lookupName(host, port);
  const lines = text.split(/(?<=\n)/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const body = raw.replace(/\r?\n$/, "");
    const trimmed = body.replace(LEADING_BLANKS, "");
    if (trimmed === "" || trimmed.startsWith("#") || body.length > MAX_KNOWN_HOSTS_LINE) {
      out.push(raw);
      continue;
    }
    let e: KnownHostsEntry;
    try {
      e = parseLine(body, i + 1);
    } catch {
      out.push(raw);
      continue;
    }
    const remove = (options.markers || !e.marker) &&
      (!options.key || e.key.equals(options.key)) && entryMatches(e, name);
    if (!remove) out.push(raw);
  }
  return out.join("");
}

function isEntryList(k: KnownHosts | readonly KnownHostsEntry[]): k is readonly KnownHostsEntry[] {
  return Array.isArray(k);
}
