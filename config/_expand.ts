/**
 * `%` tokens, `${ENV}` references and `~` in configuration values, as
 * OpenSSH's `percent_expand`, `dollar_expand` and `tilde_expand` do them.
 * Everything here works on byte strings.
 *
 * @module
 */

/** A `%` or `${}` expansion that OpenSSH refuses. */
export class ExpandError extends Error {
  /** True when the only problem was an unset `${VAR}` (OpenSSH treats it apart). */
  readonly missingVariable: boolean;
  constructor(message: string, missingVariable = false) {
    super(message);
    this.missingVariable = missingVariable;
  }
}

/** Token letter to replacement. */
export type Tokens = Readonly<Record<string, string>>;

/**
 * vdollar_percent_expand: `${VAR}` from `env` (when given) and `%x` from
 * `tokens` (when given; `%%` is a percent sign). Throws ExpandError for an
 * unknown token, a trailing `%`, an unterminated or empty `${}`, or an unset
 * variable.
 */
export function expand(
  s: string,
  tokens: Tokens | undefined,
  env: ((name: string) => string | undefined) | undefined,
): string {
  let out = "";
  let missing: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (env && c === "$" && s[i + 1] === "{") {
      const start = i + 2;
      const end = s.indexOf("}", start);
      if (end < 0) {
        throw new ExpandError(`environment variable '${s.slice(start)}' missing closing '}'`);
      }
      if (end === start) throw new ExpandError("zero-length environment variable");
      const name = s.slice(start, end);
      const v = env(name);
      if (v === undefined) missing ??= name;
      else out += v;
      i = end;
      continue;
    }
    if (c !== "%" || !tokens) {
      out += c;
      continue;
    }
    i++;
    const k = s[i];
    if (k === "%") {
      out += "%";
      continue;
    }
    if (k === undefined) throw new ExpandError("invalid format");
    const r = tokens[k];
    if (r === undefined) throw new ExpandError(`unknown key %${k}`);
    out += r;
  }
  if (missing !== undefined) throw new ExpandError(`env var \${${missing}} has no value`, true);
  return out;
}

/** Facts `~` expansion needs. */
export interface TildeContext {
  /** The home directory of the local user (getpwuid). */
  readonly homeDir: string;
  /** Another user's home directory (getpwnam), for `~user`. */
  readonly userHome?: ((user: string) => string | undefined) | undefined;
}

/**
 * tilde_expand: `~`, `~/path`, `~user` and `~user/path`. Throws when `~user`
 * names an unknown user.
 */
export function tildeExpand(filename: string, ctx: TildeContext): string {
  if (filename[0] !== "~") return filename;
  const copy = filename.slice(1);
  let user: string | undefined;
  let path: string | undefined;
  if (copy === "") path = undefined;
  else if (copy[0] === "/") {
    const rest = copy.replace(/^\/+/, "");
    path = rest === "" ? undefined : rest;
  } else {
    const slash = copy.indexOf("/");
    if (slash >= 0) {
      user = copy.slice(0, slash);
      const rest = copy.slice(slash + 1).replace(/^\/+/, "");
      path = rest === "" ? undefined : rest;
    } else user = copy;
  }
  let dir: string | undefined;
  if (user !== undefined) {
    dir = ctx.userHome?.(user);
    if (dir === undefined) throw new ExpandError(`No such user ${user}`);
  } else dir = ctx.homeDir;
  const slash = dir.length === 0 || !dir.endsWith("/");
  return `${dir}${slash ? "/" : ""}${path ?? ""}`;
}
