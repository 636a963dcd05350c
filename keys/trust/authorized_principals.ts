/**
 * sshd's `AuthorizedPrincipalsFile`: the certificate principals a user accepts
 * from the CAs of `TrustedUserCAKeys`, one a line, each optionally preceded by
 * authorized_keys options (`from=`, `command=`, `no-pty`, ...) that apply to a
 * login through it.
 *
 * @module
 */

import {
  type AuthorizedKeyOptions,
  type AuthorizedKeysError,
  type AuthorizedKeysParseOptions,
  contentLines,
  parseAuthorizedKeyOptions,
} from "./authorized_keys.ts";

/** One usable line of an authorized principals file. */
export interface AuthorizedPrincipalEntry {
  /** 1-based line number. */
  readonly line: number;
  /** The principal a certificate must list. */
  readonly principal: string;
  /** The line's options (all permissions on when it has none). */
  readonly options: AuthorizedKeyOptions;
}

/** The outcome of {@link parseAuthorizedPrincipals}. */
export interface AuthorizedPrincipals {
  /** The usable lines, in file order. */
  readonly entries: readonly AuthorizedPrincipalEntry[];
  /** Lines that were skipped and why (blank lines and comments are not errors). */
  readonly errors: readonly AuthorizedKeysError[];
}

/**
 * Parses an authorized principals file as sshd reads one: blank lines and `#`
 * comments skipped; otherwise the last whitespace-separated word is the
 * principal and whatever precedes it the line's options, in authorized_keys
 * syntax. A line with bad options, or with `cert-authority` or `principals=`
 * (meaningless here), is skipped and listed in `errors` with the reason, so it
 * accepts nobody, as sshd skips it. `expiry-time` values without `Z` are read
 * in `options.timeZone` (default UTC).
 *
 * @example
 * ```ts
 * import { parseAuthorizedPrincipals } from "./authorized_principals.ts";
 * const p = parseAuthorizedPrincipals('# ops team\nalice\nfrom="10.*",no-pty ops\n');
 * console.log(p.entries.map((e) => e.principal), p.entries[1]!.options.pty); // ["alice", "ops"] false
 * ```
 */
export function parseAuthorizedPrincipals(
  text: string,
  parseOptions: AuthorizedKeysParseOptions = {},
): AuthorizedPrincipals {
  const entries: AuthorizedPrincipalEntry[] = [];
  const errors: AuthorizedKeysError[] = [];
  for (const { number, raw, line } of contentLines(text, errors)) {
    // The last word is the principal, what comes before it the options (found by a
    // scan: a regex that tries every split costs quadratic time on a line of blanks).
    const split = splitLastWord(line);
    const principal = split ? split[1] : line;
    try {
      const options = parseAuthorizedKeyOptions(split ? split[0] : "", parseOptions);
      if (options.certAuthority) throw new Error("option 'cert-authority' is not allowed here");
      if (options.principals !== undefined) {
        throw new Error("option 'principals' is not allowed here");
      }
      entries.push({ line: number, principal, options });
    } catch (e) {
      errors.push({
        line: number,
        text: raw,
        reason: `bad principals options: ${(e as Error).message}`,
      });
    }
  }
  return { entries, errors };
}

/** `line` as [before, last word] when blanks separate a last word from what precedes it. */
function splitLastWord(line: string): [string, string] | undefined {
  let end = line.length;
  while (end > 0 && (line[end - 1] === " " || line[end - 1] === "\t")) end--;
  let start = end;
  while (start > 0 && line[start - 1] !== " " && line[start - 1] !== "\t") start--;
  if (start === 0 || start === end || end !== line.length) return undefined;
  let before = start;
  while (before > 0 && (line[before - 1] === " " || line[before - 1] === "\t")) before--;
  return [line.slice(0, before), line.slice(start, end)];
}
