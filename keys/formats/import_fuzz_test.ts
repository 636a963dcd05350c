// Every importer, fed truncated, mutated and random input, throws KeyImportError and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { seededRandom } from "../../core/random.ts";
import { generatePrivateKey } from "../generate.ts";
import { importPrivateKey, importPublicKey, importPublicKeyList } from "./import.ts";
import { KeyImportError } from "../errors.ts";
import { fuzzRuns, fuzzSeed, mutateBytes } from "../../core/_fuzz_test_util.ts";

const rnd = seededRandom(fuzzSeed(99));
const keys = [
  generatePrivateKey("ecdsa", { random: rnd }),
  generatePrivateKey("ed25519", { random: rnd }),
  generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(3) }),
];

function mutate(b: Uint8Array, i: number): Uint8Array {
  const x = rnd(4);
  const kind = i % 4;
  return kind < 3 ? mutateBytes(b, kind as 0 | 1 | 2, x) : rnd(x[3]! + 1);
}

function expectImportError(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof KeyImportError, `${what}: ${e}`);
  }
}

test("importPrivateKey() throws only KeyImportError on mutated DER of every format", () => {
  for (const key of keys) {
    const ders = [
      key.exportPrivateKey("pkcs8-der"),
      key.exportPrivateKey("pkcs8-der", { passphrase: "p", rounds: 1 }),
      key.material.type === "rsa"
        ? key.exportPrivateKey("pkcs1-der")
        : key.material.type === "ecdsa"
        ? key.exportPrivateKey("sec1-der")
        : key.exportPrivateKey("pkcs8-der"),
    ];
    for (const der of ders) {
      for (let i = 0; i < fuzzRuns(300); i++) {
        expectImportError(() => importPrivateKey(mutate(der, i), "p"), key.getAlgorithm());
      }
    }
  }
});

test("importPrivateKey() throws only KeyImportError on mutated PEM text", () => {
  for (const key of keys) {
    const texts = [
      key.exportPrivateKey("pem", { passphrase: "p" }),
      key.exportPrivateKey("pkcs8-pem"),
    ];
    for (const text of texts) {
      const bytes = new TextEncoder().encode(text);
      for (let i = 0; i < fuzzRuns(200); i++) {
        expectImportError(() => importPrivateKey(mutate(bytes, i), "p"), key.getAlgorithm());
      }
    }
  }
});

test("importPublicKey() throws only KeyImportError on mutated input of every format", () => {
  for (const key of keys) {
    const inputs: Uint8Array[] = [
      key.publicBlob,
      key.exportPublicKey("spki-der"),
      new TextEncoder().encode(key.exportPublicKey("openssh")),
      new TextEncoder().encode(key.exportPublicKey("rfc4716")),
      new TextEncoder().encode(key.exportPublicKey("spki-pem")),
    ];
    for (const input of inputs) {
      for (let i = 0; i < fuzzRuns(200); i++) {
        const m = mutate(input, i);
        expectImportError(() => importPublicKey(m), key.getAlgorithm());
        expectImportError(() => importPublicKeyList(new TextDecoder().decode(m)), "list");
      }
    }
  }
});

test("importPrivateKey() throws only KeyImportError on mutated PuTTY .ppk files (v2 and v3, plain and encrypted)", () => {
  const dir = new URL("../testdata/putty/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".ppk")).sort();
  assert.ok(files.length >= 9);
  // A mutated Argon2 cost is refused before it runs (the files' own cost is 1024 × 2).
  const options = { passphrase: "putty-pw", maxArgon2Cost: 4096 };
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(new URL(f, dir)));
    for (let i = 0; i < fuzzRuns(100); i++) {
      const m = mutate(bytes, i);
      expectImportError(() => importPrivateKey(m, options), f);
      expectImportError(() => importPrivateKey(new TextDecoder().decode(m), options), f);
    }
  }
});
