/**
 * Key exchange: the methods by wire name, key derivation, and the building blocks
 * (groups, moduli, agreements) for callers that assemble their own.
 *
 * @example Run a client and a server against each other in memory
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { createHostKeySigner, getKexMethod } from "./mod.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const seed = new Uint8Array(32).fill(1);
 * const hostKey = createHostKeySigner(
 *   { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed }, "ssh-ed25519");
 * const ctx = (seedValue: number) => ({
 *   clientVersion: "SSH-2.0-a", serverVersion: "SSH-2.0-b",
 *   clientKexInit: new Uint8Array([20]), serverKexInit: new Uint8Array([20]),
 *   random: seededRandom(seedValue),
 * });
 * const method = getKexMethod("curve25519-sha256")!;
 * const client = method.createClient(ctx(1));
 * const server = method.createServer(ctx(2), { hostKey });
 * const reply = server.receive(client.start().send[0]!);
 * const done = client.receive(reply.send[0]!);
 * console.log(done.result!.exchangeHash.join() === reply.result!.exchangeHash.join()); // true
 * ```
 *
 * @module
 */

export * from "./derive.ts";
export * from "./dh_groups.ts";
export * from "./errors.ts";
export { GEX_MAX_BITS, GEX_MIN_BITS, gexPreferredBits, groupExchangeMethod } from "./gex.ts";
export type { GexRequest } from "./gex.ts";
export { createHostKeySigner } from "./host_key_signer.ts";
export type { Kem } from "./hybrid.ts";
export { KexMsg } from "./messages.ts";
export { BUILTIN_MODULI, parseModuli } from "./moduli.ts";
export type { Modulus } from "./moduli.ts";
export * from "./registry.ts";
export type * from "./types.ts";
