import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import {
  matchAddressList,
  matchCidrList,
  matchHostAndAddress,
  matchPattern,
  matchPatternItems,
  matchPatternList,
  parseCidr,
  parseIpAddress,
} from "./host_patterns.ts";

test("matchPattern() handles * and ? like OpenSSH's match_pattern", () => {
  assert.ok(matchPattern("abc", "abc"));
  assert.ok(matchPattern("abc", "a*"));
  assert.ok(matchPattern("abc", "*c"));
  assert.ok(matchPattern("abc", "a?c"));
  assert.ok(matchPattern("", "*"));
  assert.ok(matchPattern("a.b.c", "*.*.*"));
  assert.equal(matchPattern("abc", "a?"), false);
  assert.equal(matchPattern("abc", "b*"), false);
  // Pathological pattern stays fast.
  const t = performance.now();
  assert.equal(matchPattern("a".repeat(5000), "*a*a*a*a*a*a*a*a*b"), false);
  assert.ok(performance.now() - t < 1000);
});

test("matchPatternList() gives 1, 0 or -1 (negation vetoes)", () => {
  assert.equal(matchPatternList("Host.Example.COM", "*.example.com"), 1);
  assert.equal(matchPatternList("a.example.com", "*.example.org"), 0);
  assert.equal(matchPatternList("a.example.com", "!a.example.com,*"), -1);
  assert.equal(matchPatternList("A", "a", false), 0);
});

test("parseIpAddress() parses IPv4 and IPv6 forms", () => {
  assert.deepEqual(parseIpAddress("192.0.2.1"), new Uint8Array([192, 0, 2, 1]));
  assert.equal(parseIpAddress("256.0.0.1"), undefined);
  assert.deepEqual(parseIpAddress("::1")!.at(-1), 1);
  assert.deepEqual(parseIpAddress("::")!, new Uint8Array(16));
  const v4m = parseIpAddress("::ffff:192.0.2.1")!;
  assert.deepEqual([...v4m.slice(10)], [0xff, 0xff, 192, 0, 2, 1]);
  assert.deepEqual(parseIpAddress("2001:db8:0:0:0:0:0:1"), parseIpAddress("2001:db8::1"));
  assert.deepEqual(parseIpAddress("fe80::1%eth0"), parseIpAddress("fe80::1"));
  for (const bad of ["1::2::3", "1:2:3:4:5:6:7", "12345::", "host.example", "1.2.3", ":1::"]) {
    assert.equal(parseIpAddress(bad), undefined, bad);
  }
});

test("parseCidr() rejects host bits and oversized masks", () => {
  assert.deepEqual(parseCidr("10.0.0.0/8")!, { net: new Uint8Array([10, 0, 0, 0]), bits: 8 });
  assert.equal(parseCidr("10.0.0.1/8"), "invalid");
  assert.equal(parseCidr("10.0.0.0/33"), "invalid");
  assert.equal(parseCidr("*.example.com"), undefined);
});

test("matchAddressList() matches CIDR ranges and wildcards, -2 for bad ranges", () => {
  assert.equal(matchAddressList("192.0.2.7", "192.0.2.0/24"), 1);
  assert.equal(matchAddressList("192.0.3.7", "192.0.2.0/24"), 0);
  assert.equal(matchAddressList("192.0.2.7", "192.0.2.*"), 1);
  assert.equal(matchAddressList("2001:db8::5", "2001:db8::/32"), 1);
  assert.equal(matchAddressList("192.0.2.7", "*,!192.0.2.0/28"), -1);
  assert.equal(matchAddressList("192.0.2.7", "192.0.2.1/24"), -2);
  // An empty item is malformed (OpenSSH's addr_match_list), not skipped.
  for (const list of ["10.0.0.0/8,", "10.0.0.0/8,,192.0.2.0/24", ",10.0.0.0/8", "!", ""]) {
    assert.equal(matchAddressList("10.0.0.5", list), -2, JSON.stringify(list));
  }
  assert.equal(matchHostAndAddress("h.example", "10.0.0.5", "10.0.0.0/8,"), false);
  assert.equal(matchHostAndAddress("h.example", "10.0.0.5", "h.example,,"), false);
});

test("matchHostAndAddress() evaluates from= like OpenSSH", () => {
  assert.ok(matchHostAndAddress("ci.example.com", "10.1.2.3", "*.example.com"));
  assert.ok(matchHostAndAddress("unknown", "10.1.2.3", "10.0.0.0/8"));
  assert.equal(
    matchHostAndAddress("ci.example.com", "10.1.2.3", "*.example.com,!10.1.0.0/16"),
    false,
  );
  assert.equal(
    matchHostAndAddress("ci.example.com", "10.1.2.3", "!ci.example.com,10.0.0.0/8"),
    false,
  );
  assert.equal(matchHostAndAddress("x", "10.1.2.3", "10.0.0.1/8,x"), false); // malformed range
  assert.equal(matchHostAndAddress("x", "192.0.2.1", "y,10.0.0.0/8"), false);
});

test("matchCidrList() answers -2, 0 or 1 for any list a certificate carries, never throwing", () => {
  const r = seededRandom(fuzzSeed(31));
  const alphabet = "0123456789abcdef.:/,!* \x00[]";
  const seeds = ["10.0.0.0/8", "127.0.0.1,::1", "2001:db8::/32", "192.0.2.1/33", "a.b"];
  for (let i = 0; i < fuzzRuns(3000); i++) {
    const x = r(8);
    const chars = seeds[x[0]! % seeds.length]!.split("");
    for (let j = 1; j < 1 + (x[1]! % 4); j++) {
      chars.splice(
        x[j + 1]! % (chars.length + 1),
        x[j]! % 2,
        alphabet[x[j + 2]! % alphabet.length]!,
      );
    }
    const list = chars.join("");
    const m = matchCidrList(x[7]! % 2 ? "10.1.2.3" : "::1", list);
    assert.ok(m === -2 || m === 0 || m === 1, `${JSON.stringify(list)} -> ${m}`);
    // A list sshd reads has only addresses and ranges: anything else in it is -2.
    if (/[^0-9a-fA-F.:/,]/.test(list) || list.split(",").includes("")) assert.equal(m, -2, list);
  }
  assert.equal(matchCidrList("10.1.2.3", "10.0.0.0/8,192.0.2.1"), 1);
  assert.equal(matchCidrList("10.1.2.3", "192.0.2.1"), 0);
});

test("matchPatternList() ends with 0 at an item of 1023 bytes or more, as match_pattern_list", () => {
  // OpenSSH copies each item into a 1024-byte buffer and answers "no match" for the whole
  // list when one does not fit: `ssh-keygen -F good.example` finds no host on such a line.
  assert.equal(matchPatternList("good.example", `good.example,${"x".repeat(1022)}`), 1);
  assert.equal(matchPatternList("good.example", `good.example,${"x".repeat(1023)}`), 0);
  assert.equal(matchPatternList("good.example", `good.example,!${"x".repeat(1023)}`), 0);
  // Bytes, not UTF-16 units: 400 "é" are 800 bytes, 512 of them 1024.
  assert.equal(matchPatternList("good.example", `good.example,${"é".repeat(400)}`), 1);
  assert.equal(matchPatternList("good.example", `good.example,${"é".repeat(512)}`), 0);
  // Items before it decide as usual: a negation that matched has already answered.
  assert.equal(matchPatternList("good.example", `!good.example,${"x".repeat(2000)}`), -1);
});

test("matchPatternList() lowercases ASCII letters only, as OpenSSH's tolower()", () => {
  // "\u212A" (KELVIN SIGN) lowercases to "k" in JavaScript; ssh compares it as it is.
  assert.equal(matchPatternList("key.example", "\u212Aey.example"), 0);
  assert.equal(matchPatternList("\u212Aey.example", "key.example"), 0);
  assert.equal(matchPatternList("i.example", "\u0130.example"), 0);
  assert.equal(matchPatternList("KEY.Example", "key.EXAMPLE"), 1);
  assert.equal(matchPatternList("École.example", "École.example"), 1);
  assert.equal(matchPatternList("école.example", "École.example"), 0);
});

test("matchPatternItems() takes items as they are: other white space is part of a name", () => {
  assert.equal(matchPatternItems("a.example", ["\u00a0a.example"]), 0);
  assert.equal(matchPatternItems("a.example", ["a.example\v"]), 0);
  assert.equal(matchPatternItems("a.example", ["b.example", "A.example"]), 1);
});
