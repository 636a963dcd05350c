/**
 * `authorizedClientKeys` for `listen()`: an OpenSSH `authorized_keys` file, its
 * text, or a parsed list, per server or per user, loaded and matched against a
 * key that asks to log in.
 *
 * @module
 */

import {
  type AuthorizedKeyEntry,
  type AuthorizedKeys,
  findAuthorizedKey,
  parseAuthorizedKeys,
} from "../../keys/trust/authorized_keys.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { formatOpenSSHPublicKeyLine } from "../../keys/formats/public_formats.ts";
import { expandHome, localTimeZoneOffset, wallClock } from "../runtime/env.ts";
import { readTrustFile } from "./trust_file.ts";
import { DerivedFromFiles } from "../runtime/file_cache.ts";

/** authorized_keys `expiry-time` values without `Z` are in the host's local time, as sshd reads them. */
const HOST_TIME_ZONE = { timeZone: localTimeZoneOffset } as const;

/**
 * The largest authorized_keys file read (4 MiB, some 5,000 RSA-4096 lines): a user's
 * own file must not make each login attempt hold what it likes in memory.
 */
export const AUTHORIZED_KEYS_MAX_BYTES = 4 * 1024 * 1024;

/**
 * One `authorized_keys` source: a file path, its text, parsed entries, or a list of
 * entries and keys (a key is a line without options).
 */
export type AuthorizedKeysInput =
  | string
  | AuthorizedKeys
  | readonly (AuthorizedKeyEntry | SSHKey)[];

/**
 * A source for every user, or a function giving each user's (undefined/null: none). A
 * function's string is a path, never text (see authorizedKeysFor).
 */
export type AuthorizedKeysSource =
  | AuthorizedKeysInput
  | ((
    username: string,
  ) => AuthorizedKeysInput | null | undefined | Promise<AuthorizedKeysInput | null | undefined>);

/** Text rather than a path: several lines, or a line starting like a key or options. */
function looksLikeKeysText(s: string): boolean {
  return s.includes("\n") || /^\s*(#|ssh-|ecdsa-|sk-|rsa-sha2-|[a-z-]+(=|,| ))/.test(s) ||
    / AAAA/.test(s);
}

/**
 * Reads authorized keys from a path, text or parsed list. A missing file means
 * no keys (as sshd); other read errors throw, and so does a file that is not a
 * regular file (a FIFO, /dev/zero) or is larger than
 * {@link AUTHORIZED_KEYS_MAX_BYTES}: it is opened without blocking and checked
 * as sshd checks it (`readTrustFile()`). A file's entries are kept, frozen, while it is
 * unchanged (`AuthorizedKeysFiles`): a server asks at every login.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, loadAuthorizedKeys } from "@sshts/ssh";
 * // A path ("~/.ssh/authorized_keys"; missing means none) or the file's text.
 * const line = `restrict ${generatePrivateKey("ed25519").exportPublicKey("openssh")}\n`;
 * const entries = await loadAuthorizedKeys(line);
 * console.log(entries.length); // 1
 * ```
 */
export async function loadAuthorizedKeys(
  input: AuthorizedKeysInput,
): Promise<readonly AuthorizedKeyEntry[]> {
  if (typeof input !== "string") {
    return Array.isArray(input)
      ? entriesOfList(input as readonly (AuthorizedKeyEntry | SSHKey)[])
      : (input as AuthorizedKeys).entries;
  }
  if (looksLikeKeysText(input)) {
    // A server's authorizedClientKeys text is the same string at every login: parse it once.
    if (input !== lastText) {
      lastEntries = frozenEntries(parseAuthorizedKeys(input, HOST_TIME_ZONE).entries);
      lastText = input;
    }
    return lastEntries;
  }
  return await loadAuthorizedKeysFile(input);
}

/**
 * The parse of authorized_keys files, each kept while the file is unchanged: a server
 * reads the file at every login, and parsing it is synchronous work on the event loop (a
 * 2,000-line RSA file took 15–90 ms a login, and held every other session that long).
 * `DerivedFromFiles` (as connect() keeps known_hosts) tells a changed file by one `stat`:
 * device, inode, size, mode, owner, modification and change times, and it keeps nothing read
 * from a file changed less than `SETTLE_MS` (2 s) before, so two writes of one size within a
 * clock tick are not taken for one (mtime resolution alone is not trusted). A replaced file
 * (a new inode) or an edited one is read again at the next login. At most
 * `MAX_CACHED_FILES` (64) files are kept, the oldest dropped first: at most 64 ×
 * {@link AUTHORIZED_KEYS_MAX_BYTES} of text parsed. The entries are frozen (every login
 * shares them).
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { AuthorizedKeysFiles } from "./authorized_keys.ts";
 * const path = join(await mkdtemp(join(tmpdir(), "ak-")), "authorized_keys");
 * await writeFile(path, generatePrivateKey("ed25519").exportPublicKey("openssh"));
 * const files = new AuthorizedKeysFiles(); // a clock for file times may be given (tests)
 * console.log((await files.load(path)).length); // 1
 * ```
 */
export class AuthorizedKeysFiles {
  readonly #files: DerivedFromFiles<readonly AuthorizedKeyEntry[]>;

  /** `now` is the clock file times are compared with (default `Date.now`). */
  constructor(now: () => number = Date.now) {
    this.#files = new DerivedFromFiles(
      (path) => readTrustFile(path, { maxBytes: AUTHORIZED_KEYS_MAX_BYTES }),
      ([bytes]) =>
        bytes === undefined ? NO_ENTRIES : frozenEntries(
          parseAuthorizedKeys(new TextDecoder().decode(bytes), HOST_TIME_ZONE).entries,
        ),
      now,
    );
  }

  /**
   * The entries of the file at `path` (`~` expands): none when it does not exist. A file
   * that cannot be read, is not a regular file or is too large throws (`readTrustFile()`).
   */
  async load(path: string): Promise<readonly AuthorizedKeyEntry[]> {
    return await this.#files.get([expandHome(path)]);
  }
}

const NO_ENTRIES: readonly AuthorizedKeyEntry[] = Object.freeze([]);

/** The authorized_keys files logins read, parsed (see {@link AuthorizedKeysFiles}). */
const authorizedKeysFiles = new AuthorizedKeysFiles();

/** The entries of the authorized_keys file at `path` (missing: none; see loadAuthorizedKeys). */
function loadAuthorizedKeysFile(path: string): Promise<readonly AuthorizedKeyEntry[]> {
  return authorizedKeysFiles.load(path);
}

// What loadAuthorizedKeys made of the last keys text and of each list: a server asks at every
// login, and each entry holds a parsed key (CPU at every login, memory per connection).
let lastText: string | undefined;
let lastEntries: readonly AuthorizedKeyEntry[] = [];
const listEntries = new WeakMap<
  readonly unknown[],
  { items: readonly unknown[]; entries: readonly AuthorizedKeyEntry[] }
>();

/**
 * Entries shared by every login (and every caller) frozen, with their options and the lists
 * in them: a hook that changed what it was shown would otherwise change it for everyone.
 * The keys are left as they are (immutable already, and they cache what they compute).
 */
function frozenEntries(entries: readonly AuthorizedKeyEntry[]): readonly AuthorizedKeyEntry[] {
  for (const e of entries) {
    const o = e.options;
    for (const v of Object.values(o)) {
      if (Array.isArray(v)) {
        for (const x of v) if (typeof x === "object" && x !== null) Object.freeze(x);
        Object.freeze(v);
      }
    }
    Object.freeze(o);
    Object.freeze(e);
  }
  return Object.freeze(entries);
}

/** {@link authorizedKeyEntries} of a list, made again only when the list's items changed. */
function entriesOfList(
  list: readonly (AuthorizedKeyEntry | SSHKey)[],
): readonly AuthorizedKeyEntry[] {
  const known = listEntries.get(list);
  if (
    known && known.items.length === list.length && known.items.every((x, i) => x === list[i])
  ) return known.entries;
  const entries = authorizedKeyEntries(list);
  // The entries made here from keys (not the caller's own entry objects, left as given).
  frozenEntries(entries.filter((e, i) => e !== list[i]));
  listEntries.set(list, { items: [...list], entries });
  return entries;
}

/**
 * A list of authorized_keys entries and keys as entries: a key becomes a line without
 * options (every permission on). Anything else in the list is a `TypeError` (plain
 * JavaScript gets no type check, and a list that matches nothing would refuse every
 * key without saying why).
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { authorizedKeyEntries } from "./authorized_keys.ts";
 * const [entry] = authorizedKeyEntries([generatePrivateKey("ed25519").publicKey()]);
 * console.log(entry!.optionsText === "" && entry!.key.getAlgorithm()); // "ssh-ed25519"
 * ```
 */
export function authorizedKeyEntries(
  list: readonly (AuthorizedKeyEntry | SSHKey)[],
): readonly AuthorizedKeyEntry[] {
  return list.map((item, i) => {
    if (item instanceof SSHKey) {
      // Without the comment, which may hold a line break (ssh-keygen -C makes such keys, and
      // an export refuses them): an entry keeps it as it is.
      const entry = parseAuthorizedKeys(formatOpenSSHPublicKeyLine(item.publicBlob)).entries[0]!;
      return { ...entry, comment: item.getComment(), line: i + 1 };
    }
    const entry = item as Partial<AuthorizedKeyEntry> | null;
    if (
      typeof entry !== "object" || entry === null || !(entry.key instanceof SSHKey) ||
      typeof entry.options !== "object"
    ) {
      throw new TypeError(
        `authorizedClientKeys[${i}] is neither an SSHKey nor an authorized_keys entry ` +
          "(give keys, entries from parseAuthorizedKeys(), an authorized_keys path or its text)",
      );
    }
    return entry as AuthorizedKeyEntry;
  });
}

/**
 * Resolves a source for one user. A string a function returns is always a file path: it is
 * built from the user name, which the client chooses, and read as text when it looked like
 * keys, a user name carrying a newline and a key line would authorize that key. A function
 * that has the text returns `parseAuthorizedKeys(text)` (or its entries) instead. For the
 * same reason a user name that could leave the path's directory (empty, `.`, `..`, or
 * holding `/`, `\` or NUL: "../../tmp/x" read /tmp/x/authorized_keys) gets no keys from a
 * path, as with `authorizedPrincipals` (sshd never gets this far: no account has such a
 * name).
 */
export async function authorizedKeysFor(
  source: AuthorizedKeysSource,
  username: string,
): Promise<readonly AuthorizedKeyEntry[]> {
  if (typeof source !== "function") return await loadAuthorizedKeys(source);
  const input = await source(username);
  if (input === null || input === undefined) return [];
  if (typeof input !== "string") return loadAuthorizedKeys(input);
  return leavesDirectory(username) ? [] : await loadAuthorizedKeysFile(input);
}

/**
 * Whether a user name (the client's choice) could lead a path built from it out of its
 * directory: empty, `.`, `..`, or holding `/`, `\` or NUL.
 *
 * @example
 * ```ts
 * import { leavesDirectory } from "./authorized_keys.ts";
 * console.log(leavesDirectory("alice"), leavesDirectory("../evil")); // false true
 * ```
 */
export function leavesDirectory(username: string): boolean {
  return /^\.{0,2}$|[/\\\0]/.test(username);
}

/**
 * The entry that authorizes `key` from this client address now, if any
 * (`from=` and `expiry-time` applied; cert-authority lines never match a plain key).
 */
export function matchAuthorizedKey(
  entries: readonly AuthorizedKeyEntry[],
  key: SSHKey,
  remoteAddress: string,
  now: number = wallClock(),
): AuthorizedKeyEntry | undefined {
  // No reverse DNS: `from=` host-name patterns are matched against the address, as sshd with UseDNS no.
  return findAuthorizedKey(entries, key, { host: remoteAddress, addr: remoteAddress, now });
}
