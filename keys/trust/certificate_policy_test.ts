import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAuthorizedKeyOptions, parseAuthorizedKeys } from "./authorized_keys.ts";
import {
  createCertificate,
  generateHostCertificate,
  generateUserCertificate,
} from "../certificates/certificate.ts";
import {
  applyCertificateLimits,
  checkAuthorizedKey,
  checkHostCertificate,
  checkUserCertificate,
  parseKeyOrCertificate,
  userCertificateLimits,
} from "./certificate_policy.ts";
import {
  type AuthorizedPrincipalEntry,
  parseAuthorizedPrincipals,
} from "./authorized_principals.ts";
import { generatePrivateKey } from "../generate.ts";
import { SSHKey } from "../ssh_key.ts";

const ca = generatePrivateKey("ed25519");
const otherCa = generatePrivateKey("ecdsa");
const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ecdsa");
const now = Date.UTC(2025, 0, 1);
const sec = (ms: number) => Math.floor(ms / 1000);

test("checkHostCertificate() accepts a CA-signed host certificate naming the host", () => {
  const cert = generateHostCertificate(ca, hostKey, "web", {
    principals: ["web.example.com", "*.internal"],
  });
  const ok = (host: string) => checkHostCertificate(cert, { host, trustedCAs: [ca], now }).valid;
  assert.ok(ok("web.example.com"));
  assert.ok(ok("WEB.example.com"));
  assert.ok(ok("db.internal"));
  assert.ok(!ok("other.example.com"));
});

test("checkHostCertificate() refuses untrusted, revoked, expired and user certificates", () => {
  const cert = generateHostCertificate(ca, hostKey, "web", {
    principals: ["h"],
    validAfter: sec(now - 1000_000),
    validBefore: sec(now + 1000_000),
  });
  const check = (o: Partial<Parameters<typeof checkHostCertificate>[1]>) =>
    checkHostCertificate(cert, { host: "h", trustedCAs: [ca], now, ...o });
  assert.equal(check({}).valid, true);
  assert.match((check({ trustedCAs: [otherCa] }) as { reason: string }).reason, /untrusted CA/);
  assert.match((check({ revokedKeys: [ca.publicKey()] }) as { reason: string }).reason, /revoked/);
  assert.match((check({ revokedKeys: [hostKey] }) as { reason: string }).reason, /revoked/);
  assert.match((check({ now: now + 2000_000_000 }) as { reason: string }).reason, /expired/);
  assert.match((check({ now: now - 2000_000_000 }) as { reason: string }).reason, /not yet/);
  const user = generateUserCertificate(ca, hostKey, "u", { principals: ["h"] });
  assert.equal(checkHostCertificate(user, { host: "h", trustedCAs: [ca], now }).valid, false);
  const noPrincipals = generateHostCertificate(ca, hostKey, "any");
  assert.equal(
    checkHostCertificate(noPrincipals, { host: "h", trustedCAs: [ca], now }).valid,
    false,
  );
  const critical = createCertificate({
    key: hostKey,
    caKey: ca,
    type: "host",
    keyId: "x",
    principals: ["h"],
    criticalOptions: { "force-command": "ls" },
  });
  assert.equal(checkHostCertificate(critical, { host: "h", trustedCAs: [ca], now }).valid, false);
});

test("checkUserCertificate() returns the principal, forced command and permissions", () => {
  const cert = generateUserCertificate(ca, userKey, "alice@laptop", {
    principals: ["alice", "ops"],
    forceCommand: "uptime",
    sourceAddress: ["10.0.0.0/8", "192.0.2.1"],
    permitPty: false,
  });
  const r = checkUserCertificate(cert, {
    username: "alice",
    trustedCAs: [ca],
    clientAddress: "10.1.2.3",
    now,
  });
  assert.ok(r.valid);
  assert.equal(r.principal, "alice");
  assert.equal(r.forceCommand, "uptime");
  assert.equal(r.sourceAddress, "10.0.0.0/8,192.0.2.1");
  assert.deepEqual(r.permissions, {
    pty: false,
    agentForwarding: true,
    portForwarding: true,
    x11Forwarding: true,
    userRc: true,
  });
  const base = { trustedCAs: [ca], clientAddress: "10.1.2.3", now };
  assert.equal(checkUserCertificate(cert, { ...base, username: "bob" }).valid, false);
  assert.equal(
    checkUserCertificate(cert, { ...base, username: "bob", principals: ["ops"] }).valid,
    true,
  );
  assert.equal(
    checkUserCertificate(cert, { ...base, username: "alice", clientAddress: "192.0.2.2" }).valid,
    false,
  );
  assert.equal(
    checkUserCertificate(cert, { ...base, username: "alice", revokedKeys: [userKey] }).valid,
    false,
  );
  const host = generateHostCertificate(ca, userKey, "h", { principals: ["alice"] });
  assert.equal(checkUserCertificate(host, { ...base, username: "alice" }).valid, false);
  const none = generateUserCertificate(ca, userKey, "nobody");
  assert.match(
    (checkUserCertificate(none, { ...base, username: "alice" }) as { reason: string }).reason,
    /no principals/,
  );
});

test("checkAuthorizedKey() accepts plain keys on plain lines only", () => {
  const ak = parseAuthorizedKeys(
    `no-pty,command="backup" ${userKey.exportPublicKey()}cert-authority ${ca.exportPublicKey()}`,
  );
  const client = { host: "10.0.0.1", addr: "10.0.0.1", now };
  const r = checkAuthorizedKey(userKey.publicBlob, { username: "u", authorizedKeys: ak, client });
  assert.ok(r.accepted);
  assert.equal(r.forceCommand, "backup");
  assert.equal(r.permissions.pty, false);
  // The CA key itself is not a login key.
  assert.equal(
    checkAuthorizedKey(ca.publicBlob, { username: "u", authorizedKeys: ak, client }).accepted,
    false,
  );
  assert.equal(
    checkAuthorizedKey(new Uint8Array([0, 0, 0, 9, 1]), {
      username: "u",
      authorizedKeys: ak,
      client,
    })
      .accepted,
    false,
  );
});

test("checkAuthorizedKey() refuses a plain key on a line with principals=, saying why", () => {
  const client = { host: "10.0.0.1", addr: "10.0.0.1", now };
  const ak = parseAuthorizedKeys(`principals="u" ${userKey.exportPublicKey()}`);
  const r = checkAuthorizedKey(userKey.publicBlob, { username: "u", authorizedKeys: ak, client });
  assert.deepEqual(r, { accepted: false, reason: "line 1: principals on non-CA key" });
});

test("checkAuthorizedKey() trusts certificates through cert-authority lines with principals", () => {
  const ak = parseAuthorizedKeys(
    `cert-authority,principals="ops,dba",from="10.*",command="ls" ${ca.exportPublicKey()}`,
  );
  const client = { host: "10.0.0.1", addr: "10.0.0.1", now };
  const ops = generateUserCertificate(ca, userKey, "k", { principals: ["ops"], permitPty: false });
  const r = checkAuthorizedKey(ops.blob, { username: "deploy", authorizedKeys: ak, client });
  assert.ok(r.accepted, r.accepted ? "" : r.reason);
  assert.equal(r.principal, "ops");
  assert.equal(r.forceCommand, "ls");
  assert.equal(r.permissions.pty, false);
  assert.ok(r.certificate?.key.equals(userKey));
  const far = { host: "192.0.2.1", addr: "192.0.2.1", now };
  assert.equal(
    checkAuthorizedKey(ops, { username: "deploy", authorizedKeys: ak, client: far }).accepted,
    false,
  );
  const deploy = generateUserCertificate(ca, userKey, "k", { principals: ["deploy"] });
  assert.equal(
    checkAuthorizedKey(deploy, { username: "deploy", authorizedKeys: ak, client }).accepted,
    false,
  );
  const clash = generateUserCertificate(ca, userKey, "k", {
    principals: ["ops"],
    forceCommand: "id",
  });
  const v = checkAuthorizedKey(clash, { username: "deploy", authorizedKeys: ak, client });
  assert.ok(!v.accepted && /force-command differs/.test(v.reason));
  // Without principals= the user name must be a principal.
  const plainCa = parseAuthorizedKeys(`cert-authority ${ca.exportPublicKey()}`);
  assert.ok(
    checkAuthorizedKey(deploy, { username: "deploy", authorizedKeys: plainCa, client }).accepted,
  );
  assert.ok(
    !checkAuthorizedKey(ops, { username: "deploy", authorizedKeys: plainCa, client }).accepted,
  );
  // A certificate is not accepted through a plain line for its key.
  const keyLine = parseAuthorizedKeys(userKey.exportPublicKey());
  assert.ok(
    !checkAuthorizedKey(deploy, { username: "deploy", authorizedKeys: keyLine, client }).accepted,
  );
});

test("checkAuthorizedKey() trusts certificates through trustedUserCAKeys and authorized principals", () => {
  const client = { host: "h", addr: "192.0.2.5", now };
  const cert = generateUserCertificate(ca, userKey, "k", { principals: ["alice", "root-ops"] });
  const ok = (o: Partial<Parameters<typeof checkAuthorizedKey>[1]>) =>
    checkAuthorizedKey(cert, { username: "alice", client, trustedUserCAKeys: [ca], ...o }).accepted;
  assert.ok(ok({}));
  assert.ok(!ok({ username: "bob" }));
  assert.ok(ok({ username: "bob", authorizedPrincipals: ["root-ops"] }));
  assert.ok(!ok({ trustedUserCAKeys: [otherCa] }));
  assert.ok(!ok({ revokedKeys: [ca.publicKey()] }));
});

test("checkAuthorizedKey() tries every cert-authority line of the CA in file order", () => {
  const pub = ca.exportPublicKey().trim();
  const ak = parseAuthorizedKeys([
    `cert-authority,principals="dba",command="psql" ${pub}`,
    `cert-authority,principals="ops",from="10.*",no-pty ${pub}`,
    `cert-authority,principals="ops",command="uptime" ${pub}`,
  ].join("\n"));
  const ops = generateUserCertificate(ca, userKey, "k", { principals: ["ops"] });
  const dba = generateUserCertificate(ca, userKey, "k", { principals: ["dba"] });
  const inside = { host: "10.1.1.1", addr: "10.1.1.1", now };
  const outside = { host: "192.0.2.1", addr: "192.0.2.1", now };
  const check = (cert: typeof ops, client: typeof inside) =>
    checkAuthorizedKey(cert, { username: "deploy", authorizedKeys: ak, client });
  // Line 1 names other principals; line 2 accepts from 10.*, with its options.
  const a = check(ops, inside);
  assert.ok(a.accepted && a.entry?.line === 2 && a.permissions.pty === false);
  assert.equal(a.accepted && a.forceCommand, undefined);
  // From elsewhere line 2 refuses and line 3 accepts, with its own command.
  const b = check(ops, outside);
  assert.ok(b.accepted && b.entry?.line === 3);
  assert.equal(b.accepted && b.forceCommand, "uptime");
  assert.equal(b.accepted && b.permissions.pty, true);
  // The first line still wins for its own principal.
  const c = check(dba, outside);
  assert.ok(c.accepted && c.entry?.line === 1 && c.forceCommand === "psql");
  // Nobody accepts: the reason is the last line's.
  const root = generateUserCertificate(ca, userKey, "k", { principals: ["root"] });
  const d = check(root, inside);
  assert.ok(!d.accepted);
  assert.match(d.reason, /^line 3: none of the certificate's principals/);
  // A line refusing on the forced command does not stop the next from accepting.
  const clash = generateUserCertificate(ca, userKey, "k", {
    principals: ["ops"],
    forceCommand: "uptime",
  });
  const e = check(clash, inside);
  assert.ok(e.accepted && e.entry?.line === 2 && e.forceCommand === "uptime");
  const twice = parseAuthorizedKeys([
    `cert-authority,command="ls" ${pub}`,
    `cert-authority,command="id" ${pub}`,
  ].join("\n"));
  const deploy = generateUserCertificate(ca, userKey, "k", {
    principals: ["deploy"],
    forceCommand: "date",
  });
  const f = checkAuthorizedKey(deploy, {
    username: "deploy",
    authorizedKeys: twice,
    client: inside,
  });
  assert.ok(!f.accepted && /^line 2: the certificate's force-command differs/.test(f.reason));
  // Another CA's lines are not tried.
  const other = parseAuthorizedKeys(`cert-authority ${otherCa.exportPublicKey()}`);
  const g = checkAuthorizedKey(deploy, {
    username: "deploy",
    authorizedKeys: other,
    client: inside,
  });
  assert.ok(!g.accepted && g.reason === "certificate authority is not trusted");
});

test("checkAuthorizedKey() refuses revoked keys and CAs before any line or CA vouches", () => {
  const pub = ca.exportPublicKey().trim();
  const ak = parseAuthorizedKeys(`${userKey.exportPublicKey().trim()}\ncert-authority ${pub}`);
  const client = { host: "h", addr: "192.0.2.5", now };
  const cert = generateUserCertificate(ca, userKey, "k", { principals: ["deploy"] });
  const check = (k: SSHKey | typeof cert, revokedKeys: readonly SSHKey[]) =>
    checkAuthorizedKey(k, {
      username: "deploy",
      authorizedKeys: ak,
      trustedUserCAKeys: [ca],
      client,
      revokedKeys,
    });
  assert.ok(check(userKey.publicKey(), []).accepted);
  assert.ok(check(cert, []).accepted);
  const r1 = check(userKey.publicKey(), [userKey.publicKey()]);
  assert.ok(!r1.accepted && r1.reason === "key is revoked");
  const r2 = check(cert, [userKey.publicKey()]);
  assert.ok(!r2.accepted && r2.reason === "user key is revoked");
  const r3 = check(cert, [ca.publicKey()]);
  assert.ok(!r3.accepted && r3.reason === "certificate authority key is revoked");
});

test("checkAuthorizedKey() applies the options of the authorized principals line", () => {
  const client = { host: "192.0.2.5", addr: "192.0.2.5", now };
  const principals = parseAuthorizedPrincipals(
    'from="10.*" ops\ncommand="uptime",no-pty ops\nbackup\n',
  ).entries;
  const check = (names: string[], c = client) =>
    checkAuthorizedKey(generateUserCertificate(ca, userKey, "k", { principals: names }), {
      username: "alice",
      client: c,
      trustedUserCAKeys: [ca],
      authorizedPrincipals: principals,
    });
  // The first line naming a principal applies, even when it then refuses (as sshd).
  const a = check(["ops"]);
  assert.ok(
    !a.accepted && /^authorized principals line 1: not from a permitted host/.test(a.reason),
  );
  const b = check(["ops"], { host: "10.0.0.1", addr: "10.0.0.1", now });
  assert.ok(b.accepted && b.principalEntry?.line === 1 && b.forceCommand === undefined);
  const c = check(["backup"]);
  assert.ok(c.accepted && c.principal === "backup" && c.permissions.pty);
  assert.ok(!check(["alice"]).accepted);
  const d = checkAuthorizedKey(generateUserCertificate(ca, userKey, "k", { principals: ["ops"] }), {
    username: "alice",
    client,
    trustedUserCAKeys: [ca],
    authorizedPrincipals: parseAuthorizedPrincipals('command="uptime",no-pty ops').entries,
  });
  assert.ok(d.accepted && d.forceCommand === "uptime" && !d.permissions.pty);
});

test("parseAuthorizedPrincipals() skips lines with bad options, saying why", () => {
  const p = parseAuthorizedPrincipals(
    "\n# c\nalice\n  bob  \nno-pty,bogus carol\n" +
      'command="a b c" frank\nfrom="unterminated frank\n',
  );
  assert.deepEqual(p.entries.map((e) => [e.line, e.principal]), [[3, "alice"], [4, "bob"], [
    6,
    "frank",
  ]]);
  assert.equal(p.entries[2]!.options.command, "a b c");
  assert.deepEqual(p.errors.map((e) => e.line), [5, 7]);
  for (const e of p.errors) assert.match(e.reason, /^bad principals options: /);
  assert.equal(parseAuthorizedPrincipals("x".repeat(70_000)).errors[0]?.reason, "line too long");
});

test("parseAuthorizedPrincipals() ends a line at its first '#', as sshd", () => {
  const p = parseAuthorizedPrincipals("ops # the ops team\nno-pty backup\t# nightly\na#b\n  #\n");
  assert.deepEqual(p.entries.map((e) => [e.line, e.principal]), [[1, "ops"], [2, "backup"], [
    3,
    "a",
  ]]);
  assert.equal(p.entries[1]!.options.pty, false);
  assert.deepEqual(p.errors, []);
});

test("parseAuthorizedPrincipals() takes the principal after the last space, else the last tab", () => {
  // sshd (auth_check_principals_line): strrchr(' '), and only without a space strrchr('\t');
  // the options are read from the line's start to the first blank outside quotes.
  const p = parseAuthorizedPrincipals(
    'no-pty\tops\ncommand="echo x y"\tops\nno-pty extra ops\n\tno-pty \t carol\n',
  );
  assert.deepEqual(p.entries.map((e) => [e.line, e.principal, e.options.pty]), [
    [1, "ops", false],
    [2, 'y"\tops', true],
    [3, "ops", false],
    [4, "carol", false],
  ]);
  assert.equal(p.entries[1]!.options.command, "echo x y");
});

test("checkAuthorizedKey() refuses a cert-authority or principals= principals line it matches first", () => {
  const cert = generateUserCertificate(ca, userKey, "k", { principals: ["ops"] });
  const check = (text: string) =>
    checkAuthorizedKey(cert, {
      username: "alice",
      client: { host: "192.0.2.5", addr: "192.0.2.5", now },
      trustedUserCAKeys: [ca],
      authorizedPrincipals: parseAuthorizedPrincipals(text).entries,
    });
  // sshd parses the line, takes it as the first to name "ops", then refuses: line 2 never counts.
  const a = check("cert-authority ops\nops\n");
  assert.ok(!a.accepted && /line 1: cert-authority flag invalid here/.test(a.reason));
  const b = check('principals="ops" ops\nops\n');
  assert.ok(!b.accepted && /line 1: principals on non-CA key/.test(b.reason));
  assert.ok(check("cert-authority backup\nops\n").accepted);
});

test("checkUserCertificate() reads source-address as addresses and CIDR ranges only, as sshd", () => {
  const at = (sourceAddress: string, clientAddress = "10.1.2.3") => {
    const cert = createCertificate({
      key: userKey,
      caKey: ca,
      type: "user",
      keyId: "k",
      principals: ["alice"],
      criticalOptions: { "source-address": sourceAddress },
    });
    const r = checkUserCertificate(cert, {
      username: "alice",
      trustedCAs: [ca],
      clientAddress,
      now,
    });
    const v = applyCertificateLimits(cert, { clientAddress });
    assert.equal(v.accepted, r.valid, sourceAddress);
    return r.valid;
  };
  assert.ok(at("10.0.0.0/8"));
  assert.ok(at("192.0.2.1,10.1.2.3"));
  assert.ok(at("10.1.2.3/32,::1/128"));
  assert.ok(!at("192.0.2.0/24"));
  // sshd's addr_match_cidr_list refuses each of these lists outright (a from= list would not).
  for (const list of ["10.1.2.*", "*", "!192.0.2.1,10.0.0.0/8", "10.0.0.0/8, 192.0.2.1"]) {
    assert.ok(!at(list), list);
  }
  for (const list of [" 10.1.2.3", "10.1.2.3,bogus", "ci.example.com", "10.1.2.3,", "10.0.0.1/8"]) {
    assert.ok(!at(list), list);
  }
});

test("checkUserCertificate() reports what a FIDO key's signatures must attest", () => {
  const check = (cert: Parameters<typeof checkUserCertificate>[0]) => {
    const r = checkUserCertificate(cert, { username: "alice", trustedCAs: [ca], now });
    assert.ok(r.valid, r.valid ? "" : r.reason);
    return [r.touchRequired, r.verifyRequired];
  };
  const plain = generateUserCertificate(ca, userKey, "k", { principals: ["alice"] });
  assert.deepEqual(check(plain), [true, false]);
  const noTouch = generateUserCertificate(ca, userKey, "k", {
    principals: ["alice"],
    touchRequired: false,
  });
  assert.deepEqual(check(noTouch), [false, false]);
  const verify = createCertificate({
    key: userKey,
    caKey: ca,
    type: "user",
    keyId: "k",
    principals: ["alice"],
    criticalOptions: { "verify-required": "" },
    extensions: { "no-touch-required": "" },
  });
  assert.deepEqual(check(verify), [false, true]);
  assert.deepEqual(userCertificateLimits(verify.blob).permissions.pty, false);
});

test("checkAuthorizedKey() merges the FIDO requirements of line and certificate as sshd", () => {
  const client = { host: "10.0.0.1", addr: "10.0.0.1", now };
  const requirements = (options: string, subject: Parameters<typeof checkAuthorizedKey>[0]) => {
    const line = `${options ? options + " " : ""}${
      subject instanceof Uint8Array ? userKey.exportPublicKey() : ca.exportPublicKey()
    }`;
    const v = checkAuthorizedKey(subject, {
      username: "alice",
      authorizedKeys: parseAuthorizedKeys(line),
      client,
    });
    assert.ok(v.accepted, v.accepted ? "" : v.reason);
    return [v.touchRequired, v.verifyRequired];
  };
  // A plain key: its line says.
  assert.deepEqual(requirements("", userKey.publicBlob), [true, false]);
  assert.deepEqual(requirements("no-touch-required", userKey.publicBlob), [false, false]);
  assert.deepEqual(requirements("verify-required", userKey.publicBlob), [true, true]);
  // A certificate through a cert-authority line: touch is waived only by both, verify asked by either.
  const cert = (touchRequired: boolean, verify: boolean) =>
    createCertificate({
      key: userKey,
      caKey: ca,
      type: "user",
      keyId: "k",
      principals: ["alice"],
      criticalOptions: verify ? { "verify-required": "" } : {},
      extensions: touchRequired ? {} : { "no-touch-required": "" },
    });
  assert.deepEqual(requirements("cert-authority", cert(true, false)), [true, false]);
  assert.deepEqual(requirements("cert-authority", cert(false, false)), [true, false]);
  assert.deepEqual(requirements("cert-authority,no-touch-required", cert(true, false)), [
    true,
    false,
  ]);
  assert.deepEqual(requirements("cert-authority,no-touch-required", cert(false, false)), [
    false,
    false,
  ]);
  assert.deepEqual(requirements("cert-authority", cert(true, true)), [true, true]);
  assert.deepEqual(requirements("cert-authority,verify-required", cert(true, false)), [
    true,
    true,
  ]);
  // Through trustedUserCAKeys the certificate alone says.
  const v = checkAuthorizedKey(cert(false, true), {
    username: "alice",
    client,
    trustedUserCAKeys: [ca],
  });
  assert.ok(v.accepted);
  assert.deepEqual([v.touchRequired, v.verifyRequired], [false, true]);
  // Through authorizedPrincipals, the principals line (options or none) is merged as sshd merges
  // it: a plain name (an AuthorizedPrincipalsCommand's output) is a line that keeps touch required.
  const viaPrincipals = (principals: readonly (string | AuthorizedPrincipalEntry)[]) => {
    const w = checkAuthorizedKey(cert(false, false), {
      username: "deploy",
      client,
      trustedUserCAKeys: [ca],
      authorizedPrincipals: principals,
    });
    assert.ok(w.accepted, w.accepted ? "" : w.reason);
    return [w.touchRequired, w.verifyRequired];
  };
  assert.deepEqual(viaPrincipals(["alice"]), [true, false]);
  assert.deepEqual(viaPrincipals(parseAuthorizedPrincipals("alice\n").entries), [true, false]);
  assert.deepEqual(
    viaPrincipals(parseAuthorizedPrincipals("no-touch-required alice\n").entries),
    [false, false],
  );
});

test("applyCertificateLimits() holds a certificate trusted elsewhere to its own limits and the options", () => {
  const reason = (v: ReturnType<typeof applyCertificateLimits>) => v.accepted ? "" : v.reason;
  const cert = generateUserCertificate(ca, userKey, "k", {
    forceCommand: "backup",
    sourceAddress: "10.0.0.0/8",
    permitPty: false,
  });
  const v = applyCertificateLimits(cert, { clientAddress: "10.1.1.1" });
  assert.ok(v.accepted, reason(v));
  assert.equal(v.forceCommand, "backup");
  assert.deepEqual([v.permissions.pty, v.permissions.portForwarding], [false, true]);
  assert.deepEqual([v.touchRequired, v.verifyRequired], [true, false]);
  assert.match(reason(applyCertificateLimits(cert, { clientAddress: "192.0.2.1" })), /source/);
  // Merged with options as with a cert-authority line.
  const merged = applyCertificateLimits(cert, {
    clientAddress: "10.1.1.1",
    options: parseAuthorizedKeyOptions("no-port-forwarding,no-touch-required,verify-required"),
  });
  assert.ok(merged.accepted);
  assert.deepEqual(
    [merged.permissions.portForwarding, merged.touchRequired, merged.verifyRequired],
    [
      false,
      true,
      true,
    ],
  );
  const other = parseAuthorizedKeyOptions('command="rm -rf /"');
  assert.match(
    reason(applyCertificateLimits(cert, { clientAddress: "10.1.1.1", options: other })),
    /force-command differs/,
  );
  // What nobody can enforce, or what is no user certificate, is refused.
  const unknown = createCertificate({
    key: userKey,
    caKey: ca,
    type: "user",
    keyId: "k",
    criticalOptions: { "made-up@example.com": "" },
  });
  assert.match(reason(applyCertificateLimits(unknown)), /unknown critical option/);
  const host = generateHostCertificate(ca, userKey, "h", { principals: ["h"] });
  assert.match(reason(applyCertificateLimits(host)), /not a user certificate/);
  assert.match(reason(applyCertificateLimits(new Uint8Array([0, 0, 0, 1, 120]))), /unusable/);
});

test("applyCertificateLimits() refuses on the options' from= and expiry-time, as sshd on the line", () => {
  const reason = (v: ReturnType<typeof applyCertificateLimits>) => v.accepted ? "" : v.reason;
  const cert = generateUserCertificate(ca, userKey, "k", {});
  const options = parseAuthorizedKeyOptions('from="10.0.0.0/8",expiry-time="20300101Z"');
  const before = Date.UTC(2029, 11, 31), after = Date.UTC(2030, 0, 2);
  const at = (clientAddress: string | undefined, now: number | undefined) =>
    applyCertificateLimits(cert, {
      options,
      ...(clientAddress !== undefined ? { clientAddress } : {}),
      ...(now !== undefined ? { now } : {}),
    });
  assert.equal(reason(at("10.1.1.1", before)), "");
  assert.match(reason(at("192.0.2.1", before)), /not from a permitted host/);
  assert.match(reason(at("10.1.1.1", after)), /expired/);
  // A restriction with nothing to check it against refuses rather than being skipped.
  assert.match(reason(at(undefined, before)), /from= needs clientAddress/);
  assert.match(reason(at("10.1.1.1", undefined)), /expiry-time needs now/);
  // Without from= or expiry-time, neither is needed.
  assert.ok(
    applyCertificateLimits(cert, { options: parseAuthorizedKeyOptions("no-pty") }).accepted,
  );
});

test("parseKeyOrCertificate() tells keys from certificates", () => {
  const cert = generateUserCertificate(ca, userKey, "k", { principals: ["a"] });
  assert.ok(parseKeyOrCertificate(userKey.publicBlob) instanceof SSHKey);
  assert.equal(parseKeyOrCertificate(cert.blob).constructor.name, "SSHCertificate");
  assert.throws(() => parseKeyOrCertificate(new Uint8Array(2)));
});

test("parseAuthorizedPrincipals() splits the last word off in linear time, as before", () => {
  const r = parseAuthorizedPrincipals(
    'alice\n  bob\ncommand="x y" carol\n' + "x" + " ".repeat(60_000) + "y z\n",
  );
  assert.deepEqual(r.entries.map((e) => e.principal), ["alice", "bob", "carol"]);
  assert.equal(r.entries[2]!.options.command, "x y");
  // 60,000 blanks and then "y z": options "x   …y" do not parse (the scan itself is quick).
  assert.equal(r.errors.length, 1);
});
