import { test } from "node:test";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import { generatePrivateKey } from "../generate.ts";
import { SSHWriter } from "../../core/wire.ts";
import { SSHKey } from "../ssh_key.ts";
import {
  addKnownHost,
  formatKnownHostsLine,
  freezeKnownHosts,
  hashKnownHostsName,
  matchKnownHosts,
  parseKnownHosts,
} from "./known_hosts.ts";
import { keygenTest } from "../_ssh_keygen_test_util.ts";
import { generateHostCertificate } from "../certificates/certificate.ts";

const rnd = seededRandom(42);
const [k1, k2, k3, ca, bad] = [1, 2, 3, 4, 5].map(() =>
  generatePrivateKey("ed25519", { random: rnd }).publicKey()
);
const pub = (k: typeof k1) => k!.exportPublicKey().trim();

const TEXT = [
  "# known hosts",
  "",
  `example.com,192.0.2.10 ${pub(k1)}`,
  `[example.com]:2222 ${pub(k2)}`,
  `*.example.org,!secret.example.org ${pub(k3)}`,
  `@cert-authority *.example.net ${pub(ca)}`,
  `@revoked * ${pub(bad)}`,
  `example.com ${pub(bad)}`,
  "example.com ssh-ed25519 not-base64!",
  "@unknown-marker example.com ssh-ed25519 AAAA",
  "lonelyhost",
  "example.com ssh-frobnicate AAAAEXNzaC1mcm9ibmljYXRlAAA=",
].join("\n");

test("parseKnownHosts() keeps good lines and reports bad ones with line numbers", () => {
  const kh = parseKnownHosts(TEXT);
  assert.equal(kh.entries.length, 6);
  assert.deepEqual(kh.errors.map((e) => e.line), [9, 10, 11, 12]);
  assert.match(kh.errors[1]!.reason, /unknown marker/);
  assert.equal(kh.entries[3]!.marker, "cert-authority");
  assert.deepEqual(kh.entries[2]!.patterns, ["*.example.org", "!secret.example.org"]);
});

test("matchKnownHosts() applies ports, wildcards, negation, markers and revocation", () => {
  const kh = parseKnownHosts(TEXT);
  const m = matchKnownHosts(kh, "example.com", "192.0.2.10", 22);
  assert.deepEqual(m.trustedHostKeys.map((k) => k.getFingerprint()), [k1!.getFingerprint()]);
  assert.equal(m.revokedKeys.length, 1); // the revoked key is not trusted despite line 8
  assert.ok(matchKnownHosts(kh, "EXAMPLE.com", undefined, 22).trustedHostKeys[0]!.equals(k1!));
  assert.ok(matchKnownHosts(kh, "other", "192.0.2.10").trustedHostKeys[0]!.equals(k1!));
  assert.ok(matchKnownHosts(kh, "example.com", undefined, 2222).trustedHostKeys[0]!.equals(k2!));
  assert.equal(matchKnownHosts(kh, "www.example.org").trustedHostKeys.length, 1);
  assert.equal(matchKnownHosts(kh, "secret.example.org").trustedHostKeys.length, 0);
  assert.ok(matchKnownHosts(kh, "a.example.net").trustedCAKeys[0]!.equals(ca!));
  assert.equal(matchKnownHosts(kh.entries, "nowhere").trustedHostKeys.length, 0);
});

test("a host certificate under @revoked revokes its key; elsewhere a certificate is a bad line", () => {
  const caKey = generatePrivateKey("ed25519", { random: rnd });
  const hostKey = generatePrivateKey("ed25519", { random: rnd }).publicKey();
  const cert = generateHostCertificate(caKey, hostKey, "web1", { principals: ["web1"] });
  const line = cert.exportCertificate().trim();
  const kh = parseKnownHosts(`@revoked * ${line}\nweb1 ${line}\n`);
  assert.equal(kh.entries.length, 1);
  assert.deepEqual(kh.errors.map((e) => e.line), [2]);
  const m = matchKnownHosts(kh, "web1");
  assert.equal(m.revokedKeys.length, 1);
  assert.ok(m.revokedKeys[0]!.equals(hostKey), "the certified key is what is revoked");
});

test("formatKnownHostsLine() writes plain, ported, hashed and marked lines that match back", () => {
  const plain = formatKnownHostsLine(["h.example", "192.0.2.5"], 22, k1!);
  assert.match(plain, /^h\.example,192\.0\.2\.5 ssh-ed25519 \S+\n$/);
  const ported = formatKnownHostsLine("h.example", 2022, k1!, { marker: "cert-authority" });
  assert.match(ported, /^@cert-authority \[h\.example\]:2022 /);
  const hashed = formatKnownHostsLine(["h.example", "192.0.2.5"], 2022, k2!, {
    hashed: true,
    random: seededRandom(1),
  });
  assert.equal(hashed.split("\n").length, 3); // one line per name
  const kh = parseKnownHosts(plain + ported + hashed);
  assert.equal(matchKnownHosts(kh, "h.example", undefined, 2022).trustedCAKeys.length, 1);
  assert.ok(matchKnownHosts(kh, "h.example", undefined, 2022).trustedHostKeys[0]!.equals(k2!));
  assert.ok(matchKnownHosts(kh, "x", "192.0.2.5", 2022).trustedHostKeys[0]!.equals(k2!));
  assert.throws(() => formatKnownHostsLine("a b", 22, k1!), RangeError);
});

test("addKnownHost() appends on a new line", () => {
  const t = addKnownHost("a ssh-ed25519 AAAA", "b", 22, k1!);
  assert.equal(t.split("\n")[1]!.startsWith("b ssh-ed25519 "), true);
  assert.equal(addKnownHost("", "b", 22, k1!).startsWith("b "), true);
});

test("hashKnownHostsName() matches OpenSSH's HMAC-SHA1 of the name", () => {
  // HMAC-SHA1(key = 20 bytes of 0x01, "example.com"), computed independently with Python.
  const h = hashKnownHostsName("example.com", new Uint8Array(20).fill(1));
  assert.equal(h, "|1|AQEBAQEBAQEBAQEBAQEBAQEBAQE=|AqgERpE7/atQuHzpEGc1XodOnYc=");
});

test("parseKnownHosts() skips a hashed name whose salt is not 20 bytes, as OpenSSH", () => {
  // hostfile.c's extract_salt() wants exactly 20 bytes: ssh and `ssh-keygen -F` never match
  // such a line, which trusted its key here.
  for (const n of [1, 16, 21, 32, 65]) {
    const kh = parseKnownHosts(
      `${hashKnownHostsName("example.com", new Uint8Array(n).fill(7))} ${pub(k1)}\n`,
    );
    assert.equal(kh.entries.length, 0, `${n} bytes`);
    assert.match(kh.errors[0]!.reason, /salt is not 20 bytes/);
    assert.equal(matchKnownHosts(kh, "example.com").trustedHostKeys.length, 0);
  }
  const good = `${hashKnownHostsName("example.com", new Uint8Array(20).fill(7))} ${pub(k1)}\n`;
  assert.ok(matchKnownHosts(parseKnownHosts(good), "example.com").trustedHostKeys[0]!.equals(k1!));
});

test("parseKnownHosts() never throws on random and mutated input", () => {
  const r = seededRandom(fuzzSeed(5));
  const good = TEXT.split("\n");
  for (let i = 0; i < fuzzRuns(1000); i++) {
    const line = good[r(1)[0]! % good.length]!.split("");
    const b = r(3);
    if (line.length) line[b[0]! % line.length] = String.fromCharCode(b[1]! % 128);
    const text = line.join("").slice(0, b[2]! * 2) + "\n" +
      Array.from(r(b[2]! % 64), (x) => String.fromCharCode(x)).join("");
    const kh = parseKnownHosts(text);
    matchKnownHosts(kh, "example.com", "192.0.2.10", 2222);
  }
});

keygenTest("ssh-keygen -H hashed known_hosts match like the plain ones", (k) => {
  const hosts = ["example.com", "192.0.2.10", "[example.com]:2222", "Mixed.Example.com"];
  const keys = hosts.map(() => generatePrivateKey("ed25519").publicKey());
  k.write("known_hosts", hosts.map((h, i) => `${h} ${pub(keys[i]!)}\n`).join(""));
  k.run(["-H", "-f", k.path("known_hosts")]);
  const hashed = k.read("known_hosts");
  assert.ok(hashed.split("\n").filter(Boolean).every((l) => l.startsWith("|1|")));
  const kh = parseKnownHosts(hashed);
  assert.equal(kh.errors.length, 0);
  assert.ok(matchKnownHosts(kh, "example.com").trustedHostKeys[0]!.equals(keys[0]!));
  assert.ok(matchKnownHosts(kh, "x", "192.0.2.10").trustedHostKeys[0]!.equals(keys[1]!));
  assert.ok(
    matchKnownHosts(kh, "example.com", undefined, 2222).trustedHostKeys[0]!.equals(keys[2]!),
  );
  // ssh-keygen lowercases names before hashing, as ssh does before a lookup.
  assert.ok(matchKnownHosts(kh, "MIXED.example.com").trustedHostKeys[0]!.equals(keys[3]!));
});

keygenTest("ssh-keygen -F finds the hashed lines we write", (k) => {
  const key = generatePrivateKey("ecdsa").publicKey();
  let text = addKnownHost("", "host.example", 22, key, { hashed: true });
  text = addKnownHost(text, "host.example", 2200, key, { hashed: true });
  k.write("known_hosts", text);
  const out = k.run(["-F", "host.example", "-f", k.path("known_hosts")]);
  assert.match(out, /Host host\.example found: line 1/);
  const out2 = k.run(["-F", "[host.example]:2200", "-f", k.path("known_hosts")]);
  assert.match(out2, /found: line 2/);
  assert.notEqual(
    k.tryRun(["-F", "other.example", "-f", k.path("known_hosts")]).stdout.includes("found"),
    true,
  );
});

test("fields are split on spaces and tabs only, as hostfile.c: other white space is a bad line", () => {
  // ssh reads `host\vssh-ed25519 AAAA...` as the host field "host\vssh-ed25519" and a key
  // "AAAA...": a bad line, never host's key.
  for (const sep of ["\v", "\f", "\r", "\u00a0", "\u2003", "\ufeff"]) {
    const kh = parseKnownHosts(`example.com${sep}${pub(k1)}\n${sep}example.com ${pub(k2)}\n`);
    assert.equal(
      matchKnownHosts(kh, "example.com").trustedHostKeys.length,
      0,
      JSON.stringify(sep),
    );
    const marked = parseKnownHosts(`@revoked${sep}example.com ${pub(k1)}\n`);
    assert.equal(marked.entries.length, 0, JSON.stringify(sep));
  }
  // Spaces and tabs, any number of them, and a CRLF line end are fine.
  const ok = parseKnownHosts(` \texample.com \t ${pub(k1).replace(" ", "\t ")}  c\r\n`);
  assert.ok(matchKnownHosts(ok, "example.com").trustedHostKeys[0]!.equals(k1!));
  const tab = parseKnownHosts(`example.com ${pub(k1)}\n@revoked\t \texample.com ${pub(k1)}\n`);
  assert.equal(matchKnownHosts(tab, "example.com").revokedKeys.length, 1);
});

test("a hashed name not in canonical base64 matches nothing, as ssh compares the text", () => {
  const good = hashKnownHostsName("example.com", new Uint8Array(20).fill(1));
  assert.equal(good, "|1|AQEBAQEBAQEBAQEBAQEBAQEBAQE=|AqgERpE7/atQuHzpEGc1XodOnYc=");
  for (
    const bad of [
      good.replace("AQE=|", "AQE|"), // salt unpadded
      good.replace(/=$/, ""), // hash unpadded
      good.replace("AQE=|", "AQF=|"), // stray bits in the salt's last character
      good.replace("nYc=", "nYd="), // and in the hash's
    ]
  ) {
    const kh = parseKnownHosts(`${bad} ${pub(k1)}\n`);
    assert.equal(matchKnownHosts(kh, "example.com").trustedHostKeys.length, 0, bad);
    assert.equal(kh.errors.length, 1, bad);
  }
  assert.equal(parseKnownHosts(`${good} ${pub(k1)}\n`).entries.length, 1);
});

test("long lines are read, as ssh reads them: another key listed there is a changed key", () => {
  const names = Array.from({ length: 6000 }, (_, i) => `h${i}.example`).join(",");
  const text = `${names},example.com ${pub(k2)}\n@revoked ${names},example.com ${pub(k1)}\n` +
    `example.com ${pub(k1)}\n`;
  assert.ok(text.indexOf("\n") > 64 * 1024);
  const m = matchKnownHosts(parseKnownHosts(text), "example.com");
  assert.deepEqual(m.trustedHostKeys.map((k) => k.getFingerprint()), [k2!.getFingerprint()]);
  assert.ok(m.revokedKeys[0]!.equals(k1!));
});

test("names are lowercased in ASCII only before hashing and matching, as ssh does", () => {
  // ssh lowercases "École.EXAMPLE" to "École.example" (tolower leaves the UTF-8 bytes of
  // "É" alone) and hashes that.
  const salt = new Uint8Array(20).fill(9);
  const sshLine = `${hashKnownHostsName("École.example", salt)} ${pub(k1)}\n`;
  assert.ok(matchKnownHosts(parseKnownHosts(sshLine), "École.EXAMPLE").trustedHostKeys.length);
  const ours = formatKnownHostsLine("École.EXAMPLE", 22, k1!, {
    hashed: true,
    random: () => salt,
  });
  assert.equal(ours, sshLine);
  // "\u212A" (KELVIN SIGN) is not "k" to ssh.
  const kelvin = parseKnownHosts(`\u212Aey.example ${pub(k1)}\n`);
  assert.equal(matchKnownHosts(kelvin, "key.example").trustedHostKeys.length, 0);
});

keygenTest("ssh-keygen -F finds no host on a line with an item of 1023 bytes or more", (k) => {
  for (const [n, found] of [[1022, true], [1023, false], [1100, false]] as const) {
    const text = `good.example,${"x".repeat(n)} ${pub(k1)}\n`;
    k.write("known_hosts", text);
    const theirs = k.tryRun(["-F", "good.example", "-f", k.path("known_hosts")]).stdout;
    assert.equal(theirs.includes("found"), found, `${n}: ssh-keygen`);
    const ours = matchKnownHosts(parseKnownHosts(text), "good.example").trustedHostKeys.length;
    assert.equal(ours > 0, found, `${n}: ours`);
  }
});

test("formatKnownHostsLine() refuses a first name that would make a comment, marker or hash", () => {
  for (const bad of ["#host", "@host", "|1|host"]) {
    assert.throws(() => formatKnownHostsLine(bad, 22, k1!), RangeError, bad);
    // Hashed, or not first, the name is safe.
    const hashed = formatKnownHostsLine(bad, 22, k1!, { hashed: true });
    assert.ok(matchKnownHosts(parseKnownHosts(hashed), bad).trustedHostKeys.length, bad);
    const second = formatKnownHostsLine(["a.example", bad], 22, k1!);
    assert.ok(matchKnownHosts(parseKnownHosts(second), bad).trustedHostKeys.length, bad);
  }
  // Off port 22 the name is bracketed: fine.
  const ported = formatKnownHostsLine("#host", 2222, k1!);
  assert.ok(matchKnownHosts(parseKnownHosts(ported), "#host", undefined, 2222).trustedHostKeys[0]);
});

/** `body`'s result and how many keys SSHKey.fromPublicBlob() decoded meanwhile. */
function countingDecodes<T>(body: () => T): { result: T; decoded: number } {
  const original = SSHKey.fromPublicBlob;
  let decoded = 0;
  SSHKey.fromPublicBlob = (blob, comment) => {
    decoded++;
    return original.call(SSHKey, blob, comment);
  };
  try {
    const result = body();
    return { result, decoded };
  } finally {
    SSHKey.fromPublicBlob = original;
  }
}

test("parseKnownHosts() decodes a key when a lookup matches its line, or the lists are read", () => {
  const others = Array.from({ length: 50 }, (_, i) => `h${i}.example ${pub(k2)}\n`).join("");
  const text = `${others}target.example,192.0.2.7 ${pub(k1)}\n${others}`;
  const { result: kh, decoded: atParse } = countingDecodes(() => parseKnownHosts(text));
  assert.equal(atParse, 0);
  const first = countingDecodes(() => matchKnownHosts(kh, "target.example"));
  assert.equal(first.decoded, 1, "only the line naming the host");
  assert.ok(first.result.trustedHostKeys[0]!.equals(k1!));
  // Decoded once: the next lookup of the line (by its address) gets the same key object.
  const again = countingDecodes(() => matchKnownHosts(kh, "other", "192.0.2.7"));
  assert.equal(again.decoded, 0);
  assert.equal(again.result.trustedHostKeys[0], first.result.trustedHostKeys[0]);
  const lists = countingDecodes(() => [kh.entries.length, kh.errors.length]);
  assert.deepEqual(lists.result, [101, 0]);
  assert.equal(lists.decoded, 100, "the rest, once");
  assert.equal(kh.entries[50]!.key, first.result.trustedHostKeys[0]);
  assert.deepEqual(Object.keys(kh), ["entries", "errors"]);
});

test("parseKnownHosts(): lookups before the lists are read give what the lists give", () => {
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  const w = () => new SSHWriter();
  // Lines that cut into fields but whose key does not decode, or whose host field is bad.
  const evenModulus = w().writeStringUtf8("ssh-rsa").writeMpint(65537n).writeMpint(1n << 2047n)
    .toBytes();
  const shortEd = w().writeStringUtf8("ssh-ed25519").writeString(new Uint8Array(31)).toBytes();
  const badPoint = w().writeStringUtf8("ecdsa-sha2-nistp256").writeStringUtf8("nistp256")
    .writeString(Uint8Array.of(4, ...new Uint8Array(64).fill(1))).toBytes();
  const text = [
    TEXT,
    `example.com ssh-rsa ${b64(evenModulus)}`,
    `example.com,www.example.org ssh-ed25519 ${b64(shortEd)}`,
    `@cert-authority *.example.net ecdsa-sha2-nistp256 ${b64(badPoint)}`,
    `|1|bad|hash ssh-ed25519 ${b64(shortEd)}`,
    `|1|bad|hash ${pub(k3)}`,
    `,,, ${pub(k3)}`,
    `@revoked example.com ${pub(k2)}`,
  ].join("\n");
  const fps = (keys: readonly SSHKey[]) => keys.map((k) => k.getFingerprint());
  const lazy = parseKnownHosts(text);
  for (const [host, addr] of [["example.com", "192.0.2.10"], ["www.example.org", undefined]]) {
    for (const port of [22, 2222]) {
      const m = matchKnownHosts(lazy, host!, addr, port);
      const full = matchKnownHosts(parseKnownHosts(text).entries, host!, addr, port);
      assert.deepEqual(fps(m.trustedHostKeys), fps(full.trustedHostKeys), `${host}:${port}`);
      assert.deepEqual(fps(m.trustedCAKeys), fps(full.trustedCAKeys), `${host}:${port}`);
      assert.deepEqual(fps(m.revokedKeys), fps(full.revokedKeys), `${host}:${port}`);
    }
  }
  assert.ok(matchKnownHosts(lazy, "a.example.net").trustedCAKeys[0]!.equals(ca!));
  assert.equal(matchKnownHosts(lazy, "example.com", undefined, 2222).revokedKeys.length, 1);
  // The lists, read after those lookups, are those of a text never looked up in.
  const fresh = parseKnownHosts(text);
  assert.deepEqual(lazy.errors, fresh.errors);
  assert.deepEqual(lazy.entries.map((e) => e.line), fresh.entries.map((e) => e.line));
  assert.deepEqual(lazy.errors.map((e) => e.line), [9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  const reason = (line: number) => lazy.errors.find((e) => e.line === line)!.reason;
  assert.match(reason(13), /even modulus/);
  assert.match(reason(14), /32/);
  assert.match(reason(15), /not on nistp256/);
  // A bad host field and a bad key: the key's error, as when lines were read whole.
  assert.match(reason(16), /32/);
  assert.match(reason(17), /hashed host name is not/);
  assert.match(reason(18), /empty host pattern list/);
});

test("freezeKnownHosts() freezes the lists as they are made, without decoding the keys", () => {
  const kh = parseKnownHosts(TEXT);
  const { decoded } = countingDecodes(() => freezeKnownHosts(kh));
  assert.equal(decoded, 0);
  assert.ok(Object.isFrozen(kh));
  assert.ok(matchKnownHosts(kh, "example.com", "192.0.2.10").trustedHostKeys[0]!.equals(k1!));
  assert.ok(Object.isFrozen(kh.entries) && Object.isFrozen(kh.errors));
  assert.ok(Object.isFrozen(kh.entries[0]) && Object.isFrozen(kh.entries[0]!.patterns));
  assert.ok(Object.isFrozen(kh.errors[0]));
  // Lists made already are frozen at once.
  const made = parseKnownHosts(TEXT);
  assert.equal(made.entries.length, 6);
  freezeKnownHosts(made);
  assert.ok(Object.isFrozen(made.entries[0]) && Object.isFrozen(made.errors));
});
