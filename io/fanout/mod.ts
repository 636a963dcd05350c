/**
 * Many hosts from one process: {@link runMany} and {@link connectMany} / {@link SSHPool}.
 *
 * @module
 */
export * from "./run_many.ts";
export * from "./pool.ts";
