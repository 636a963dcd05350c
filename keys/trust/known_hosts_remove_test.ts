import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../generate.ts";
import { formatKnownHostsLine, removeKnownHost } from "./known_hosts.ts";

test("removeKnownHost() drops plain and hashed lines as ssh-keygen -R does", () => {
  const k = generatePrivateKey("ed25519");
  const pub = k.exportPublicKey("openssh").trim();
  const text = [
    "# comment stays",
    `old.example ${pub}`,
    formatKnownHostsLine("old.example", 22, k, { hashed: true }).trimEnd(),
    `[old.example]:2222 ${pub}`,
    `@cert-authority old.example ${pub}`,
    `keep.example ${pub}`,
    "",
  ].join("\n");
  const r = removeKnownHost(text, "OLD.example");
  assert.equal(r.removed, 2);
  assert.deepEqual(r.text.split("\n"), [
    "# comment stays",
    `[old.example]:2222 ${pub}`,
    `@cert-authority old.example ${pub}`,
    `keep.example ${pub}`,
    "",
  ]);
  assert.equal(removeKnownHost(r.text, "old.example", 2222).removed, 1);
  assert.equal(removeKnownHost(text, "nobody.example").text, text);
  // The same file through ssh-keygen -R leaves the same host lines.
  const dir = mkdtempSync(join(tmpdir(), "sshts-khr-"));
  try {
    const f = join(dir, "known_hosts");
    writeFileSync(f, text);
    execFileSync("ssh-keygen", ["-R", "old.example", "-f", f], { stdio: "ignore" });
    const theirs = readFileSync(f, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    const ours = r.text.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(ours, theirs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
