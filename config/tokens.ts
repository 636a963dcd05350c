/**
 * Expanding `%` tokens (and `${VAR}`, and `~`) in the values `ssh -G` leaves as
 * written — IdentityFile, CertificateFile, LocalCommand, ProxyCommand — at the
 * point of use, as `ssh` does.
 *
 * @module
 */

import { fromBytes, toBytes } from "./_bytes.ts";
import { expand, ExpandError, tildeExpand } from "./_expand.ts";
import { SSHConfigError } from "./errors.ts";
import type { ResolvedSSHConfig } from "./resolved.ts";

/** Options of {@link expandSSHConfigTokens}. */
export interface ExpandTokensOptions {
  /** Which tokens are allowed (default: all of `config.tokens`). ProxyCommand allows h, k, n, p, r. */
  readonly only?: readonly string[] | undefined;
  /** Expand `${VAR}` from this environment (default: leave `${` as is). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Expand a leading `~` against this home directory. */
  readonly homeDir?: string | undefined;
  /** Another user's home directory, for a leading `~user` (default: no user is known). */
  readonly userHome?: ((user: string) => string | undefined) | undefined;
}

/**
 * Expands `value`'s tokens with `config`'s values. Throws SSHConfigError for an
 * unknown token or an unset variable, as `ssh` refuses them.
 *
 * @example
 * ```ts
 * import { expandSSHConfigTokens, resolveSSHConfig } from "@sshts/ssh/config";
 * const c = await resolveSSHConfig("db", { text: "Host db\n  HostName db.internal\n", homeDir: "/home/me", localUser: "me" });
 * console.log(expandSSHConfigTokens(c, "nc %h %p")); // "nc db.internal 22"
 * ```
 */
export function expandSSHConfigTokens(
  config: ResolvedSSHConfig,
  value: string,
  options: ExpandTokensOptions = {},
): string {
  const all = config.tokens as unknown as Record<string, string>;
  const tokens: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (options.only === undefined || options.only.includes(k)) tokens[k] = v;
  }
  return expandWith(value, tokens, options);
}

/**
 * Expands the `%` tokens of `value` from `tokens` (`%%` is a percent sign), as ssh's
 * `percent_expand`: for a command given without a configuration (`connect({ proxyCommand })`).
 * Throws SSHConfigError for an unknown token or a trailing `%`.
 *
 * @example
 * ```ts
 * import { expandTokens } from "@sshts/ssh/config";
 * console.log(expandTokens("nc %h %p", { h: "db.internal", p: "22" })); // "nc db.internal 22"
 * ```
 */
export function expandTokens(value: string, tokens: Readonly<Record<string, string>>): string {
  return expandWith(value, tokens, {});
}

/** The expansion itself, on the byte strings `_expand.ts` works on. */
function expandWith(
  value: string,
  tokens: Readonly<Record<string, string>>,
  options: Omit<ExpandTokensOptions, "only">,
): string {
  const bytes: Record<string, string> = {};
  for (const [k, v] of Object.entries(tokens)) bytes[k] = toBytes(v);
  const env = options.env;
  try {
    let s = toBytes(value);
    const userHome = options.userHome;
    if (options.homeDir !== undefined) {
      s = tildeExpand(s, {
        homeDir: toBytes(options.homeDir),
        ...(userHome
          ? {
            userHome: (u: string) => {
              const h = userHome(fromBytes(u));
              return h === undefined ? undefined : toBytes(h);
            },
          }
          : {}),
      });
    }
    return fromBytes(expand(
      s,
      bytes,
      env
        ? (n) => {
          const name = fromBytes(n);
          // Own string values only: `${constructor}` is an unset variable, not a function.
          const v = Object.hasOwn(env, name) ? env[name] : undefined;
          return typeof v === "string" ? toBytes(v) : undefined;
        }
        : undefined,
    ));
  } catch (e) {
    if (e instanceof ExpandError) {
      throw new SSHConfigError("ERR_CONFIG_EXPAND", `Cannot expand "${value}": ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
}
