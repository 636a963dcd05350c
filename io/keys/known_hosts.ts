/**
 * Host key checking against known_hosts, as `ssh` does it: plain keys,
 * `@cert-authority` host certificates and `@revoked` entries, read from files
 * or text, plus the host key algorithm order known_hosts suggests.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { SSHError } from "../../core/errors.ts";
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  keyTypeForSignatureAlgorithm,
} from "../../core/publickey/algorithms.ts";
import { isCertificateAlgorithm, plainAlgorithm } from "../../core/publickey/certificate.ts";
import { SSHReader } from "../../core/wire.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { checkHostCertificate } from "../../keys/trust/certificate_policy.ts";
import {
  freezeKnownHosts,
  type KnownHosts,
  type KnownHostsEntry,
  type KnownHostsMatch,
  matchKnownHosts,
  parseKnownHosts,
} from "../../keys/trust/known_hosts.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { expandHome, readAllowed, wallClock } from "../runtime/env.ts";
import type { HostKeyInfo } from "./types.ts";
import { readTrustFile } from "./trust_file.ts";
import { DerivedFromFiles } from "../runtime/file_cache.ts";

/** Default known_hosts files, in OpenSSH's order. */
export const DEFAULT_KNOWN_HOSTS_FILES = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"];

/** Facts the known_hosts verifier checks. */
export type KnownHostsCheckInfo = HostKeyInfo & { address?: string | undefined };

/** A known_hosts host key verifier, with the host key algorithm order it suits. */
export interface KnownHostsVerifier {
  /** True to accept; throws an `SSHError` (ERR_HOST_KEY_NOT_VERIFIABLE) saying why not. */
  (info: KnownHostsCheckInfo): boolean;
  /**
   * Host key algorithms in the order to offer for `host` (OpenSSH's
   * order_hostkeyalgs): the algorithms known_hosts can vouch for come first —
   * certificate forms when a `@cert-authority` line matches the host, the key
   * types known for it — then the rest of `base` (default
   * {@link DEFAULT_HOST_KEY_ALGORITHMS}). With nothing known for the host, `base` as is.
   */
  hostKeyAlgorithms(
    host: string,
    port: number,
    address?: string,
    base?: readonly string[],
  ): string[];
  /** The parsed known_hosts. */
  readonly knownHosts: KnownHosts;
}

/** `host`, or `[host]:port` off port 22, as known_hosts writes it. */
export function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Where known_hosts lines come from: a file path, several paths, or the text itself. */
export type KnownHostsSource = string | readonly string[] | { readonly text: string };

/**
 * Reads and parses known_hosts files (AsyncSSH's `read_known_hosts`): one
 * path (`~` expands), several (concatenated in order; a missing file adds
 * nothing, as `ssh` treats it), or `{ text }`. Malformed lines are listed in
 * `errors`, not thrown. Pass the result to `matchKnownHosts`, or to
 * `removeKnownHost` / `formatKnownHostsLine` to edit it.
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { addKnownHost, generatePrivateKey, matchKnownHosts, readKnownHosts } from "@sshts/ssh";
 * const path = join(await mkdtemp(join(tmpdir(), "kh-")), "known_hosts");
 * await writeFile(path, addKnownHost("", "github.com", 22, generatePrivateKey("ed25519").publicKey()));
 * const kh = await readKnownHosts(path); // e.g. "~/.ssh/known_hosts"
 * console.log(matchKnownHosts(kh, "github.com").trustedHostKeys.length); // 1
 * ```
 */
export async function readKnownHosts(source: KnownHostsSource): Promise<KnownHosts> {
  if (typeof source === "object" && "text" in source) return parseKnownHosts(source.text);
  return parseKnownHosts(await readKnownHostsFiles(typeof source === "string" ? [source] : source));
}

/** Most bytes read from one known_hosts file (a million hashed lines is about 200 MB). */
export const KNOWN_HOSTS_MAX_BYTES = 256 * 1024 * 1024;

/**
 * One file's bytes; undefined (it trusts nothing) when it is missing, not a regular file (a
 * FIFO would wait for a writer, /dev/zero never end) or over {@link KNOWN_HOSTS_MAX_BYTES}.
 * Any other error (no permission, too many open files, an I/O error) is thrown.
 */
async function readOneKnownHostsFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readTrustFile(path, { maxBytes: KNOWN_HOSTS_MAX_BYTES });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ERR_KEY_IMPORT") return undefined;
    throw e;
  }
}

/** `~` expanded, or undefined where there is no home directory to expand it with. */
function expanded(path: string): string | undefined {
  try {
    return expandHome(path);
  } catch {
    return undefined; // Deno without access to HOME: that file trusts nothing
  }
}

/**
 * The files' text, one after another, for `readKnownHosts()`: a file that cannot be read at
 * all trusts nothing, as a missing one.
 */
async function readKnownHostsFiles(files: readonly string[]): Promise<string> {
  const paths = files.map(expanded).filter((p) => p !== undefined);
  return knownHostsText(
    await Promise.all(paths.map((p) => readOneKnownHostsFile(p).catch(() => undefined))),
  );
}

function knownHostsText(files: readonly (Uint8Array | undefined)[]): string {
  let text = "";
  for (const bytes of files) if (bytes) text += new TextDecoder().decode(bytes) + "\n";
  return text;
}

/**
 * known_hosts files as connect() reads them, parsed, kept while they are unchanged: every
 * connection checks its host key against them, and a large hashed file (Debian's default)
 * takes milliseconds per thousand lines to parse. Frozen, since every connection shares it.
 */
const parsedFiles = new DerivedFromFiles(
  readOneKnownHostsFile,
  (files) => shared(parseKnownHosts(knownHostsText(files))),
);

/**
 * Lookups in the parsed files connect() shares, kept with them: a process connects to the
 * same hosts again and again, and one lookup checks every hashed line. Only the verifier
 * reads these results; they are never handed out.
 */
const sharedLookups = new WeakMap<KnownHosts, Map<string, KnownHostsMatch>>();

function shared(kh: KnownHosts): KnownHosts {
  // Every connection reads it: frozen all the way down but for the salt and hash bytes
  // (typed arrays cannot be frozen; only the verifier sees them). Its keys are still decoded
  // only as lookups need them.
  freezeKnownHosts(kh);
  sharedLookups.set(kh, new Map());
  return kh;
}

/**
 * The files' parse, shared while they are unchanged; when one of them cannot be read (too
 * many open files...), this connection's own parse of what could be read, kept for nobody.
 */
async function parsedKnownHostsFiles(files: readonly string[]): Promise<KnownHosts> {
  const paths = files.map(expanded).filter((p) => p !== undefined);
  try {
    return await parsedFiles.get(paths);
  } catch {
    // Read again, each file on its own, for this connection only. A file we may not read is
    // skipped, as ssh skips it. One that failed for a passing reason (too many open files, an
    // I/O error) fails the check: taken as empty, it would make a known host look new, and
    // `accept-new` would learn whatever key is offered, even one the file contradicts.
    const contents: (Uint8Array | undefined)[] = [];
    for (const p of paths) {
      try {
        contents.push(await readOneKnownHostsFile(p));
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "EACCES" || code === "EPERM") {
          contents.push(undefined);
          continue;
        }
        throw new SSHError(
          "ERR_HOST_KEY_NOT_VERIFIABLE",
          `Cannot check the host key: known_hosts file ${p} cannot be read (${
            (e as Error).message
          })`,
          { cause: e },
        );
      }
    }
    return parseKnownHosts(knownHostsText(contents));
  }
}

/** Lookups kept per parsed known_hosts (a process connecting to many hosts starts over). */
const MAX_LOOKUPS = 4096;

/**
 * The lookups of one verifier: those kept with connect()'s shared parse of the files, or
 * its own (a caller's parsed object may change between connections; one connection looks
 * its host up several times: the algorithms to offer, the key's name, its address).
 */
function lookups(kh: KnownHosts) {
  const kept = sharedLookups.get(kh) ?? new Map<string, KnownHostsMatch>();
  return (host: string, addr: string | undefined, port: number): KnownHostsMatch => {
    const key = `${host}\0${addr ?? ""}\0${port}`;
    let m = kept.get(key);
    if (m === undefined) {
      if (kept.size >= MAX_LOOKUPS) kept.clear();
      m = matchKnownHosts(kh, host, addr, port);
      kept.set(key, m);
    }
    return m;
  };
}

/**
 * The key a host key blob stands for in known_hosts (a certificate's certified key), and for
 * a certificate the CA key that signed it. Throws for a blob that does not parse.
 *
 * @example
 * ```ts ignore
 * const { key, signer } = hostKeyOf(info.keyBlob);
 * ```
 */
export function hostKeyOf(blob: Uint8Array): { key: SSHKey; signer?: SSHKey } {
  let type = "";
  try {
    type = new SSHReader(blob).readStringAscii("key type", 256);
  } catch { /* fromPublicBlob says what is wrong */ }
  if (!isCertificateAlgorithm(type)) return { key: SSHKey.fromPublicBlob(blob) };
  const cert = SSHCertificate.fromBlob(blob);
  return { key: cert.key, signer: cert.signatureKey };
}

/**
 * Builds a host key verifier from known_hosts text (or files), as `ssh` checks:
 * a plain host key must be listed for the host; a host certificate must be
 * signed by a `@cert-authority` key for the host, valid now and name the host
 * among its principals — and when no CA line matches, the certified key itself
 * is looked up as a plain key (as OpenSSH falls back). Keys and CAs marked
 * `@revoked` are refused. On a port other than 22, a host that known_hosts does not list
 * as `[host]:port` is checked under its bare name, as ssh does (so `host` lines and
 * `@cert-authority *.example.com` lines serve every port). Failures throw an `SSHError`
 * with ERR_HOST_KEY_NOT_VERIFIABLE saying why and how to trust the key.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, knownHostsVerifier } from "@sshts/ssh";
 * // Or { files: ["~/.ssh/known_hosts"] }.
 * const key = generatePrivateKey("ed25519");
 * const verify = await knownHostsVerifier({
 *   text: `server.example ${key.exportPublicKey("openssh")}\n`,
 * });
 * console.log(verify.hostKeyAlgorithms("server.example", 22)[0]); // "ssh-ed25519" (known first)
 * ```
 */
export async function knownHostsVerifier(
  source: { files: readonly string[] } | { text: string } | { parsed: KnownHosts },
  options: { now?: () => number } = {},
): Promise<KnownHostsVerifier> {
  const kh = "parsed" in source
    ? source.parsed
    : "files" in source
    ? await parsedKnownHostsFiles(source.files)
    : parseKnownHosts(source.text);
  const lookup = lookups(kh);
  const now = options.now ?? wallClock;
  // Asked only when a key is not known: a known_hosts path with nothing there (a typo, a
  // first connection) explains that best.
  const missingFilesNote = (): string => {
    if (!("files" in source)) return "";
    // Named as they are looked for: "~/.ssh/kh" as the path it is.
    const missing = source.files.map(expanded).filter((path): path is string => {
      // Deno without read access: nothing to tell (and no prompt asking for it).
      if (path === undefined || !readAllowed(path)) return false;
      try {
        return !existsSync(path);
      } catch {
        return false;
      }
    });
    if (missing.length === 0) return "";
    return ` (${missing.length === source.files.length ? "no known_hosts file: " : ""}${
      missing.join(", ")
    } ${missing.length === 1 ? "does" : "do"} not exist)`;
  };
  const refuse = (message: string): never => {
    throw new SSHError("ERR_HOST_KEY_NOT_VERIFIABLE", message);
  };
  // The refusals that are revocations, told apart from "not known" by the port fallback.
  const revocations = new WeakSet<Error>();
  const refuseRevoked = (message: string): never => {
    const e = new SSHError("ERR_HOST_KEY_NOT_VERIFIABLE", message);
    revocations.add(e);
    throw e;
  };
  /** The entries for the name connected to (without the address). */
  const byName = (info: KnownHostsCheckInfo) => lookup(info.host, undefined, info.port);
  const checkPlain = (key: SSHKey, info: KnownHostsCheckInfo, via: string): true => {
    const m = lookup(info.host, info.address, info.port);
    if (m.revokedKeys.some((k) => k.equals(key))) {
      refuseRevoked(`Host key ${key.getFingerprint()} is revoked in known_hosts`);
    }
    // As ssh (with CheckHostIP): another key of this type under the name or under
    // the address is a changed host key, whatever the other lookup says.
    const names: [string, string][] = [[info.host, hostLabel(info.host, info.port)]];
    if (info.address && info.address.toLowerCase() !== info.host.toLowerCase()) {
      names.push([info.address, `IP address ${hostLabel(info.address, info.port)}`]);
    }
    for (const [name, label] of names) {
      const listed = lookup(name, undefined, info.port).trustedHostKeys
        .filter((k) => k.getAlgorithm() === key.getAlgorithm());
      if (listed.length && !listed.some((k) => k.equals(key))) {
        refuse(
          `Host key for ${label} has changed: known_hosts lists ` +
            `${listed[0]!.getFingerprint()}, the server sent ${key.getAlgorithm()} ` +
            `${key.getFingerprint()}${via} (someone may be intercepting the connection, ` +
            `or the host key was replaced; fix known_hosts)`,
        );
      }
    }
    // Trust comes from the name's entries only (as ssh): a key listed under the address alone
    // vouches for whatever host resolves there, not for this name.
    if (byName(info).trustedHostKeys.some((k) => k.equals(key))) return true;
    return refuse(
      `Host key for ${hostLabel(info.host, info.port)} is not known ` +
        `(${key.getAlgorithm()} ${key.getFingerprint()}${via}); ` +
        `add it to known_hosts or pass hostKeyVerifier${missingFilesNote()}`,
    );
  };
  const verifyOnPort = (info: KnownHostsCheckInfo): boolean => {
    let type = "";
    try {
      type = new SSHReader(info.keyBlob).readStringAscii("key type", 256);
    } catch { /* fromPublicBlob below says what is wrong */ }
    if (!isCertificateAlgorithm(type)) {
      return checkPlain(SSHKey.fromPublicBlob(info.keyBlob), info, "");
    }
    const cert = SSHCertificate.fromBlob(info.keyBlob);
    // CAs vouch for the names their lines list; revocations under the address count too.
    const m = {
      trustedCAKeys: byName(info).trustedCAKeys,
      revokedKeys: lookup(info.host, info.address, info.port).revokedKeys,
    };
    // As ssh (check_key_not_revoked): a revoked CA revokes every certificate it signed, and
    // nothing falls back to the certified key then.
    if (m.revokedKeys.some((k) => k.equals(cert.signatureKey))) {
      refuseRevoked(
        `Host certificate '${cert.keyId}' for ${hostLabel(info.host, info.port)} is signed by ` +
          `${cert.signatureKey.getFingerprint()}, which is revoked in known_hosts`,
      );
    }
    const via = `, certified by ${cert.signatureKey.getFingerprint()}`;
    if (m.trustedCAKeys.length === 0 || !m.trustedCAKeys.some((k) => k.equals(cert.signatureKey))) {
      // As ssh: no CA vouches for this host, so the certified key must be known itself.
      return checkPlain(cert.key, info, via);
    }
    const r = checkHostCertificate(cert, {
      host: info.host,
      trustedCAs: m.trustedCAKeys,
      revokedKeys: m.revokedKeys,
      now: now(),
    });
    if (r.valid) return true;
    const why = `Host certificate '${cert.keyId}' for ${hostLabel(info.host, info.port)} is ` +
      `not acceptable: ${r.reason}`;
    // As ssh ("No matching CA found. Retry with plain key"): a certificate that fails (a
    // wrong principal, expired) leaves the certified key to be trusted on its own.
    try {
      return checkPlain(cert.key, info, via);
    } catch (e) {
      return refuse(`${why}; its key is not trusted on its own either: ${(e as Error).message}`);
    }
  };
  let unmarked: KnownHostsEntry[] | undefined;
  /**
   * Whether known_hosts says nothing about this key as `[host]:port` (ssh's HOST_NEW there):
   * no plain line for the name on that port, none under the address with another key, for a
   * certificate no `@cert-authority` line for the name on that port with its CA, and neither
   * the key nor its CA revoked there.
   */
  const newOnPort = (info: KnownHostsCheckInfo): boolean => {
    const { key, signer } = hostKeyOf(info.keyBlob);
    unmarked ??= kh.entries.filter((e) => e.marker === undefined);
    // Every plain line, revoked or not: a revoked line still makes the host known (changed).
    if (matchKnownHosts(unmarked, info.host, undefined, info.port).trustedHostKeys.length) {
      return false;
    }
    if (
      info.address !== undefined && info.address !== "" &&
      matchKnownHosts(unmarked, info.address, undefined, info.port).trustedHostKeys
        .some((k) => !k.equals(key))
    ) return false;
    if (signer !== undefined && byName(info).trustedCAKeys.some((k) => k.equals(signer))) {
      return false;
    }
    return !lookup(info.host, info.address, info.port).revokedKeys
      .some((r) => r.equals(key) || (signer !== undefined && r.equals(signer)));
  };
  const verify = ((info: KnownHostsCheckInfo): boolean => {
    try {
      return verifyOnPort(info);
    } catch (e) {
      // As ssh ("checking without port identifier"): a host that known_hosts does not list on
      // this port is checked as on port 22, under its bare name (and its CAs), read-only. A
      // key refused there stays unknown on this port (ssh too: accept-new records it there).
      let fallBack = false;
      try {
        fallBack = info.port !== 22 && newOnPort(info);
      } catch { /* a blob that does not parse: e says so */ }
      if (!fallBack) throw e;
      try {
        return verifyOnPort({ ...info, port: 22 });
      } catch (e22) {
        // A revocation under the bare name is said as one (ssh's REVOKED banner), not as an
        // unknown key on this port.
        throw e22 instanceof Error && revocations.has(e22) ? e22 : e;
      }
    }
  }) as KnownHostsVerifier;
  verify.hostKeyAlgorithms = (host, port, _address, base = DEFAULT_HOST_KEY_ALGORITHMS) => {
    // Only what the name's entries vouch for (what checkPlain will trust); off port 22, with
    // nothing listed as [host]:port, what the bare name's entries vouch for (the check falls
    // back to them).
    const onPort = lookup(host, undefined, port);
    const m = port !== 22 && onPort.trustedHostKeys.length === 0 &&
        onPort.trustedCAKeys.length === 0
      ? lookup(host, undefined, 22)
      : onPort;
    const knownTypes = new Set(m.trustedHostKeys.map((k) => k.getAlgorithm()));
    const haveCA = m.trustedCAKeys.length > 0;
    const vouched = (alg: string): boolean => {
      if (isCertificateAlgorithm(alg)) return haveCA;
      const t = keyTypeForSignatureAlgorithm(alg);
      return t !== undefined && knownTypes.has(t);
    };
    const first = base.filter(vouched);
    // Known plain key types also vouch for their certificate forms (ssh falls back to the key).
    const certsOfKnown = base.filter((a) =>
      !first.includes(a) && isCertificateAlgorithm(a) &&
      knownTypes.has(keyTypeForSignatureAlgorithm(plainAlgorithm(a)) ?? "")
    );
    if (first.length === 0 && certsOfKnown.length === 0) return [...base];
    const head = [...certsOfKnown, ...first].sort((a, b) => base.indexOf(a) - base.indexOf(b));
    return [...head, ...base.filter((a) => !head.includes(a))];
  };
  Object.defineProperty(verify, "knownHosts", { value: kh });
  return verify;
}

/** Keys trusted for every host (AsyncSSH's known_hosts given as key lists). */
export interface KnownHostKeys {
  /** Host keys accepted. */
  readonly trustedHostKeys: readonly SSHKey[];
  /** CA keys whose host certificates are accepted. */
  readonly trustedCAKeys?: readonly SSHKey[];
  /** Keys refused, also as CAs. */
  readonly revokedKeys?: readonly SSHKey[];
}

/**
 * A `KnownHosts` that lists `keys` for every host name (pattern `*`), for
 * `connect({ knownHosts: keys })`.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, knownHostsFromKeys } from "@sshts/ssh";
 * const hostKey = generatePrivateKey("ed25519").publicKey(); // or await readPublicKey("host.pub")
 * const kh = knownHostsFromKeys({ trustedHostKeys: [hostKey] });
 * console.log(kh.entries.length); // 1: pattern *
 * ```
 */
export function knownHostsFromKeys(keys: KnownHostKeys): KnownHosts {
  const entry = (key: SSHKey, marker: KnownHostsEntry["marker"], line: number) => ({
    line,
    marker,
    patterns: ["*"],
    hashed: undefined,
    key,
    comment: "",
  });
  const entries: KnownHostsEntry[] = [];
  for (const k of keys.trustedHostKeys) entries.push(entry(k, undefined, entries.length + 1));
  for (const k of keys.trustedCAKeys ?? []) {
    entries.push(entry(k, "cert-authority", entries.length + 1));
  }
  for (const k of keys.revokedKeys ?? []) entries.push(entry(k, "revoked", entries.length + 1));
  return { entries, errors: [] };
}
