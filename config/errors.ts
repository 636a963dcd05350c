/**
 * Errors of `ssh_config` resolution.
 *
 * @module
 */

/** Why resolution failed, machine-readable. */
export type SSHConfigErrorCode =
  | "ERR_CONFIG_SYNTAX"
  | "ERR_CONFIG_FILE"
  | "ERR_CONFIG_INCLUDE"
  | "ERR_CONFIG_EXPAND"
  | "ERR_CONFIG_EXEC"
  | "ERR_CONFIG_RESOLVE"
  | "ERR_CONFIG_INVALID";

/**
 * A configuration OpenSSH would refuse: a bad keyword or value (naming the file
 * and line, as `ssh` does), an unreadable file, an include loop, a token that
 * cannot be expanded, a host name that canonicalisation requires but cannot
 * resolve.
 *
 * @example
 * ```ts
 * import { resolveSSHConfig, SSHConfigError } from "@sshts/ssh";
 * try {
 *   await resolveSSHConfig("web", { text: "Host web\n  Prot 22\n", homeDir: "/home/me", localUser: "me" });
 * } catch (e) {
 *   if (e instanceof SSHConfigError) console.log(e.file, e.line); // "<config>" 2
 * }
 * ```
 */
export class SSHConfigError extends Error {
  /** The kind of failure. */
  readonly code: SSHConfigErrorCode;
  /** The file the problem is in, when it is in one. */
  readonly file: string | undefined;
  /** The 1-based line number in `file`, when known. */
  readonly line: number | undefined;

  /** An error of `code`; `where` names the file and line it is about. */
  constructor(
    code: SSHConfigErrorCode,
    message: string,
    where: { file?: string | undefined; line?: number | undefined; cause?: unknown } = {},
  ) {
    const prefix = where.file !== undefined
      ? where.line !== undefined ? `${where.file} line ${where.line}: ` : `${where.file}: `
      : "";
    super(prefix + message, where.cause !== undefined ? { cause: where.cause } : undefined);
    this.name = "SSHConfigError";
    this.code = code;
    this.file = where.file;
    this.line = where.line;
  }
}
