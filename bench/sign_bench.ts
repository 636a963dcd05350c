/**
 * Signature benchmarks: `signData` and `verifySignature` per key type (Ed25519,
 * ECDSA P-256/384/521, RSA 2048/3072/4096 with rsa-sha2-512, DSA verify), over a
 * 32-byte message (an exchange hash).
 *
 * Two ways to run it:
 * - `deno bench -A bench/sign_bench.ts` — Deno's bench runner;
 * - `node bench/sign_bench.ts`, `bun bench/sign_bench.ts` or
 *   `deno run -A bench/sign_bench.ts --neutral` — the same cases timed by a small
 *   runtime-neutral loop, printing median and best ms/op and ops/s.
 *
 * RSA keys come from node:crypto's generator (present on all three runtimes). Each case
 * runs twice: on the portable path (ours: BigInt RSA, `@noble/curves`) and "native", with
 * the node:crypto backends connect() and listen() install (io/crypto/native_signatures.ts,
 * native_curves.ts) where this runtime passes their checks; with `--primitives`, every native
 * operation, also those not routed native on this runtime. Benchmarks report; they never
 * assert.
 *
 * @module
 */

import { generateKeyPairSync } from "node:crypto";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { modPow } from "../core/publickey/bigint.ts";
import { signData } from "../core/publickey/sign.ts";
import type { KeyMaterial, RsaKeyMaterial } from "../core/publickey/types.ts";
import { verifySignature } from "../core/publickey/verify.ts";
import { seededRandom, systemRandom } from "../core/random.ts";
import {
  registerSignatureBackend,
  type SignatureBackend,
} from "../core/publickey/signature_backend.ts";
import {
  type Curve25519Backend,
  registerCurve25519Backend,
} from "../core/crypto/curve25519_backend.ts";
import {
  NODE_SIGNATURE_PRIMITIVES,
  NODE_SIGNATURES,
  registerNativeSignatures,
} from "../io/crypto/native_signatures.ts";
import process from "node:process";
import { NODE_CURVE25519, registerNativeCurves } from "../io/crypto/native_curves.ts";
import { bytesToBigInt, SSHWriter } from "../core/wire.ts";

const random = seededRandom(2);
const data = random(32);

function rsaKey(bits: number): RsaKeyMaterial {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const j = privateKey.export({ format: "jwk" }) as Record<string, string>;
  const big = (s: string) => {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return bytesToBigInt(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  };
  return {
    type: "rsa",
    n: big(j.n!),
    e: big(j.e!),
    d: big(j.d!),
    p: big(j.p!),
    q: big(j.q!),
    dp: big(j.dp!),
    dq: big(j.dq!),
    qi: big(j.qi!),
  };
}

function ecdsaKey(curve: "nistp256" | "nistp384" | "nistp521"): KeyMaterial {
  const c = { nistp256: p256, nistp384: p384, nistp521: p521 }[curve];
  const privateKey = c.utils.randomSecretKey(random(c.lengths.seed!));
  return { type: "ecdsa", curve, publicKey: c.getPublicKey(privateKey, false), privateKey };
}

const edSeed = random(32);
const KEYS: [string, string, KeyMaterial][] = [
  ["ed25519", "ssh-ed25519", {
    type: "ed25519",
    publicKey: ed25519.getPublicKey(edSeed),
    seed: edSeed,
  }],
  ["ecdsa-p256", "ecdsa-sha2-nistp256", ecdsaKey("nistp256")],
  ["ecdsa-p384", "ecdsa-sha2-nistp384", ecdsaKey("nistp384")],
  ["ecdsa-p521", "ecdsa-sha2-nistp521", ecdsaKey("nistp521")],
  ["rsa-2048", "rsa-sha2-512", rsaKey(2048)],
  ["rsa-3072", "rsa-sha2-512", rsaKey(3072)],
  ["rsa-4096", "rsa-sha2-512", rsaKey(4096)],
];

// RFC 6979 A.2.1's DSA key and its SHA-1 signature of "sample" (verify only).
const dsaP = BigInt(
  "0x86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779",
);
const dsaG = BigInt(
  "0x07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD",
);
const dsaKey: KeyMaterial = {
  type: "dsa",
  p: dsaP,
  q: 0x996F967F6C8E388D9E28D01E205FBA957A5698B1n,
  g: dsaG,
  y: modPow(dsaG, 0x411602CB19A6CCC34494D79D98EF1E7ED5AF25F7n, dsaP),
};
const dsaSig = new SSHWriter().writeStringUtf8("ssh-dss").writeString(
  Uint8Array.from(
    "2E1A0C2562B2912CAAF89186FB0F42001585DA5529EFB6B0AFF2D7A68EB70CA313022253B9A88DF5".match(
      /../g,
    )!,
    (h) => parseInt(h, 16),
  ),
).toBytes();
const dsaData = new TextEncoder().encode("sample");

interface Case {
  readonly name: string;
  readonly fn: () => void;
}

/** The native backends where this runtime passes their checks (null: portable only). */
const NATIVE: { signatures: SignatureBackend | null; curves: Curve25519Backend | null } = {
  // --primitives: every native operation, also those not routed on this runtime (the
  // measurements io/crypto/native_signatures.ts's routing table comes from).
  signatures: registerNativeSignatures()
    ? (process.argv.includes("--primitives") ? NODE_SIGNATURE_PRIMITIVES : NODE_SIGNATURES)
    : null,
  curves: registerNativeCurves() ? NODE_CURVE25519 : null,
};

/** Runs `fn` with the native backends installed, or with none. */
function withBackends(native: boolean, fn: () => void): () => void {
  return () => {
    registerSignatureBackend(native ? NATIVE.signatures : null);
    registerCurve25519Backend(native ? NATIVE.curves : null);
    fn();
  };
}

const CASES: Case[] = [];
for (const native of [false, true]) {
  if (native && !NATIVE.signatures) break;
  const tag = native ? " (native)" : "";
  // Native ECDSA signs only with the system random source (its nonce is random), as io's
  // signers pass it; a seeded source keeps the portable, deterministic signature.
  const rnd = native ? systemRandom : random;
  for (const [label, alg, key] of KEYS) {
    let sig: Uint8Array = new Uint8Array(0);
    withBackends(native, () => {
      sig = signData(key, alg, data, rnd);
      if (!verifySignature(key, sig, data)) throw new Error(`${label}: self-check failed`);
    })();
    CASES.push({
      name: `sign ${label}${tag}`,
      fn: withBackends(native, () => signData(key, alg, data, rnd)),
    });
    CASES.push({
      name: `verify ${label}${tag}`,
      fn: withBackends(native, () => verifySignature(key, sig, data)),
    });
  }
}
registerSignatureBackend(null);
registerCurve25519Backend(null);
const dsaOpts = { allowedAlgorithms: ["ssh-dss"] };
if (!verifySignature(dsaKey, dsaSig, dsaData, dsaOpts)) throw new Error("dsa: self-check failed");
CASES.push({
  name: "verify dsa-1024",
  fn: () => verifySignature(dsaKey, dsaSig, dsaData, dsaOpts),
});

/** Median and best ms/op over ~100 ms batches for about `ms` after a warm-up. */
function time(fn: () => void, ms: number): { median: number; best: number } {
  const warm = performance.now();
  while (performance.now() - warm < ms / 4) fn();
  const perOp: number[] = [];
  const start = performance.now();
  while (performance.now() - start < ms || perOp.length < 3) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < 100 || n === 0) {
      fn();
      n++;
      t = performance.now();
    }
    perOp.push((t - t0) / n);
  }
  perOp.sort((a, b) => a - b);
  return { median: perOp[perOp.length >> 1]!, best: perOp[0]! };
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Bun) return `Bun ${g.Bun.version}`;
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  const p = (globalThis as { process?: { version?: string } }).process;
  return `Node ${p?.version ?? "?"}`;
}

const deno = (globalThis as {
  Deno?: { bench: (name: string, fn: () => void) => void; args: string[] };
}).Deno;
if (deno && !deno.args.includes("--neutral")) {
  for (const c of CASES) deno.bench(c.name, c.fn);
} else {
  console.log(`signatures over 32 bytes — ${runtimeName()}`);
  console.log(
    `${"".padEnd(30)} ${"median ms".padStart(10)} ${"best ms".padStart(10)} ${"ops/s".padStart(9)}`,
  );
  for (const c of CASES) {
    const { median, best } = time(c.fn, 1000);
    console.log(
      `${c.name.padEnd(30)} ${median.toFixed(3).padStart(10)} ${best.toFixed(3).padStart(10)} ${
        (1000 / median).toFixed(1).padStart(9)
      }`,
    );
  }
}
