/** Helpers the fan-out tests share. */
import type { FanoutResult } from "./run_many.ts";

/** Every result of a batch, in host order. */
export async function collect<R extends FanoutResult<unknown>>(it: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = [];
  for await (const r of it) out.push(r);
  return out.sort((a, b) => a.index - b.index);
}

/** `p`, or a rejection if it has not settled after a long while: a hang fails the test. */
export async function settles<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} never ended`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}
