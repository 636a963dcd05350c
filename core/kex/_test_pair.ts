/**
 * Test helper: runs a client flow against a server flow in memory.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { seededRandom } from "../random.ts";
import { utf8 } from "../wire.ts";
import { createHostKeySigner } from "./host_key_signer.ts";
import type { HostKeySigner, KexContext, KexMethod, KexResult, KexServerOptions } from "./types.ts";
import type { Ed25519KeyMaterial } from "../publickey/types.ts";

/** A fixed Ed25519 host key for tests. */
export const TEST_HOST_KEY: Ed25519KeyMaterial = (() => {
  const seed = new Uint8Array(32).fill(0x42);
  return { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed };
})();

/**
 * A kex context with fixed versions and KEXINIT payloads and a seeded random source.
 *
 * @example
 * ```ts
 * import { testContext } from "./_test_pair.ts";
 * console.log(testContext(1).clientVersion); // "SSH-2.0-sshts_test_client"
 * ```
 */
export function testContext(seed: number): KexContext {
  return {
    clientVersion: "SSH-2.0-sshts_test_client",
    serverVersion: "SSH-2.0-sshts_test_server",
    clientKexInit: utf8("\u0014client kexinit payload"),
    serverKexInit: utf8("\u0014server kexinit payload"),
    random: seededRandom(seed),
  };
}

/**
 * Runs `method` client against server until both finish; returns both results and
 * the messages each sent.
 *
 * @example
 * ```ts
 * import { runPair } from "./_test_pair.ts";
 * import { getKexMethod } from "./registry.ts";
 * const { client, server } = runPair(getKexMethod("curve25519-sha256")!);
 * console.log(client.exchangeHash.join() === server.exchangeHash.join()); // true
 * ```
 */
export function runPair(
  method: KexMethod,
  options: { seed?: number; hostKey?: HostKeySigner; moduli?: KexServerOptions["moduli"] } = {},
): { client: KexResult; server: KexResult; clientSent: Uint8Array[]; serverSent: Uint8Array[] } {
  const seed = options.seed ?? 1;
  const hostKey = options.hostKey ?? createHostKeySigner(TEST_HOST_KEY, "ssh-ed25519");
  const serverOptions: KexServerOptions = options.moduli === undefined
    ? { hostKey }
    : { hostKey, moduli: options.moduli };
  const c = method.createClient(testContext(seed));
  const s = method.createServer(testContext(seed + 1000), serverOptions);
  const clientSent: Uint8Array[] = [];
  const serverSent: Uint8Array[] = [];
  let toServer = [...c.start().send];
  let clientResult: KexResult | undefined;
  let serverResult: KexResult | undefined;
  for (let round = 0; round < 10 && clientResult === undefined; round++) {
    const toClient: Uint8Array[] = [];
    for (const m of toServer) {
      clientSent.push(m);
      const step = s.receive(m);
      toClient.push(...step.send);
      if (step.result) serverResult = step.result;
    }
    toServer = [];
    for (const m of toClient) {
      serverSent.push(m);
      const step = c.receive(m);
      toServer.push(...step.send);
      if (step.result) clientResult = step.result;
    }
  }
  if (clientResult === undefined || serverResult === undefined) {
    throw new Error("exchange did not finish");
  }
  return { client: clientResult, server: serverResult, clientSent, serverSent };
}
