/**
 * The tokenisers OpenSSH applies to a configuration line: `strdelim` (the
 * keyword, which may end at `=`) and `argv_split` (the arguments, with quotes,
 * backslash escapes and `#` comments).
 *
 * @module
 */

const WHITESPACE = " \t\r\n";

function strspn(s: string, from: number, set: string): number {
  let i = from;
  while (i < s.length && set.includes(s[i]!)) i++;
  return i - from;
}

/** Result of {@link strdelim}: the token (null on an unmatched quote) and the rest (null at the end). */
export interface Delimited {
  readonly token: string | null;
  readonly rest: string | null;
}

/**
 * OpenSSH's strdelim: the next token of `s`, split at whitespace, a double
 * quote pair, or (with `splitEquals`) a single `=`.
 */
export function strdelim(s: string | null, splitEquals = true): Delimited {
  if (s === null) return { token: null, rest: null };
  const delims = splitEquals ? WHITESPACE + '"=' : WHITESPACE + '"';
  let i = 0;
  while (i < s.length && !delims.includes(s[i]!)) i++;
  if (i >= s.length) return { token: s, rest: null };
  if (s[i] === '"') {
    // The opening quote is removed; the token runs to the next quote.
    const t = s.slice(0, i) + s.slice(i + 1);
    const j = t.indexOf('"', i);
    if (j < 0) return { token: null, rest: null };
    const after = j + 1 + strspn(t, j + 1, WHITESPACE);
    return { token: t.slice(0, j), rest: t.slice(after) };
  }
  const wspace = splitEquals && s[i] === "=";
  const token = s.slice(0, i);
  let p = i + 1 + strspn(s, i + 1, WHITESPACE);
  if (splitEquals && s[p] === "=" && !wspace) p = p + 1 + strspn(s, p + 1, WHITESPACE);
  return { token, rest: s.slice(p) };
}

/** Thrown by {@link argvSplit} on an unterminated quote. */
export class QuoteError extends Error {}

/**
 * OpenSSH's argv_split: splits on spaces and tabs, honours single and double
 * quotes and the escapes `\\`, `\"`, `\'` and (outside quotes) `\ `; with
 * `terminateOnComment` a `#` at the start of a token ends the line.
 */
export function argvSplit(s: string, terminateOnComment: boolean): string[] {
  const argv: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (terminateOnComment && c === "#") break;
    let quote = "";
    let arg = "";
    for (; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === "\\") {
        const n = s[i + 1];
        if (n === "'" || n === '"' || n === "\\" || (quote === "" && n === " ")) {
          i++;
          arg += n;
        } else {
          arg += ch;
        }
      } else if (quote === "" && (ch === " " || ch === "\t")) {
        break;
      } else if (quote === "" && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== "" && ch === quote) {
        quote = "";
      } else {
        arg += ch;
      }
    }
    argv.push(arg);
    if (i >= s.length) {
      if (quote !== "") throw new QuoteError("unterminated quote");
      break;
    }
  }
  return argv;
}

/**
 * OpenSSH's rtrim, bug for bug: every whitespace character from the end down to
 * index 1 becomes the end of the string, so the result stops at the first
 * whitespace after the first character.
 */
export function rtrim(s: string): string {
  for (let i = 1; i < s.length; i++) {
    if (/[ \t\n\r\f\v]/.test(s[i]!)) return s.slice(0, i);
  }
  return s;
}
