/**
 * Options given under another library's name (ssh2's, AsyncSSH's, sshd_config's): ignored
 * without a word, they leave a connect() with no credentials or a server no one can log in
 * to. The functions that take options refuse the names people reach for, saying ours.
 *
 * @module
 */

/**
 * Throws a TypeError when `options` has one of `names` (another library's name → ours) set;
 * names it does not know are left alone (an options object may carry the application's
 * own).
 *
 * @example
 * ```ts
 * import { refuseOtherNames } from "./option_names.ts";
 * try {
 *   refuseOtherNames("connect", { privateKey: "..." }, { privateKey: "clientKeys" });
 * } catch (e) {
 *   console.log((e as Error).message); // connect(): no option privateKey; it is clientKeys here
 * }
 * ```
 */
export function refuseOtherNames(
  call: string,
  options: object | undefined,
  names: Readonly<Record<string, string>>,
): void {
  if (typeof options !== "object" || options === null) return;
  for (const name of Object.keys(options)) {
    const ours = Object.hasOwn(names, name) ? names[name] : undefined;
    if (ours !== undefined && (options as Record<string, unknown>)[name] !== undefined) {
      throw new TypeError(`${call}(): no option ${name}; it is ${ours} here`);
    }
  }
}
