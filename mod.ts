/**
 * A complete SSH-2 client and server for TypeScript, with a sans-IO protocol core.
 * Runs unchanged on Deno, Node and Bun.
 *
 * @example Run a command
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * await using conn = await connect("127.0.0.1", { port: 22, username: "deploy" });
 * const { stdout, exitStatus } = await conn.run("uname -a", { check: true });
 * console.log(exitStatus, stdout);
 * ```
 *
 * @module
 */

export * from "./core/errors.ts";
