/**
 * What AsyncSSH supports, we support: SUPPORTED_KEX, SUPPORTED_CIPHERS and
 * SUPPORTED_MACS are a superset of AsyncSSH's own lists, read from the installed
 * AsyncSSH at run time, apart from the families named below with the reason. And
 * everything we add beyond OpenSSH's defaults stays off by default.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  SUPPORTED_CIPHERS,
  SUPPORTED_MACS,
} from "../core/crypto/registry.ts";
import { DEFAULT_KEX, DEFAULT_SERVER_KEX, SUPPORTED_KEX } from "../core/kex/registry.ts";
import { interopTest, peerAlgorithms } from "./interop_peers.ts";

/** AsyncSSH families left out on purpose, and why. */
const LEFT_OUT: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  { pattern: /^gss-/, why: "GSS-API key exchange needs a Kerberos library" },
];

/** The names OpenSSH 9.x offers by default: everything else must be off by default here. */
const OPENSSH_DEFAULTS = new Set([
  ...DEFAULT_KEX,
  ...DEFAULT_CIPHERS,
  ...DEFAULT_MACS,
]);

interopTest(
  "SUPPORTED_KEX, SUPPORTED_CIPHERS and SUPPORTED_MACS cover AsyncSSH's lists; the extras stay off by default",
  { tools: ["asyncssh"] },
  // deno-lint-ignore require-await
  async () => {
    const theirs = peerAlgorithms("asyncssh");
    const check = (kind: string, list: readonly string[], ours: readonly string[]) => {
      const missing = list.filter((n) =>
        !ours.includes(n) && !LEFT_OUT.some((l) => l.pattern.test(n))
      );
      assert.deepEqual(missing, [], `${kind}: AsyncSSH implements these and we do not`);
      // Sanity: the lists really are AsyncSSH's (a few names every version has).
      assert.ok(list.length > 5, `${kind}: AsyncSSH's list looks empty`);
    };
    check("kex", theirs.kex, SUPPORTED_KEX);
    check("cipher", theirs.ciphers, SUPPORTED_CIPHERS);
    check("MAC", theirs.macs, SUPPORTED_MACS);
    assert.ok(
      theirs.kex.includes("curve448-sha512") && theirs.ciphers.includes("seed-cbc@ssh.com"),
    );
    // What we implement beyond OpenSSH's defaults is never offered unless named.
    for (const name of [...theirs.kex, ...theirs.ciphers, ...theirs.macs]) {
      if (OPENSSH_DEFAULTS.has(name)) continue;
      assert.equal(DEFAULT_KEX.includes(name), false, name);
      assert.equal(DEFAULT_SERVER_KEX.includes(name), false, name);
      assert.equal(DEFAULT_CIPHERS.includes(name), false, name);
      assert.equal(DEFAULT_MACS.includes(name), false, name);
    }
  },
);
