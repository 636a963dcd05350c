import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { chooseModulus } from "./gex.ts";
import { BUILTIN_MODULI, parseModuli } from "./moduli.ts";
import { getKexMethod } from "./registry.ts";
import { runPair } from "./_test_pair.ts";

// Two lines from OpenSSH's shipped moduli file (openssh-portable "moduli", BSD licence):
// one 2048-bit group with generator 2 and one 3072-bit group with generator 5.
const OPENSSH_LINES = [
  "# Time Type Tests Tries Size Generator Modulus",
  "20260511084302 2 6 100 2047 2 F3718C7E134C24BBF03E495C9444A0FA6DE2857B04C171505D403D0460B8FD8B5E823CD34E86B69AA9FAF4A7AD4E8908B4C9BC28228EAD8090146109B725B2B654BAF07CC710F8BD20849702B463BF8DB5DF64CBA1FFA5C72A30F5C8D7238705EDEA172214EA5AF93A183E718FD2F0CC51CC535F0C77A08F9941E372376668C0C95DE4C15A44C713979D343B5110EE7669A862A6F2ACAF09D8B38381DBF844981642A352D8C38C74E8F3C67382E0839EF8D0681BC6B2FB253DCB723F7299D0E82D5AFC36FC89E1DDD047361468BDAFE772DC2A6910C4C88F20A084CD26F16A6351B9717EE500321EA0A6D97B09B122CFBAF6A03F39F6270232BA2052E851DEBB",
  "20260511084413 2 6 100 3071 5 EAD24B3A27A7280F23BA2C6EC870EBEBBD35ECBB9B814963A39B0B7CBBD6F2518012A172FA259530B66662E47C0A4F8B6546EF81A96BC80F6EEDC840D983BB27168A08996281B19296CE154E0001FCDEE2F697CC4B26B948BF011DEA684D7F720728AAF16E9398C012B39FF52C01D3F97EF7CAE04A0EAFE6B724125793398FBD9A8DC0A05608A6D1F12A4295E8849B6D9F1870535B65FE9B9C4B063CCD6348DE4937084870EF5C4BBA33D4972CB80FE1216DDB495CC73F03C4B64B9C4A6733E008F8648F8E1EF0A99E9DBBA877F1C3686ED0016BBF0D4A4981C49C7AC2B9744DF6C46E8FE431402C0C8FC1280DDD2F7B65B475BA6F6C262024CC8D21C69D9D664013A75EFD73E0D80C1945D531568BB7FA5FBA24CB45B8E7137AA70812D39D9A446A2F0F65524A518032373721F12059748ECAF566C972A02DD4B035F4B5E20B0522C908DFA30D2BD5115D56C08DB61E705303235267A5BFF5B24A6763E1B5763EA9E896AFB27CBA0736AF3BFDFD56D39C697A5D3F362AD2689F3B1B05396A17",
].join("\n");

function line(
  size: number,
  p: bigint,
  opts: { type?: number; tests?: number; tries?: number } = {},
): string {
  return `20250101000000 ${opts.type ?? 2} ${opts.tests ?? 6} ${opts.tries ?? 100} ${size} 2 ${
    p.toString(16).toUpperCase()
  }`;
}

test("parseModuli() reads OpenSSH moduli lines (size is bits - 1, hex generator and modulus)", () => {
  const text = OPENSSH_LINES + "\n\n" +
    BUILTIN_MODULI.map((m) => line(m.bits - 1, m.p)).join("\n") + "\n";
  const parsed = parseModuli(text);
  assert.equal(parsed.length, 7);
  assert.deepEqual(parsed.slice(0, 2).map((m) => [m.bits, m.g]), [[2048, 2n], [3072, 5n]]);
  assert.deepEqual(parsed.slice(2), BUILTIN_MODULI.map((m) => ({ bits: m.bits, p: m.p, g: m.g })));
});

test("parseModuli() skips untrusted or inconsistent lines and says why", () => {
  const p = BUILTIN_MODULI[0]!.p;
  const skipped: [number, string][] = [];
  const text = [
    line(2047, p, { type: 1 }), // not a safe prime
    line(2047, p, { tests: 0x01 | 0x04 }), // marked composite
    line(2047, p, { tests: 0 }), // untested
    line(2047, p, { tries: 0 }),
    line(2048, p), // wrong stated size
    "20250101000000 2 6 100 2047 2", // truncated
    "20250101000000 2 6 100 2047 1 " + p.toString(16), // generator 1
    "20250101000000 2 6 100 2047 2 XYZ",
    line(2047, p), // the one good line
  ].join("\r\n");
  const parsed = parseModuli(text, (n, reason) => skipped.push([n, reason]));
  assert.equal(parsed.length, 1);
  assert.deepEqual(skipped.map(([n]) => n), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const [, reason] of skipped) assert.ok(reason.length > 0);
});

test("chooseModulus() picks the smallest group >= n, else the largest below, within [min, max]", () => {
  const rnd = seededRandom(1);
  const bitsOf = (min: number, n: number, max: number) =>
    chooseModulus(BUILTIN_MODULI, min, n, max, rnd)?.bits;
  assert.equal(bitsOf(2048, 2048, 8192), 2048);
  assert.equal(bitsOf(2048, 3000, 8192), 3072);
  assert.equal(bitsOf(2048, 7680, 8192), 8192);
  assert.equal(bitsOf(2048, 8192, 4096), 4096);
  assert.equal(bitsOf(5000, 5000, 5000), undefined);
  // Random choice among equal sizes.
  const twins = [{ bits: 2048, p: 1n, g: 2n }, { bits: 2048, p: 3n, g: 2n }];
  const seen = new Set<bigint>();
  for (let i = 0; i < 40; i++) seen.add(chooseModulus(twins, 2048, 2048, 8192, rnd)!.p);
  assert.equal(seen.size, 2);
});

test("group exchange runs end to end with a group from OpenSSH's moduli file (generator 5)", () => {
  const [, g5] = parseModuli(OPENSSH_LINES);
  const { client, server, serverSent } = runPair(
    getKexMethod("diffie-hellman-group-exchange-sha256")!,
    {
      moduli: [g5!],
    },
  );
  assert.deepEqual(client.exchangeHash, server.exchangeHash);
  assert.equal(serverSent[0]![serverSent[0]!.length - 1], 5);
});
