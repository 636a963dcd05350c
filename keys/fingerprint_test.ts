import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "./generate.ts";
import { fingerprintBlob } from "./fingerprint.ts";

test("fingerprints match ssh-keygen -l -E for md5, sha1, sha256, sha384 and sha512", () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-fp-"));
  try {
    for (const type of ["ed25519", "ecdsa"] as const) {
      const key = generatePrivateKey(type);
      const path = join(dir, `${type}.pub`);
      writeFileSync(path, key.exportPublicKey("openssh"));
      for (const hash of ["md5", "sha1", "sha256", "sha384", "sha512"] as const) {
        const out = execFileSync("ssh-keygen", ["-l", "-E", hash, "-f", path]).toString();
        assert.equal(key.getFingerprint(hash), out.split(" ")[1], `${type} ${hash}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => fingerprintBlob(new Uint8Array(1), "crc32" as "md5"), RangeError);
});
