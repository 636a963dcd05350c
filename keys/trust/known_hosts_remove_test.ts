import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addKnownHost,
  formatKnownHostsLine,
  parseKnownHosts,
  removeKnownHost,
} from "./known_hosts.ts";
import { generatePrivateKey } from "../generate.ts";
import { keygenTest } from "../_ssh_keygen_test_util.ts";

const a = generatePrivateKey("ed25519"), b = generatePrivateKey("ecdsa");

function sample(): string {
  let t = "# known hosts\n";
  t = addKnownHost(t, ["web.example", "192.0.2.1"], 22, a);
  t = addKnownHost(t, "web.example", 22, b, { hashed: true });
  t = addKnownHost(t, "web.example", 2222, a);
  t = addKnownHost(t, "*.example", 22, b);
  t = addKnownHost(t, "db.example", 22, a);
  t = addKnownHost(t, "web.example", 22, a, { marker: "cert-authority" });
  return t + "not a valid line\n";
}

test("removeKnownHost() removes plain, hashed and wildcard lines for the host on its port", () => {
  const out = removeKnownHost(sample(), "web.example");
  const kept = parseKnownHosts(out).entries;
  assert.deepEqual(kept.map((e) => e.patterns), [["[web.example]:2222"], ["db.example"], [
    "web.example",
  ]]);
  assert.equal(kept[2]!.marker, "cert-authority");
  assert.ok(out.startsWith("# known hosts\n") && out.endsWith("not a valid line\n"));
});

test("removeKnownHost() with key removes only that key's lines; markers removes CA lines", () => {
  const onlyB = parseKnownHosts(removeKnownHost(sample(), "web.example", 22, { key: b })).entries;
  assert.equal(onlyB.length, 4); // the hashed and the wildcard lines (key b) are gone
  assert.ok(onlyB.every((e) => !e.key.equals(b)));
  const all = parseKnownHosts(removeKnownHost(sample(), "web.example", 22, { markers: true }));
  assert.ok(all.entries.every((e) => e.marker === undefined));
  assert.equal(removeKnownHost("", "x"), "");
});

keygenTest("removeKnownHost() leaves what ssh-keygen -R leaves", (k) => {
  const text = sample().replace("not a valid line\n", "");
  for (
    const [host, port] of [["web.example", 22], ["web.example", 2222], ["192.0.2.1", 22], [
      "other.example",
      22,
    ]] as const
  ) {
    k.write("known_hosts", text);
    const target = port === 22 ? host : `[${host}]:${port}`;
    k.tryRun(["-R", target, "-f", k.path("known_hosts")]);
    const theirs = parseKnownHosts(k.read("known_hosts")).entries.map((e) =>
      formatKnownHostsLine(e.patterns ?? ["hashed"], 22, e.key) + (e.marker ?? "")
    );
    const ours = parseKnownHosts(removeKnownHost(text, host, port)).entries.map((e) =>
      formatKnownHostsLine(e.patterns ?? ["hashed"], 22, e.key) + (e.marker ?? "")
    );
    assert.deepEqual(ours, theirs, target);
  }
});
