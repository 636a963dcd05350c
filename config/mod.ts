/**
 * OpenSSH client configuration (`ssh_config`), resolved exactly as `ssh -G`
 * resolves it: `Host` and `Match` blocks (all criteria, including `exec`,
 * `localnetwork`, `tagged`, `canonical` and `final`), `Include` with globs,
 * every `%` token and `${ENV}` expansion, first-value-wins, algorithm lists
 * with `+`, `-` and `^`, and hostname canonicalisation.
 *
 * This module is pure: files, the environment, DNS, the local user and
 * `Match exec` are injected through {@link SSHConfigSystem}. `resolveSSHConfig`
 * from "@sshts/ssh" supplies the real ones (and `connect()` uses it to honour
 * `~/.ssh/config`).
 *
 * @example Resolve a host from configuration text
 * ```ts
 * import { formatSSHConfig, resolveSSHConfig } from "@sshts/ssh/config";
 *
 * const config = `
 * Host web-*
 *   User deploy
 *   ProxyJump bastion
 * Host *
 *   Ciphers -aes128-ctr
 * `;
 * const c = await resolveSSHConfig("web-1", { text: config, homeDir: "/home/me", localUser: "me" });
 * console.log(c.user, c.proxyJump); // "deploy" "bastion"
 * console.log(formatSSHConfig(c).includes("user deploy\n")); // true
 * ```
 *
 * @module
 */

export { resolveSSHConfig, type ResolveSSHConfigOptions } from "./resolve.ts";
export { formatSSHConfig, type FormatSSHConfigOptions } from "./format.ts";
export type { ResolvedSSHConfig, SSHConfigForward, SSHConfigTokens } from "./resolved.ts";
export type { SSHConfigFileStat, SSHConfigLookupResult, SSHConfigSystem } from "./types.ts";
export {
  type AlgorithmFamily,
  DEFAULT_SSH_CONFIG_PROFILE,
  type SSHConfigProfile,
} from "./defaults.ts";
export { SSHConfigError, type SSHConfigErrorCode } from "./errors.ts";
export { matchHostname, matchPattern, matchPatternList } from "./patterns.ts";
export { parseProxyJump, type SSHJumpHop } from "./proxy_jump.ts";
export { expandSSHConfigTokens, expandTokens, type ExpandTokensOptions } from "./tokens.ts";
export {
  decodeMuxMessage,
  decodeProxyPacket,
  encodeMuxAliveCheck,
  encodeMuxHello,
  encodeMuxProxy,
  encodeProxyPacket,
  MuxFrameReader,
  type MuxMessage,
  MuxMsg,
  MuxProtocolError,
} from "./mux.ts";
