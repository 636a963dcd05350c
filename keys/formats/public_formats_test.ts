import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyExportError, KeyImportError } from "../errors.ts";
import {
  formatOpenSSHPublicKeyLine,
  formatRfc4716,
  parseOpenSSHPublicKeyLine,
  parseRfc4716,
  RFC4716_MAX_HEADER_VALUE_BYTES,
} from "./public_formats.ts";
import { parseKnownHosts } from "../trust/known_hosts.ts";
import { parseAuthorizedKeys } from "../trust/authorized_keys.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGrnvNsrvW7rdYp0atkUHdf8p3eY4Z2MfCVYnQ3eBP2W";

test("parseOpenSSHPublicKeyLine() reads type, key and comment, blanks and trimming as before", () => {
  for (
    const [line, comment] of [
      [KEY, ""],
      [`  ${KEY}  `, ""],
      [`${KEY} me@host`, "me@host"],
      [`${KEY}\t \tsome comment with  spaces \t`, "some comment with  spaces"],
    ]
  ) {
    const p = parseOpenSSHPublicKeyLine(line!);
    assert.equal(p.type, "ssh-ed25519");
    assert.equal(p.comment, comment, JSON.stringify(line));
  }
  for (
    const bad of [
      "",
      "ssh-ed25519",
      "ssh-ed25519\nAAAA",
      `${KEY}\rmore`,
      `${KEY} a\u2028b`,
      `${KEY}!x`,
    ]
  ) {
    assert.throws(() => parseOpenSSHPublicKeyLine(bad), KeyImportError, JSON.stringify(bad));
  }
});

test("a line of blanks ending in a lone CR or U+2028 is refused in one pass (no backtracking)", () => {
  // With the old regular expression this took about n³ steps: 3,000 blanks 21 s, 60,000
  // (inside authorized_keys' 64 KiB line cap) days.
  const n = 60_000;
  for (const end of ["\rx", "\u2028x"]) {
    const line = `ssh-ed25519 AAAA${" ".repeat(n)}${end}`;
    assert.throws(() => parseOpenSSHPublicKeyLine(line), KeyImportError);
  }
  // The same through authorized_keys and known_hosts (which skip what they cannot read).
  const blanks = " ".repeat(n);
  assert.equal(parseAuthorizedKeys(`ssh-ed25519 AAAA${blanks}\rx\n${KEY}\n`).entries.length, 1);
  assert.equal(parseKnownHosts(`host${blanks}x\n`).entries.length, 0);
});

const rfc4716 = (...headerLines: string[]) =>
  ["---- BEGIN SSH2 PUBLIC KEY ----", ...headerLines, "AAAAAXg=", "---- END SSH2 PUBLIC KEY ----"]
    .join("\n");

test("parseRfc4716() joins continued headers and refuses a value over RFC4716_MAX_HEADER_VALUE_BYTES", () => {
  const joined = parseRfc4716(rfc4716('Comment: "a \\', "b\\c \\", 'd"', "x-tag: 1")).headers;
  assert.deepEqual([...joined], [["Comment", '"a b\\c d"'], ["x-tag", "1"]]);
  // The cap counts bytes of the joined value: 1024 of them pass, one more is refused.
  const max = RFC4716_MAX_HEADER_VALUE_BYTES;
  assert.equal(max, 1024);
  const wide = "é".repeat(max / 2 - 1); // two bytes each
  assert.equal(parseRfc4716(rfc4716(`x: ${wide}\\`, "ab")).headers.get("x"), wide + "ab");
  assert.throws(() => parseRfc4716(rfc4716(`x: ${wide}\\`, "abc")), /over 1024 bytes/);
  // 80,000 continuation lines (781 KiB): re-copying the value per line took 17 s; now it
  // is joined once and refused by the cap (it used to be accepted).
  const many = rfc4716("Comment: x\\", ...Array<string>(80_000).fill("xxxxxxxx\\"), "end");
  assert.throws(
    () => parseRfc4716(many),
    (e) => e instanceof KeyImportError && /over 1024/.test(e.message),
  );
});

test("formatRfc4716() refuses a comment its parser would refuse and round-trips the longest", () => {
  const blob = new Uint8Array([0, 0, 0, 1, 120]);
  const longest = "c".repeat(RFC4716_MAX_HEADER_VALUE_BYTES - 2); // plus the quotes
  assert.equal(parseRfc4716(formatRfc4716(blob, longest)).comment, longest);
  assert.throws(() => formatRfc4716(blob, longest + "c"), KeyExportError);
});

test("formatOpenSSHPublicKeyLine() and formatRfc4716() refuse a comment with a line break", () => {
  // Written out, "a\nb" ended the key's line: ssh-keygen read the comment "a", an
  // authorized_keys file gained the stray line "b", and the RFC 4716 block read as
  // nothing (its body started at the header's second line).
  const blob = new Uint8Array([0, 0, 0, 1, 120]);
  for (const comment of ["a\nb", "a\r\nb", "a\rb", "a\u2028b", "a\u2029b", "end\n"]) {
    assert.throws(() => formatOpenSSHPublicKeyLine(blob, comment), KeyExportError);
    assert.throws(() => formatRfc4716(blob, comment), KeyExportError);
  }
  assert.equal(formatOpenSSHPublicKeyLine(blob, "a\tb c"), "x AAAAAXg= a\tb c\n");
});

test("formatRfc4716() never cuts a long comment inside a surrogate pair", () => {
  // The 70-byte cut fell between the halves of the 15th emoji: each half went out as
  // U+FFFD, so the comment read back from a file was not the one written.
  const blob = new Uint8Array([0, 0, 0, 1, 120]);
  for (const prefix of ["", "a", "ab", "abc"]) {
    const comment = prefix + "😀".repeat(40);
    const text = formatRfc4716(blob, comment);
    const fromFile = new TextDecoder().decode(new TextEncoder().encode(text));
    assert.equal(parseRfc4716(fromFile).comment, comment, prefix);
    for (const line of text.split("\n")) {
      assert.ok(new TextEncoder().encode(line).length <= 72, line);
    }
  }
});
