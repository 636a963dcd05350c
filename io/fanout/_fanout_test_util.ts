/** Helpers the fan-out tests share. */
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";
import type { FanoutResult } from "./run_many.ts";

const hostKey = generatePrivateKey("ed25519");

/** The options the tests' clients log in to {@link passwordServer} with. */
export const LOGIN = {
  username: "alice",
  password: "pw",
  knownHosts: null,
  config: false,
} as const;

/** A loopback server that takes the password "pw" (any user), with `options` on top. */
export function passwordServer(options: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (_u, pw) => pw === "pw",
    ...options,
  });
}

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
