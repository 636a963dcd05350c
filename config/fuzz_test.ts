import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveSSHConfig, SSHConfigError } from "./mod.ts";
import { formatSSHConfig } from "./format.ts";
import { fuzzRuns, fuzzSeed } from "../core/_fuzz_test_util.ts";

const SEEDS = [
  "Host web* !web2\n  HostName %h.example.com\n  User deploy\n  Port 2222\n  IdentityFile ~/.ssh/id_%h\n",
  'Match host a*,b* exec "test %h = a1"\n  ProxyJump ops@jump:22,ssh://x\n  LocalForward 8080 [::1]:80\n',
  "Include /etc/inc/*.conf\nCiphers +aes128-cbc\nKexAlgorithms -ecdh-*\nRekeyLimit 1G 1h\nIPQoS af21 cs1\n",
  'SetEnv A=1 "B=two words"\nSendEnv LANG LC_* -LC_ALL\nControlPath ~/.ssh/cm-%C\nEscapeChar ^A\n',
  "CanonicalizeHostname yes\nCanonicalDomains a.example b.example\nCanonicalizePermittedCNAMEs *.a:*.b\n",
];
const ALPHABET = " \t\n\r=\"'\\#%$~{}[]:,!*?@/-_.0123456789abcdefghijklmnopqrstuvwxyzHMP\u00e9\0";

/**
 * Seeded mutations of valid configurations: resolution either succeeds (and
 * formats) or throws SSHConfigError — never another error, never a hang.
 */
test("resolveSSHConfig() on mutated configurations only ever throws SSHConfigError", async () => {
  let s = fuzzSeed(0x9e3779b9);
  const rnd = (
    n: number,
  ) => ((s = (s ^ (s << 13)) >>> 0, s = (s ^ (s >>> 17)) >>> 0, s = (s ^ (s << 5)) >>> 0) % n);
  const system = {
    readFile: (p: string) =>
      Promise.resolve(
        p.startsWith("/etc/inc/") ? "User inc\nInclude /etc/inc/*.conf\n" : undefined,
      ),
    readDir: (p: string) => Promise.resolve(p === "/etc/inc" ? ["a.conf"] : undefined),
    exec: () => Promise.resolve(rnd(2)),
    lookupHost: () => Promise.resolve(rnd(2) ? { canonicalName: "x.b" } : undefined),
  };
  let ok = 0, refused = 0;
  const t0 = Date.now();
  const runs = fuzzRuns(400);
  for (let i = 0; i < runs; i++) {
    const chars = [...SEEDS[i % SEEDS.length]!];
    const edits = 1 + rnd(6);
    for (let k = 0; k < edits; k++) {
      const at = rnd(chars.length + 1);
      const op = rnd(3);
      const c = ALPHABET[rnd(ALPHABET.length)]!;
      if (op === 0) chars.splice(at, 0, c);
      else if (op === 1) chars.splice(at, 1);
      else chars[at] = c;
    }
    try {
      const c = await resolveSSHConfig(["web1", "a1", "x", "u@h"][i % 4]!, {
        text: chars.join(""),
        homeDir: "/home/me",
        localUser: "me",
        system,
        env: { LANG: "C" },
      });
      formatSSHConfig(c);
      ok++;
    } catch (e) {
      assert.ok(e instanceof SSHConfigError, `case ${i}: ${String(e)}\n${chars.join("")}`);
      refused++;
    }
  }
  // Both outcomes are exercised (30–58 of 400 resolve, across seeds).
  assert.ok(ok > runs / 40 && refused > runs / 40, `${ok} resolved, ${refused} refused`);
  assert.ok(Date.now() - t0 < 20_000 * (runs / 400));
});
