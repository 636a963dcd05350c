import assert from "node:assert/strict";
import { test } from "node:test";
import { addrMatchCidrList, formatAddress, parseAddress } from "./_addr.ts";
import { argvSplit, QuoteError, strdelim } from "./_lex.ts";
import { convtime, scanScaled } from "./_values.ts";
import { matchHostname, matchPattern, matchPatternList } from "./patterns.ts";

test("matchPattern() matches * and ? as OpenSSH's match_pattern, byte by byte", () => {
  assert.equal(matchPattern("web1.example.com", "web?.example.*"), true);
  assert.equal(matchPattern("web12", "web?"), false);
  assert.equal(matchPattern("", "*"), true);
  assert.equal(matchPattern("", ""), true);
  assert.equal(matchPattern("a", ""), false);
  assert.equal(matchPattern("abcabd", "*abd"), true);
  assert.equal(matchPattern("aaa", "**a*a**"), true);
  assert.equal(matchPattern("Web", "web"), false);
  // "é" is two bytes in UTF-8: "?" matches one of them.
  assert.equal(matchPattern("café", "caf?"), false);
  assert.equal(matchPattern("café", "caf??"), true);
  // Long hostile patterns stay fast.
  const t = Date.now();
  assert.equal(matchPattern("a".repeat(5000) + "b", "*a*a*a*a*a*a*a*c"), false);
  assert.ok(Date.now() - t < 500);
});

test("matchPatternList() gives 1, 0 or -1; a negated match vetoes, an empty entry matches empty", () => {
  assert.equal(matchPatternList("a.example.com", "*.example.com,!b.example.com"), 1);
  assert.equal(matchPatternList("b.example.com", "*.example.com,!b.example.com"), -1);
  assert.equal(matchPatternList("c.org", "*.example.com"), 0);
  assert.equal(matchPatternList("", ","), 1);
  assert.equal(matchPatternList("x", "!x"), -1);
  assert.equal(matchHostname("DB1.Example.COM", "db?.example.com"), 1);
  assert.equal(matchPatternList("ROOT", "root"), 0);
  assert.equal(matchPatternList("root", "ROOT", true), 1);
});

test("strdelim() and argvSplit() tokenise lines as OpenSSH does", () => {
  assert.deepEqual(strdelim("Port = 22"), { token: "Port", rest: "22" });
  assert.deepEqual(strdelim("Port==22"), { token: "Port", rest: "=22" });
  assert.deepEqual(strdelim('"Host name" x'), { token: "Host name", rest: "x" });
  assert.deepEqual(strdelim('"unterminated'), { token: null, rest: null });
  assert.deepEqual(argvSplit(`a "b c" 'd e' f\\ g \\"h # comment`, true), [
    "a",
    "b c",
    "d e",
    "f g",
    '"h',
  ]);
  assert.deepEqual(argvSplit("a#b #c", true), ["a#b"]);
  assert.throws(() => argvSplit('"open', true), QuoteError);
});

test("convtime() and scanScaled() read times and sizes as OpenSSH 10 does", () => {
  assert.equal(convtime("1h30m"), 5400);
  assert.equal(convtime("1w2d3h4m5s"), 788645);
  assert.equal(convtime("90"), 90);
  assert.equal(convtime("+5"), -1);
  assert.equal(convtime("5x"), -1);
  assert.equal(convtime("99999999999"), -1);
  assert.equal(scanScaled("1G"), 1073741824n);
  assert.equal(scanScaled("1.5M"), 1572864n);
  assert.equal(scanScaled("7E"), 8070450532247928832n);
  assert.equal(scanScaled("8E"), undefined);
  assert.equal(scanScaled("12Q"), undefined);
  assert.equal(scanScaled("1Kb"), undefined);
});

test("parseAddress() reads addresses as getaddrinfo(AI_NUMERICHOST) and formats them as getnameinfo", () => {
  const f = (s: string) => {
    const a = parseAddress(s);
    return a && formatAddress(a);
  };
  assert.equal(f("127.1"), "127.0.0.1");
  assert.equal(f("0x7f.1"), "127.0.0.1");
  assert.equal(f("010.0.0.1"), "8.0.0.1");
  assert.equal(f("4294967295"), "255.255.255.255");
  assert.equal(f("08.1.1.1"), undefined);
  assert.equal(f("1.2.3.256"), undefined);
  assert.equal(f("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(f("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assert.equal(f("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
  assert.equal(f("::1:2:3:4:5:6:7"), "0:1:2:3:4:5:6:7");
  assert.equal(f("FE80::ABCD%eth0"), "fe80::abcd%eth0");
  assert.equal(f("1::2::3"), undefined);
  assert.equal(addrMatchCidrList("10.1.2.3", "10.0.0.0/8"), 1);
  assert.equal(addrMatchCidrList("10.1.2.3", "192.168.0.0/16,::1/128"), 0);
  assert.equal(addrMatchCidrList(undefined, "10.0.0.1/8"), -1);
  assert.equal(addrMatchCidrList(undefined, "10.0.0.0/33"), -1);
});
