/**
 * Test helper: the unhandled promise rejections a piece of work leaves behind. A rejection
 * nobody awaits ends a Node process (and fails a Deno test), so library code must leave
 * none, even when the work itself fails as it should.
 *
 * @module
 */
import process from "node:process";

/** Runs `fn` and returns the unhandled rejections seen meanwhile (and a moment after). */
export async function unhandledRejections(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const on = (e: unknown) => void seen.push(e);
  process.on("unhandledRejection", on);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.off("unhandledRejection", on);
  }
  return seen;
}
