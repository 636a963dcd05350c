/**
 * Key benchmarks: sign and verify operations per second per key type with this
 * library's `SSHKey` (pure: noble curves, BigInt RSA), next to `node:crypto`
 * (synchronous) and WebCrypto (`crypto.subtle`, awaited one call at a time)
 * where they offer the same algorithm; and key generation time for each.
 *
 * Run with `node bench/keys_bench.ts`, `bun bench/keys_bench.ts` or
 * `deno run -A bench/keys_bench.ts`. `--quick` shortens every measurement.
 * Prints one table; the ratio columns are ours ÷ theirs in ops/s (above 1:
 * we are faster). Benchmarks report; they never assert.
 *
 * @module
 */

import * as nodeCrypto from "node:crypto";
import process from "node:process";
import { type GenerateAlgorithm, generatePrivateKey } from "../keys/generate.ts";
import type { SSHKey } from "../keys/ssh_key.ts";

const quick = process.argv.includes("--quick");
const BUDGET_MS = quick ? 150 : 600;
const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "deno"
  : typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "bun"
  : "node";

/** Ops per second of `fn`, run repeatedly for about the budget (after a warm-up). */
async function rate(fn: () => unknown, budget = BUDGET_MS): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budget || n < 3) {
    const r = fn();
    if (r instanceof Promise) await r;
    n++;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

interface Case {
  readonly name: string;
  readonly gen: GenerateAlgorithm;
  readonly size?: number;
  readonly sigAlg: string;
  readonly node?: { hash: string | null; dsa?: "ieee-p1363" };
  readonly web?: { importAlg: unknown; signAlg: unknown; genAlg: unknown };
}

const CASES: Case[] = [
  {
    name: "ed25519",
    gen: "ed25519",
    sigAlg: "ssh-ed25519",
    node: { hash: null },
    web: {
      importAlg: { name: "Ed25519" },
      signAlg: { name: "Ed25519" },
      genAlg: { name: "Ed25519" },
    },
  },
  ...(["256", "384", "521"] as const).map((bits): Case => ({
    name: `ecdsa-p${bits}`,
    gen: "ecdsa",
    size: Number(bits),
    sigAlg: `ecdsa-sha2-nistp${bits}`,
    node: { hash: { "256": "sha256", "384": "sha384", "521": "sha512" }[bits], dsa: "ieee-p1363" },
    web: {
      importAlg: { name: "ECDSA", namedCurve: `P-${bits}` },
      signAlg: {
        name: "ECDSA",
        hash: { "256": "SHA-256", "384": "SHA-384", "521": "SHA-512" }[bits],
      },
      genAlg: { name: "ECDSA", namedCurve: `P-${bits}` },
    },
  })),
  ...[2048, 3072, 4096].map((bits): Case => ({
    name: `rsa-${bits} (sha512)`,
    gen: "rsa",
    size: bits,
    sigAlg: "rsa-sha2-512",
    node: { hash: "sha512" },
    web: {
      importAlg: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
      signAlg: { name: "RSASSA-PKCS1-v1_5" },
      genAlg: {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: bits,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-512",
      },
    },
  })),
];

type Row = [string, string, string, string, string, string, string];
const fmt = (v: number | undefined) =>
  v === undefined ? "—" : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3);
const ratio = (ours: number, theirs: number | undefined) =>
  theirs === undefined ? "—" : `${(ours / theirs).toFixed(2)}×`;

async function tryRate(fn: () => unknown): Promise<number | undefined> {
  try {
    return await rate(fn);
  } catch {
    return undefined; // this runtime lacks the algorithm
  }
}

function genKey(c: Case): SSHKey {
  return generatePrivateKey(c.gen, c.size ? { keySize: c.size } : {});
}

const data = new TextEncoder().encode("a 32-byte exchange hash stand-in");
const rows: Row[] = [];
const subtle = globalThis.crypto.subtle;

for (const c of CASES) {
  const key = genKey(c);
  const sig = key.sign(data, c.sigAlg);
  const pub = key.publicKey();
  const oursSign = await rate(() => key.sign(data, c.sigAlg));
  const oursVerify = await rate(() => pub.verify(data, sig, { allowedAlgorithms: [c.sigAlg] }));
  const der = new Uint8Array(key.exportPrivateKey("pkcs8-der"));
  let nodeSign: number | undefined;
  let nodeVerify: number | undefined;
  if (c.node) {
    try {
      const priv = nodeCrypto.createPrivateKey({
        key: Buffer.from(der),
        format: "der",
        type: "pkcs8",
      });
      const pubObj = nodeCrypto.createPublicKey(priv);
      const opts = c.node.dsa ? { key: priv, dsaEncoding: c.node.dsa } : priv;
      const vopts = c.node.dsa ? { key: pubObj, dsaEncoding: c.node.dsa } : pubObj;
      const nsig = nodeCrypto.sign(c.node.hash, data, opts);
      nodeSign = await tryRate(() => nodeCrypto.sign(c.node!.hash, data, opts));
      nodeVerify = await tryRate(() => nodeCrypto.verify(c.node!.hash, data, vopts, nsig));
    } catch { /* not offered here */ }
  }
  let webSign: number | undefined;
  let webVerify: number | undefined;
  if (c.web) {
    try {
      const priv = await subtle.importKey(
        "pkcs8",
        der,
        c.web.importAlg as RsaHashedImportParams,
        true,
        ["sign"],
      );
      const spki = new Uint8Array(key.exportPublicKey("spki-der"));
      const wpub = await subtle.importKey(
        "spki",
        spki,
        c.web.importAlg as RsaHashedImportParams,
        true,
        ["verify"],
      );
      const alg = c.web.signAlg as AlgorithmIdentifier;
      const wsig = await subtle.sign(alg, priv, data);
      webSign = await tryRate(() => subtle.sign(alg, priv, data));
      webVerify = await tryRate(() => subtle.verify(alg, wpub, wsig, data));
    } catch { /* not offered here */ }
  }
  rows.push([
    `${c.name} sign`,
    fmt(oursSign),
    fmt(nodeSign),
    ratio(oursSign, nodeSign),
    fmt(webSign),
    ratio(oursSign, webSign),
    "ops/s",
  ]);
  rows.push([
    `${c.name} verify`,
    fmt(oursVerify),
    fmt(nodeVerify),
    ratio(oursVerify, nodeVerify),
    fmt(webVerify),
    ratio(oursVerify, webVerify),
    "ops/s",
  ]);
}

// Key generation: ms per key (shown as ops/s in the ratio, so above 1× is faster).
for (const c of CASES.filter((c) => c.gen !== "rsa" || c.size === 2048 || !quick)) {
  const budget = c.gen === "rsa" ? BUDGET_MS * 3 : BUDGET_MS;
  const ours = await rate(() => genKey(c), budget);
  let node: number | undefined;
  try {
    const type = c.gen === "ecdsa" ? "ec" : c.gen;
    const opts = c.gen === "rsa"
      ? { modulusLength: c.size! }
      : c.gen === "ecdsa"
      ? { namedCurve: `P-${c.size}` }
      : {};
    node = await rate(
      () => nodeCrypto.generateKeyPairSync(type as "ec", opts as { namedCurve: string }),
      budget,
    );
  } catch { /* not offered */ }
  let web: number | undefined;
  if (c.web) {
    try {
      const g = c.web.genAlg as RsaHashedKeyGenParams;
      web = await rate(() => subtle.generateKey(g, true, ["sign", "verify"]), budget);
    } catch { /* not offered */ }
  }
  const ms = (
    v: number | undefined,
  ) => (v === undefined ? "—" : (1000 / v).toFixed(v > 100 ? 3 : 1));
  rows.push([
    `${c.name.replace(/ \(.*/, "")} keygen`,
    ms(ours),
    ms(node),
    ratio(ours, node),
    ms(web),
    ratio(ours, web),
    "ms/key",
  ]);
}

const head: Row = [
  "operation",
  "ours",
  "node:crypto",
  "ours/node",
  "WebCrypto",
  "ours/web",
  "unit",
];
const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
const line = (r: Row) =>
  r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
console.log(
  `keys_bench on ${runtime} ${process.version ?? ""} (${
    quick ? "quick" : "full"
  }; ratio = ours ÷ theirs in ops/s)`,
);
console.log(line(head));
for (const r of rows) console.log(line(r));
