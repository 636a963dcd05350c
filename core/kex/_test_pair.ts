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
import type { Ed25519KeyMaterial, RsaKeyMaterial } from "../publickey/types.ts";
import { getKexMethod } from "./registry.ts";
import { rsaKexMethod, transientKeySource } from "./rsa.ts";

/** A fixed Ed25519 host key for tests. */
export const TEST_HOST_KEY: Ed25519KeyMaterial = (() => {
  const seed = new Uint8Array(32).fill(0x42);
  return { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed };
})();

function rsaKey(p: string, q: string): RsaKeyMaterial {
  const P = BigInt("0x" + p), Q = BigInt("0x" + q);
  return { type: "rsa", n: P * Q, e: 65537n, p: P, q: Q };
}

/**
 * Fixed transient RSA keys for the RSA key exchange tests (made by `openssl genrsa`;
 * generating them in the test would cost seconds).
 */
export const TEST_RSA_KEYS: { readonly 1024: RsaKeyMaterial; readonly 2048: RsaKeyMaterial } = {
  1024: rsaKey(
    "ee3f6718fd0acd3c0926e64e9970235c28a5e6d89e1a114eb97f14be3138a4d9" +
      "312c7642e4b38d896bd26e0038909abf83008b6da592344e2bf5e35efd65cadd",
    "e22cabab90904a14ecca7f536c6bb919641ed3bd72a0b6777c357177d339d248" +
      "d7b87b9b5ea77cbdb67d1b23e8a5fde1f85e1610e0d2739ebd599fadd78d3ee1",
  ),
  2048: rsaKey(
    "cb5e1f29be3b11585ff5a3cf5b81dc2a0603e9d13f1367874c376a0755f15e9b" +
      "889c5a74e246f3725dfa6b7f4dbdde295fd45bc7a999c7d6f9b541898d43f089" +
      "37b3011790ba0d8aae166c054d6bf88295c840bf8428abce0f8c7e962650d5da" +
      "0f491389b39d618b925c0e59ddd904ca64143c71fe8624a56446a66e60106345",
    "c73ce8b1e896a89e08a393a846867b145e36d6ba9e68be97ee53ba0bd275f4a5" +
      "783552938163325c10dec229a7656aee966b09150494709de96a4439c5883678" +
      "a34fd42e418c89f16d36f142bfcc24f98f0018789585617e4a1c04214c7bb76e" +
      "08992dc0e0ffae60411a61df2532b0b3177a06f3318aebb270c0fa1b0c23da69",
  ),
};

const FIXED_RSA_METHODS: Readonly<Record<string, KexMethod>> = {
  "rsa1024-sha1": rsaKexMethod(
    "rsa1024-sha1",
    "sha1",
    1024,
    transientKeySource(1024, TEST_RSA_KEYS[1024]),
  ),
  "rsa2048-sha256": rsaKexMethod(
    "rsa2048-sha256",
    "sha256",
    2048,
    transientKeySource(2048, TEST_RSA_KEYS[2048]),
  ),
};

/**
 * The registered method `name`, except that the RSA key exchanges use the fixed
 * {@link TEST_RSA_KEYS} as transient keys (no key generation, and the same key
 * after a failed decryption, which the registry's methods would discard).
 *
 * @example
 * ```ts
 * import { testMethod } from "./_test_pair.ts";
 * console.log(testMethod("rsa1024-sha1").hash); // "sha1"
 * ```
 */
export function testMethod(name: string): KexMethod {
  const m = FIXED_RSA_METHODS[name] ?? getKexMethod(name);
  if (m === undefined) throw new Error(`no kex method ${name}`);
  return m;
}

/** Whether the server speaks first (RSA key exchange), or the client needs the group (GEX). */
export function twoStep(name: string): boolean {
  return name.includes("group-exchange") || name.startsWith("rsa");
}

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
  // RSA key exchange: the server speaks first.
  let toClient = [...(s.start ? s.start().send : [])];
  let clientResult: KexResult | undefined;
  let serverResult: KexResult | undefined;
  for (let round = 0; round < 10 && clientResult === undefined; round++) {
    for (const m of toClient) {
      serverSent.push(m);
      const step = c.receive(m);
      toServer.push(...step.send);
      if (step.result) clientResult = step.result;
    }
    toClient = [];
    for (const m of toServer) {
      clientSent.push(m);
      const step = s.receive(m);
      toClient.push(...step.send);
      if (step.result) serverResult = step.result;
    }
    toServer = [];
  }
  if (clientResult === undefined || serverResult === undefined) {
    throw new Error("exchange did not finish");
  }
  return { client: clientResult, server: serverResult, clientSent, serverSent };
}
