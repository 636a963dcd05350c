/**
 * Test helper for names that are not UTF-8: the host's view of a directory, read and
 * written by Python (bytes paths), not by the runtime under test, whose own file APIs
 * are what the tests check.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { encodeEscapedUtf8 } from "../../core/escaped_utf8.ts";

/**
 * The names in `dir` as the kernel has them, each as hex, sorted.
 *
 * @example
 * ```ts ignore
 * import { hostNames } from "./_byte_names_test_util.ts";
 * console.log(hostNames("/tmp/d")); // ["636166e9"]
 * ```
 */
export function hostNames(dir: string): string[] {
  const r = spawnSync("python3", [
    "-c",
    "import os,sys; print('\\n'.join(sorted(n.hex() for n in os.listdir(sys.argv[1].encode()))))",
    dir,
  ], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean);
}

/**
 * Creates `dir/<name>` holding `body`; `name` is raw bytes.
 *
 * @example
 * ```ts ignore
 * import { makeHostFile } from "./_byte_names_test_util.ts";
 * makeHostFile("/tmp/d", Uint8Array.of(0x63, 0x61, 0x66, 0xe9), "latin1\n");
 * ```
 */
export function makeHostFile(dir: string, name: Uint8Array, body: string): void {
  const r = spawnSync("python3", [
    "-c",
    "import os,sys; open(os.path.join(sys.argv[1].encode(), bytes.fromhex(sys.argv[2])), 'wb').write(sys.argv[3].encode())",
    dir,
    [...name].map((b) => b.toString(16).padStart(2, "0")).join(""),
    body,
  ], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * The bytes an escaped name stands for, as hex (what {@link hostNames} lists).
 *
 * @example
 * ```ts ignore
 * import { hex } from "./_byte_names_test_util.ts";
 * console.log(hex("caf\uDCE9")); // "636166e9"
 * ```
 */
export function hex(name: string): string {
  return [...encodeEscapedUtf8(name)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
