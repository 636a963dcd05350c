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
 * Parses an authorized principals file as sshd reads one
 * (`auth_process_principals`): a `#` anywhere starts a comment that runs to the
 * end of the line, and blank lines are skipped. On a line with blanks, the
 * principal is what follows its last space (its last tab when it has no space)
 * and the line's options, in authorized_keys syntax, are read from its start up
 * to the first blank outside quotes. A line with bad options is skipped and
 * listed in `errors` with the reason, so it accepts nobody, as sshd skips it.
 * A line with `cert-authority` or `principals=` (meaningless here) is kept, as
 * sshd keeps it, and refuses a login it is the first to match
 * (`checkAuthorizedKey()` says why). `expiry-time` values without `Z` are read
 * in `options.timeZone` (default UTC).
 *
 * @example
 * ```ts
 * import { parseAuthorizedPrincipals } from "@sshts/ssh";
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
  for (const { number, raw, line: content } of contentLines(text, errors)) {
    // sshd cuts the line at its first '#', wherever it is ("ops # team" is "ops"; "a#b" is "a").
    let end = content.indexOf("#");
    if (end < 0) end = content.length;
    while (end > 0 && (content[end - 1] === " " || content[end - 1] === "\t")) end--;
    const line = content.slice(0, end);
    if (line === "") continue;
    const start = principalStart(line);
    const principal = line.slice(start);
    try {
      // The whole line, as sshd hands it to its options parser: it stops at the first blank
      // outside quotes, so a word between the options and the principal is ignored.
      const options = parseAuthorizedKeyOptions(start > 0 ? line : "", parseOptions);
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

/**
 * Where the principal of a line (no trailing blanks) starts, as sshd finds it: after
 * its last space, or its last tab when it has no space, and the blanks that follow;
 * 0 when the line has no blank (no options). One scan: linear in the line's length.
 */
function principalStart(line: string): number {
  let at = line.lastIndexOf(" ");
  if (at < 0) at = line.lastIndexOf("\t");
  if (at < 0) return 0;
  at++;
  while (line[at] === " " || line[at] === "\t") at++;
  return at;
}
