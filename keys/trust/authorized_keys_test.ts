import { test } from "node:test";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import {
  authorizedKeyRefusal,
  findAuthorizedKey,
  isExpired,
  lookupAuthorizedKey,
  matchFrom,
  parseAuthorizedKeyOptions,
  parseAuthorizedKeys,
  parseExpiryTime,
  permitsListen,
  permitsOpen,
  permitsStreamlocalOpen,
} from "./authorized_keys.ts";
import { generatePrivateKey } from "../generate.ts";

const rnd = seededRandom(77);
const [a, b, ca] = [1, 2, 3].map(() => generatePrivateKey("ed25519", { random: rnd }));
const line = (k: typeof a) => k!.exportPublicKey().trim();

const TEXT = [
  "# users",
  line(a),
  `from="*.example.com,!bad.example.com",command="echo \\"hi there\\", ok",no-pty ${line(b)}`,
  `restrict,pty,permitopen="db.internal:5432",permitopen="[2001:db8::1]:*",permitlisten="8080" ${
    line(a)
  }`,
  `cert-authority,principals="alice,bob",expiry-time="20300101Z" ${line(ca)}`,
  `environment="LANG=C",environment="X=a=b",tunnel="3",no-agent-forwarding ${line(b)}`,
  `no-pty,no-port-forwarding,no-X11-forwarding,no-user-rc,verify-required,no-touch-required ${
    line(a)
  }`,
  `command="one",command="two" ${line(a)}`,
  `bogus-option ${line(a)}`,
  `command="unterminated ${line(a)}`,
  `permitopen="nohostport" ${line(a)}`,
  "ssh-ed25519 AAAA broken",
].join("\n");

test("parseAuthorizedKeys() parses options into typed fields", () => {
  const { entries } = parseAuthorizedKeys(TEXT);
  assert.equal(entries.length, 6);
  const [plain, forced, restricted, caEntry, env, noAll] = entries;
  assert.equal(plain!.optionsText, "");
  assert.equal(plain!.options.pty, true);
  assert.deepEqual(forced!.options.from, ["*.example.com", "!bad.example.com"]);
  assert.equal(forced!.options.command, 'echo "hi there", ok');
  assert.equal(forced!.options.pty, false);
  assert.equal(restricted!.options.restrict, true);
  assert.equal(restricted!.options.pty, true); // pty after restrict re-enables it
  assert.equal(restricted!.options.agentForwarding, false);
  assert.deepEqual(restricted!.options.permitOpen, [
    { host: "db.internal", port: 5432 },
    { host: "2001:db8::1", port: "*" },
  ]);
  assert.deepEqual(restricted!.options.permitListen, [{ port: 8080 }]);
  assert.equal(caEntry!.options.certAuthority, true);
  assert.deepEqual(caEntry!.options.principals, ["alice", "bob"]);
  assert.equal(caEntry!.options.expiryTime, Date.UTC(2030, 0, 1));
  assert.deepEqual(env!.options.environment, [{ name: "LANG", value: "C" }, {
    name: "X",
    value: "a=b",
  }]);
  assert.equal(env!.options.tunnel, 3);
  assert.equal(env!.options.agentForwarding, false);
  assert.deepEqual(
    [noAll!.options.pty, noAll!.options.portForwarding, noAll!.options.x11Forwarding],
    [false, false, false],
  );
  assert.equal(noAll!.options.userRc, false);
  assert.equal(noAll!.options.verifyRequired && noAll!.options.noTouchRequired, true);
});

test("parseAuthorizedKeys() reports bad lines with the reason", () => {
  const { errors } = parseAuthorizedKeys(TEXT);
  assert.deepEqual(errors.map((e) => e.line), [8, 9, 10, 11, 12]);
  assert.match(errors[0]!.reason, /multiple "command"/);
  assert.match(errors[1]!.reason, /unsupported option 'bogus-option'/);
  assert.match(errors[2]!.reason, /unterminated quote/);
  assert.match(errors[3]!.reason, /not host:port/);
});

test("an option named like an Object property (constructor, __proto__, toString) is unsupported, not a flag", () => {
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const { entries, errors } = parseAuthorizedKeys(`${name} ${key}\n`);
    assert.equal(entries.length, 0, name);
    // ("__proto__" is no option name at all.)
    assert.match(errors[0]?.reason ?? "", /unsupported option|bad option syntax/, name);
  }
});

test("a from= list with an empty item refuses its line, as OpenSSH denies on it", () => {
  for (const from of ["10.0.0.0/8,", "10.0.0.0/8,,192.0.2.0/24", ",h", ""]) {
    assert.throws(() => parseAuthorizedKeyOptions(`from="${from}"`), /empty item/, from);
  }
  assert.deepEqual(parseAuthorizedKeyOptions('from="10.0.0.0/8, h"').from, ["10.0.0.0/8", "h"]);
});

test("permitopen and permitlisten with port 0 refuse their line, as sshd's a2port", () => {
  for (const opt of ['permitlisten="0"', 'permitlisten="localhost:0"', 'permitopen="db:0"']) {
    assert.throws(() => parseAuthorizedKeyOptions(opt), /invalid port/, opt);
  }
  assert.deepEqual(parseAuthorizedKeyOptions('permitlisten="1"').permitListen, [{ port: 1 }]);
});

test("parseAuthorizedKeyOptions() takes touch-required and no-verify-required, as sshd's opt_flag", () => {
  // Both flags may carry "no-" or not; either form refused the whole line.
  const o = parseAuthorizedKeyOptions("no-touch-required,verify-required");
  assert.deepEqual([o.noTouchRequired, o.verifyRequired], [true, true]);
  const back = parseAuthorizedKeyOptions(
    "no-touch-required,verify-required,touch-required,no-verify-required",
  );
  assert.deepEqual([back.noTouchRequired, back.verifyRequired], [false, false]);
  const { entries, errors } = parseAuthorizedKeys(`Touch-Required,No-Verify-Required ${line(a)}`);
  assert.deepEqual([entries.length, errors.length], [1, 0]);
});

test("parseAuthorizedKeyOptions() keeps the first environment= of a name, as sshd", () => {
  // The session sets them in order: a second value for a name overrode the first.
  const o = parseAuthorizedKeyOptions(
    'environment="A=first",environment="B=b",environment="A=second",environment="a=lower"',
  );
  assert.deepEqual(o.environment, [
    { name: "A", value: "first" },
    { name: "B", value: "b" },
    { name: "a", value: "lower" },
  ]);
});

test("permitopen and permitlisten split host and port as sshd's hpdelim2", () => {
  const open = (v: string) => parseAuthorizedKeyOptions(`permitopen="${v}"`).permitOpen;
  // The host ends at the first ':' or '/'.
  assert.deepEqual(open("db/5432"), [{ host: "db", port: 5432 }]);
  assert.deepEqual(open("[2001:db8::1]/22"), [{ host: "2001:db8::1", port: 22 }]);
  assert.deepEqual(open("[/run/app.sock]:*"), [{ host: "/run/app.sock", port: "*" }]);
  // sshd refuses these lines: the port would be "b:22", ":1:22", "run/app.sock:*".
  for (const v of ["a:b:22", "::1:22", "/run/app.sock:*", "[db]", "[db]x:22", "[db:22"]) {
    assert.throws(() => open(v), /permitopen/, v);
  }
  const listen = (v: string) => parseAuthorizedKeyOptions(`permitlisten="${v}"`).permitListen;
  assert.deepEqual(listen("[::1]/8080"), [{ host: "::1", port: 8080 }]);
  assert.throws(() => listen("localhost/8080"), /invalid port/);
});

test("matchFrom() and findAuthorizedKey() apply from= and expiry-time", () => {
  const ak = parseAuthorizedKeys(TEXT);
  const at = (host: string, addr: string, now = Date.UTC(2025, 0, 1)) => ({ host, addr, now });
  assert.equal(findAuthorizedKey(ak, a!, at("x", "192.0.2.1"))!.line, 2);
  assert.equal(findAuthorizedKey(ak, b!, at("ci.example.com", "192.0.2.1"))!.line, 3);
  // b's from= vetoes bad.example.com, so the next entry for b (no from=) applies.
  assert.equal(findAuthorizedKey(ak, b!, at("bad.example.com", "192.0.2.1"))!.line, 6);
  assert.equal(findAuthorizedKey(ak, ca!, at("x", "y")), undefined); // CA lines only on request
  assert.equal(findAuthorizedKey(ak, ca!, at("x", "y"), true)!.line, 5);
  assert.equal(findAuthorizedKey(ak, ca!, at("x", "y", Date.UTC(2031, 0, 1)), true), undefined);
  assert.ok(matchFrom("10.0.0.0/8", "h", "10.2.3.4"));
  assert.equal(matchFrom(["10.0.0.0/8"], "h", "11.2.3.4"), false);
});

test("a line with from= refuses a client whose address is unknown, negations included", () => {
  const unknown = { host: "", addr: "", now: Date.UTC(2025, 0, 1) };
  for (const from of ["*,!203.0.113.5", "!203.0.113.5,*", "*", "10.0.0.0/8"]) {
    const ak = parseAuthorizedKeys(`from="${from}" ${line(a)}\n`);
    assert.equal(findAuthorizedKey(ak, a!, unknown), undefined, from);
    assert.match(authorizedKeyRefusal(ak.entries[0]!, unknown)!, /address is unknown/);
  }
  // A line without from= does not ask for the address.
  assert.equal(findAuthorizedKey(parseAuthorizedKeys(line(a)), a!, unknown)?.line, 1);
});

test("findAuthorizedKey() refuses a plain key's line with principals=, as sshd (principals on non-CA key)", () => {
  const client = { host: "h", addr: "192.0.2.1", now: Date.UTC(2025, 0, 1) };
  const ak = parseAuthorizedKeys(`principals="ops" ${line(a)}\n`);
  assert.equal(findAuthorizedKey(ak, a!, client), undefined);
  assert.deepEqual(lookupAuthorizedKey(ak, a!, client), {
    reason: "line 1: principals on non-CA key",
  });
  assert.equal(authorizedKeyRefusal(ak.entries[0]!, client), "principals on non-CA key");
  // Like a from= mismatch, the refusal is of that line: a later line for the key still counts.
  const two = parseAuthorizedKeys(`principals="ops" ${line(a)}\nno-pty ${line(a)}\n`);
  assert.equal(findAuthorizedKey(two, a!, client)?.line, 2);
  // On a cert-authority line principals= is what it is for.
  const caLine = parseAuthorizedKeys(`cert-authority,principals="ops" ${line(ca)}\n`);
  assert.equal(findAuthorizedKey(caLine, ca!, client, true)?.line, 1);
  assert.equal(authorizedKeyRefusal(caLine.entries[0]!, client), undefined);
});

test("lookupAuthorizedKey() says why no line authorizes the key", () => {
  const ak = parseAuthorizedKeys(TEXT);
  const at = (host: string, addr: string, now = Date.UTC(2025, 0, 1)) => ({ host, addr, now });
  assert.equal(lookupAuthorizedKey(ak, a!, at("x", "192.0.2.1")).entry?.line, 2);
  const stranger = generatePrivateKey("ed25519");
  assert.deepEqual(lookupAuthorizedKey(ak, stranger, at("x", "y")), {
    reason: "key is not in authorized_keys",
  });
  assert.deepEqual(lookupAuthorizedKey(ak, ca!, at("x", "y", Date.UTC(2031, 0, 1)), true), {
    reason: "line 5: entry expired",
  });
  assert.match(
    lookupAuthorizedKey([ak.entries[1]!], b!, at("bad.example.com", "192.0.2.1")).reason!,
    /^line 3: not from a permitted host \(from="\*\.example\.com,!bad\.example\.com"\)$/,
  );
});

test("permitsOpen() and permitsListen() honour the lists and no-port-forwarding", () => {
  const o = parseAuthorizedKeyOptions(
    'permitopen="db:5432",permitopen="*:80",permitlisten="localhost:9000"',
  );
  assert.ok(permitsOpen(o, "DB", 5432));
  assert.ok(permitsOpen(o, "anything", 80));
  assert.equal(permitsOpen(o, "db", 22), false);
  assert.ok(permitsListen(o, "localhost", 9000));
  assert.equal(permitsListen(o, "0.0.0.0", 9000), false);
  const none = parseAuthorizedKeyOptions("no-port-forwarding");
  assert.equal(permitsOpen(none, "db", 5432), false);
  assert.ok(permitsOpen(parseAuthorizedKeyOptions(""), "db", 1));
});

test("permitsStreamlocalOpen() holds UNIX sockets to a permitopen list, as sshd", () => {
  const path = "/run/app.sock";
  // No list: any socket (if port forwarding is allowed).
  assert.ok(permitsStreamlocalOpen(parseAuthorizedKeyOptions(""), path));
  assert.equal(
    permitsStreamlocalOpen(parseAuthorizedKeyOptions("no-port-forwarding"), path),
    false,
  );
  assert.equal(permitsStreamlocalOpen(parseAuthorizedKeyOptions("restrict"), path), false);
  // A list of TCP destinations names no socket, even with a wildcard host.
  for (
    const list of ['permitopen="db:5432"', 'permitopen="*:80"', 'permitopen="[/run/app.sock]:22"']
  ) {
    assert.equal(permitsStreamlocalOpen(parseAuthorizedKeyOptions(list), path), false, list);
  }
  // sshd matches the path as a host with any port: "[path]:*", or "*:*" for every socket.
  const app = parseAuthorizedKeyOptions('permitopen="db:5432",permitopen="[/run/app.sock]:*"');
  assert.ok(permitsStreamlocalOpen(app, path));
  assert.equal(permitsStreamlocalOpen(app, "/run/App.sock"), false); // paths match exactly
  assert.equal(permitsStreamlocalOpen(app, "/run/other.sock"), false);
  assert.ok(permitsStreamlocalOpen(parseAuthorizedKeyOptions('permitopen="*:*"'), "/any"));
});

/** The host's time zone, as io/ passes it (tests may read the host; keys/ may not). */
const local = (t: number) => -new Date(t).getTimezoneOffset();

test("parseExpiryTime() reads dates and times, local or UTC, and rejects bad ones", () => {
  assert.equal(parseExpiryTime("20240102", local), new Date(2024, 0, 2).getTime());
  assert.equal(parseExpiryTime("202401021530", local), new Date(2024, 0, 2, 15, 30).getTime());
  assert.equal(parseExpiryTime("20240702", local), new Date(2024, 6, 2).getTime());
  // No zone given: UTC (keys/ reads no host setting); a fixed offset shifts it.
  assert.equal(parseExpiryTime("202401021530"), Date.UTC(2024, 0, 2, 15, 30));
  assert.equal(parseExpiryTime("202401021530", 120), Date.UTC(2024, 0, 2, 13, 30));
  assert.equal(
    parseAuthorizedKeyOptions('expiry-time="202401021530"', { timeZone: -300 }).expiryTime,
    Date.UTC(2024, 0, 2, 20, 30),
  );
  assert.equal(parseExpiryTime("20240102153045Z"), Date.UTC(2024, 0, 2, 15, 30, 45));
  for (const bad of ["2024010", "20240230", "20241301", "202401022460", "x"]) {
    assert.throws(() => parseExpiryTime(bad), /invalid expiry-time/, bad);
  }
  const o = parseAuthorizedKeyOptions('expiry-time="20300101Z",expiry-time="20250101Z"');
  assert.equal(o.expiryTime, Date.UTC(2025, 0, 1)); // the earliest wins
  assert.ok(isExpired(o, Date.UTC(2026, 0, 1)));
  assert.equal(isExpired(o, Date.UTC(2024, 0, 1)), false);
});

test("parseAuthorizedKeys() never throws on random and mutated input", () => {
  const r = seededRandom(fuzzSeed(8));
  const lines = TEXT.split("\n");
  for (let i = 0; i < fuzzRuns(1500); i++) {
    const chars = lines[r(1)[0]! % lines.length]!.split("");
    const x = r(4);
    for (let j = 0; j < 1 + (x[3]! % 3); j++) {
      if (chars.length) chars[(x[j]! * 7) % chars.length] = String.fromCharCode(x[j + 1]! % 128);
    }
    const text = chars.join("").slice(0, 40 + x[2]! * 4) + "\n" +
      Array.from(r(x[0]! % 32), (c) => String.fromCharCode(c)).join("");
    const ak = parseAuthorizedKeys(text);
    for (const e of ak.entries) permitsOpen(e.options, "h", 1);
  }
});

test("principals= splits at commas and trims nothing, as sshd's match_list", () => {
  const ca = generatePrivateKey("ed25519");
  const [entry] =
    parseAuthorizedKeys(`cert-authority,principals="x, ops,,y" ${line(ca)}\n`).entries;
  // " ops" is not "ops": sshd refuses a certificate for ops through this line.
  assert.deepEqual(entry!.options.principals, ["x", " ops", "y"]);
});
