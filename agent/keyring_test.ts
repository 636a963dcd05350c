import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../core/random.ts";
import { SSHReader, SSHWriter } from "../core/wire.ts";
import { createCertificate } from "../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import type { DestinationConstraint } from "./constraints.ts";
import { decodeQueryReply, encodeSessionBind } from "./extensions.ts";
import { AgentConnectionState, AgentKeyring, type ConfirmRequest } from "./keyring.ts";
import type { AgentReply } from "./messages.ts";
import { AGENT_MAX_FRAME } from "./protocol.ts";
import { AgentServerConnection } from "./server.ts";

const rnd = seededRandom(31);
const userKey = generatePrivateKey("ed25519", { random: rnd, comment: "user" });
const hostA = generatePrivateKey("ed25519", { random: rnd });
const hostB = generatePrivateKey("ecdsa", { random: rnd });
const hostCA = generatePrivateKey("ed25519", { random: rnd });
const rsa = generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(8) });
const data = new TextEncoder().encode("to sign");

function sigAlg(sig: Uint8Array): string {
  return new SSHReader(sig).readStringAscii();
}

async function ask(
  ring: AgentKeyring,
  state: AgentConnectionState,
  req: Parameters<AgentKeyring["handleRequest"]>[0],
) {
  return await ring.handleRequest(req, state);
}

function bindRequest(
  host: SSHKey,
  sid: Uint8Array,
  forwarding: boolean,
  hostBlob = host.publicBlob,
) {
  return {
    type: "extension" as const,
    name: "session-bind@openssh.com",
    contents: encodeSessionBind({
      hostKeyBlob: hostBlob,
      sessionId: sid,
      signature: host.sign(sid),
      isForwarding: forwarding,
    }),
  };
}

/** The data a client signs for publickey(-hostbound) authentication. */
function userauth(sid: Uint8Array, user: string, key: SSHKey, hostKeyBlob?: Uint8Array) {
  const w = new SSHWriter().writeString(sid).writeByte(50).writeStringUtf8(user)
    .writeStringUtf8("ssh-connection")
    .writeStringUtf8(hostKeyBlob ? "publickey-hostbound-v00@openssh.com" : "publickey")
    .writeBoolean(true).writeStringUtf8(key.getAlgorithm()).writeString(key.publicBlob);
  if (hostKeyBlob) w.writeString(hostKeyBlob);
  return w.toBytes();
}

const ORIGIN = { username: "", hostname: "", hostKeys: [] };
const toA: DestinationConstraint = {
  from: ORIGIN,
  to: { username: "", hostname: "a", hostKeys: [{ keyBlob: hostA.publicBlob, isCA: false }] },
};

test("AgentKeyring forgets a key when its lifetime ends (injected clock)", async () => {
  let now = 1_000_000;
  const ring = new AgentKeyring({ now: () => now });
  ring.add(userKey, { lifetime: 10 });
  assert.equal(ring.list()[0]?.expiresAt, 1_010_000);
  now += 9_999;
  assert.equal(ring.list().length, 1);
  await ring.sign(userKey.publicBlob, data);
  now += 1;
  assert.equal(ring.list().length, 0);
  await assert.rejects(ring.sign(userKey.publicBlob, data), /refused/);
});

test("AgentKeyring counts a lifetime on the monotonic clock: setting the wall clock back does not lengthen it", () => {
  const realDateNow = Date.now;
  let wall = 1_800_000_000_000;
  let mono = 1_000;
  Date.now = () => wall;
  const perf = Object.getOwnPropertyDescriptor(performance, "now");
  Object.defineProperty(performance, "now", {
    value: () => mono,
    configurable: true,
    writable: true,
  });
  try {
    const ring = new AgentKeyring();
    ring.add(userKey, { lifetime: 10 });
    assert.equal(ring.list()[0]?.expiresAt, wall + 10_000, "said as a wall-clock time");
    wall -= 3_600_000; // the clock set back an hour
    mono += 9_999;
    assert.equal(ring.list().length, 1);
    mono += 1;
    assert.equal(ring.list().length, 0, "gone after its ten seconds, whatever the wall clock says");
  } finally {
    Date.now = realDateNow;
    if (perf) Object.defineProperty(performance, "now", perf);
    else delete (performance as { now?: unknown }).now;
  }
});

test("AgentKeyring asks the confirm hook before each signature and refuses without one", async () => {
  const asked: ConfirmRequest[] = [];
  let answer = false;
  const ring = new AgentKeyring({ confirm: (r) => (asked.push(r), answer) });
  ring.add(userKey, { confirm: true, comment: "laptop" });
  await assert.rejects(ring.sign(userKey.publicBlob, data));
  answer = true;
  const sig = await ring.sign(userKey.publicBlob, data);
  assert.ok(userKey.verify(data, sig));
  assert.equal(asked.length, 2);
  assert.equal(asked[0]!.comment, "laptop");
  assert.equal(asked[0]!.fingerprint, userKey.getFingerprint());
  const silent = new AgentKeyring();
  silent.add(userKey, { confirm: true });
  await assert.rejects(silent.sign(userKey.publicBlob, data));
});

test("AgentKeyring refuses a signature when the key is removed while confirm is pending", async () => {
  let release!: (v: boolean) => void;
  const ring = new AgentKeyring({ confirm: () => new Promise<boolean>((r) => (release = r)) });
  ring.add(userKey, { confirm: true });
  const p = ring.sign(userKey.publicBlob, data);
  await new Promise((r) => setTimeout(r, 0));
  ring.removeAll();
  release(true);
  await assert.rejects(p);
});

test("AgentKeyring refuses a signature when the agent is locked while confirm is pending", async () => {
  let release!: (v: boolean) => void;
  const ring = new AgentKeyring({ confirm: () => new Promise<boolean>((r) => (release = r)) });
  ring.add(userKey, { confirm: true });
  const p = ring.sign(userKey.publicBlob, data);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(ring.lock("pw"), true);
  release(true); // the user said yes to a prompt shown before the lock
  await assert.rejects(p);
  assert.equal(ring.unlock("pw"), true);
  const again = ring.sign(userKey.publicBlob, data);
  await new Promise((r) => setTimeout(r, 0));
  release(true);
  assert.ok(userKey.verify(data, await again));
});

test("AgentKeyring signs RSA with the hash the flags ask for", async () => {
  const ring = new AgentKeyring();
  ring.add(rsa);
  assert.equal(sigAlg(await ring.sign(rsa.publicBlob, data, 2)), "rsa-sha2-256");
  assert.equal(sigAlg(await ring.sign(rsa.publicBlob, data, 4)), "rsa-sha2-512");
  assert.equal(sigAlg(await ring.sign(rsa.publicBlob, data, 0)), "ssh-rsa");
});

test("AgentKeyring holds a certificate and its plain key as two identities", async () => {
  const cert = createCertificate({
    key: userKey,
    caKey: hostCA,
    type: "user",
    keyId: "u",
    principals: ["u"],
    random: rnd,
  });
  const ring = new AgentKeyring();
  ring.add(userKey);
  ring.add(new SSHKeyPair(userKey, cert), { comment: "cert" });
  const listed = ring.list();
  assert.deepEqual(listed.map((k) => k.comment), ["user", "cert"]);
  assert.deepEqual(listed[1]!.keyBlob, cert.blob);
  assert.ok(userKey.verify(data, await ring.sign(cert.blob, data)));
  assert.ok(ring.remove(cert));
  assert.equal(ring.list().length, 1);
});

test("a locked AgentKeyring lists nothing, refuses everything but unlock, and delays bad unlocks", async () => {
  const delays: number[] = [];
  const ring = new AgentKeyring({
    random: seededRandom(1),
    delay: (ms) => Promise.resolve(void delays.push(ms)),
  });
  ring.add(userKey);
  const s = new AgentConnectionState();
  const pw = new TextEncoder().encode("pw");
  assert.deepEqual(await ask(ring, s, { type: "lock", passphrase: new Uint8Array(0) }), {
    type: "failure",
    code: 5,
  });
  assert.equal((await ask(ring, s, { type: "lock", passphrase: pw })).type, "success");
  assert.equal((await ask(ring, s, { type: "lock", passphrase: pw })).type, "failure");
  assert.deepEqual(await ask(ring, s, { type: "requestIdentities" }), {
    type: "identities",
    identities: [],
  });
  const sign = await ask(ring, s, { type: "sign", keyBlob: userKey.publicBlob, data, flags: 0 });
  assert.equal(sign.type, "failure");
  assert.equal((await ask(ring, s, { type: "removeAllIdentities" })).type, "failure");
  assert.equal(
    (await ask(ring, s, { type: "extension", name: "query", contents: new Uint8Array(0) })).type,
    "failure",
  );
  const wrong = new TextEncoder().encode("nope");
  assert.equal((await ask(ring, s, { type: "unlock", passphrase: wrong })).type, "failure");
  assert.equal((await ask(ring, s, { type: "unlock", passphrase: wrong })).type, "failure");
  assert.deepEqual(delays, [100, 200]);
  assert.equal((await ask(ring, s, { type: "unlock", passphrase: pw })).type, "success");
  assert.equal(ring.list().length, 1);
  assert.equal((await ask(ring, s, { type: "unlock", passphrase: pw })).type, "failure");
});

test("query lists the agent's extensions; a custom extension answers through its handler", async () => {
  const ring = new AgentKeyring({
    extensions: {
      "echo@example.com": (c) => c,
      "ok@example.com": () => true,
      "no@example.com": () => false,
    },
  });
  const s = new AgentConnectionState();
  const q = await ask(ring, s, { type: "extension", name: "query", contents: new Uint8Array(0) });
  assert.equal(q.type, "extensionResponse");
  if (q.type !== "extensionResponse") return;
  assert.deepEqual(decodeQueryReply(q.contents), [
    "query",
    "session-bind@openssh.com",
    "echo@example.com",
    "ok@example.com",
    "no@example.com",
  ]);
  const ext = (name: string) =>
    ask(ring, s, { type: "extension", name, contents: Uint8Array.of(4) });
  assert.deepEqual(await ext("echo@example.com"), {
    type: "extensionResponse",
    name: "echo@example.com",
    contents: Uint8Array.of(4),
  });
  assert.equal((await ext("ok@example.com")).type, "success");
  assert.equal((await ext("no@example.com")).type, "extensionFailure");
  assert.equal((await ext("toString")).type, "failure");
});

test("session-bind checks the host's signature and refuses rebinding an authentication socket", async () => {
  const ring = new AgentKeyring();
  const sid = rnd(32), sid2 = rnd(32);
  const s = new AgentConnectionState();
  const forged = { ...bindRequest(hostA, sid, false) };
  forged.contents = encodeSessionBind({
    hostKeyBlob: hostA.publicBlob,
    sessionId: sid,
    signature: hostB.sign(sid),
    isForwarding: false,
  });
  assert.equal((await ask(ring, s, forged)).type, "extensionFailure");
  assert.equal(s.bindFailed, true);
  const ok = new AgentConnectionState();
  assert.equal((await ask(ring, ok, bindRequest(hostA, sid, true))).type, "success");
  assert.equal((await ask(ring, ok, bindRequest(hostA, sid, true))).type, "success"); // repeat
  assert.equal((await ask(ring, ok, bindRequest(hostB, sid, true))).type, "extensionFailure");
  assert.equal((await ask(ring, ok, bindRequest(hostB, sid2, false))).type, "success");
  assert.equal((await ask(ring, ok, bindRequest(hostA, rnd(32), true))).type, "extensionFailure");
  assert.equal(ok.bindings.length, 2);
  const many = new AgentConnectionState();
  for (let i = 0; i < 16; i++) {
    assert.equal((await ask(ring, many, bindRequest(hostA, rnd(32), true))).type, "success");
  }
  assert.equal((await ask(ring, many, bindRequest(hostA, rnd(32), true))).type, "extensionFailure");
});

test("a destination-restricted key signs only for its host, user and the bound session", async () => {
  const ring = new AgentKeyring();
  const userOnly: DestinationConstraint = {
    from: ORIGIN,
    to: { ...toA.to, username: "git*" },
  };
  ring.add(userKey, { destinations: [userOnly] });
  const sign = (s: AgentConnectionState, d: Uint8Array): Promise<AgentReply> =>
    ask(ring, s, { type: "sign", keyBlob: userKey.publicBlob, data: d, flags: 0 });
  const list = async (s: AgentConnectionState) => {
    const r = await ask(ring, s, { type: "requestIdentities" });
    return r.type === "identities" ? r.identities.length : -1;
  };
  const sid = rnd(32);
  // Unbound (local) connection: listed but it cannot sign.
  const local = new AgentConnectionState();
  assert.equal(await list(local), 1);
  assert.equal((await sign(local, userauth(sid, "git", userKey))).type, "failure");
  // Bound to host A for authentication.
  const a = new AgentConnectionState();
  await ask(ring, a, bindRequest(hostA, sid, false));
  assert.equal(await list(a), 1);
  assert.equal((await sign(a, userauth(sid, "git", userKey))).type, "signResponse");
  assert.equal(
    (await sign(a, userauth(sid, "gitlab", userKey, hostA.publicBlob))).type,
    "signResponse",
  );
  assert.equal((await sign(a, userauth(sid, "root", userKey))).type, "failure"); // user
  assert.equal((await sign(a, userauth(rnd(32), "git", userKey))).type, "failure"); // session
  assert.equal((await sign(a, userauth(sid, "git", userKey, hostB.publicBlob))).type, "failure");
  assert.equal((await sign(a, data)).type, "failure"); // not a userauth request
  // Bound to host B: hidden, and refused.
  const b = new AgentConnectionState();
  await ask(ring, b, bindRequest(hostB, sid, false));
  assert.equal(await list(b), 0);
  assert.equal((await sign(b, userauth(sid, "git", userKey))).type, "failure");
  assert.equal(
    (await ask(ring, b, { type: "removeIdentity", keyBlob: userKey.publicBlob })).type,
    "failure",
  );
  // A failed bind hides constrained keys.
  const failed = new AgentConnectionState();
  const bad = bindRequest(hostA, sid, false);
  bad.contents[bad.contents.length - 3]! ^= 1;
  await ask(ring, failed, bad);
  assert.equal(await list(failed), 0);
});

test("a destination-restricted key forwards only along the hops it lists", async () => {
  const ring = new AgentKeyring({ now: () => Date.now() });
  const aToB: DestinationConstraint = {
    from: { username: "", hostname: "a", hostKeys: [{ keyBlob: hostA.publicBlob, isCA: false }] },
    to: { username: "", hostname: "b", hostKeys: [{ keyBlob: hostB.publicBlob, isCA: false }] },
  };
  const onlyA = generatePrivateKey("ed25519", { random: rnd });
  ring.add(userKey, { destinations: [toA, aToB] });
  ring.add(onlyA, { destinations: [toA] });
  const sidA = rnd(32), sidB = rnd(32);
  const s = new AgentConnectionState();
  // The agent is forwarded to A (bound for forwarding), and A logs in to B.
  await ask(ring, s, bindRequest(hostA, sidA, true));
  const listed = await ask(ring, s, { type: "requestIdentities" });
  // Beyond A, only the key allowed further is visible.
  assert.deepEqual(
    listed.type === "identities" ? listed.identities.map((i) => i.keyBlob) : [],
    [userKey.publicBlob],
  );
  await ask(ring, s, bindRequest(hostB, sidB, false));
  const sig = await ask(ring, s, {
    type: "sign",
    keyBlob: userKey.publicBlob,
    data: userauth(sidB, "me", userKey, hostB.publicBlob),
    flags: 0,
  });
  assert.equal(sig.type, "signResponse");
  // The second hop must name its host key (hostbound) when forwarded.
  const plain = await ask(ring, s, {
    type: "sign",
    keyBlob: userKey.publicBlob,
    data: userauth(sidB, "me", userKey),
    flags: 0,
  });
  assert.equal(plain.type, "failure");
  const other = await ask(ring, s, {
    type: "sign",
    keyBlob: onlyA.publicBlob,
    data: userauth(sidB, "me", onlyA, hostB.publicBlob),
    flags: 0,
  });
  assert.equal(other.type, "failure");
});

test("a destination hop can name a host CA: host certificates for the hop's name match", async () => {
  const hostCert = createCertificate({
    key: hostA,
    caKey: hostCA,
    type: "host",
    keyId: "a",
    principals: ["a.example"],
    random: rnd,
  });
  const ring = new AgentKeyring();
  ring.add(userKey, {
    destinations: [{
      from: ORIGIN,
      to: {
        username: "",
        hostname: "a.example",
        hostKeys: [{ keyBlob: hostCA.publicBlob, isCA: true }],
      },
    }],
  });
  const sid = rnd(32);
  const s = new AgentConnectionState();
  assert.equal((await ask(ring, s, bindRequest(hostA, sid, false, hostCert.blob))).type, "success");
  const r = await ask(ring, s, {
    type: "sign",
    keyBlob: userKey.publicBlob,
    data: userauth(sid, "me", userKey, hostCert.blob),
    flags: 0,
  });
  assert.equal(r.type, "signResponse");
  // The plain host key is not the CA: refused.
  const plain = new AgentConnectionState();
  await ask(ring, plain, bindRequest(hostA, sid, false));
  assert.equal(
    (await ask(ring, plain, {
      type: "sign",
      keyBlob: userKey.publicBlob,
      data: userauth(sid, "me", userKey),
      flags: 0,
    })).type,
    "failure",
  );
});

test("a CA hop's host name is the pattern, as OpenSSH matches it: not the certificate's principal", async () => {
  const certFor = (principal: string) =>
    createCertificate({
      key: hostA,
      caKey: hostCA,
      type: "host",
      keyId: principal,
      principals: [principal],
      random: rnd,
    });
  const restrictedTo = (hostname: string) => {
    const ring = new AgentKeyring();
    ring.add(userKey, {
      destinations: [{
        from: ORIGIN,
        to: { username: "", hostname, hostKeys: [{ keyBlob: hostCA.publicBlob, isCA: true }] },
      }],
    });
    return ring;
  };
  const signs = async (ring: AgentKeyring, principal: string) => {
    const cert = certFor(principal);
    const sid = rnd(32);
    const s = new AgentConnectionState();
    assert.equal((await ask(ring, s, bindRequest(hostA, sid, false, cert.blob))).type, "success");
    const r = await ask(ring, s, {
      type: "sign",
      keyBlob: userKey.publicBlob,
      data: userauth(sid, "me", userKey, cert.blob),
      flags: 0,
    });
    return r.type === "signResponse";
  };
  // ssh-add -h '*.example' with "@cert-authority *.example <CA>": any host certified under it.
  assert.equal(await signs(restrictedTo("*.example"), "web.example"), true);
  assert.equal(await signs(restrictedTo("*.example"), "web.other"), false);
  // A certificate whose principal is a wildcard is not valid for every restricted hop.
  assert.equal(await signs(restrictedTo("a.example"), "*"), false);
  assert.equal(await signs(restrictedTo("a.example"), "*.example"), false);
});
test("add through a connection honours constraints it cannot enforce by refusing them", async () => {
  const ring = new AgentKeyring();
  const s = new AgentConnectionState();
  const pair = new SSHKeyPair(userKey);
  const add = (constraints: Parameters<typeof ring.handleRequest>[0] & { type: "addIdentity" }) =>
    ask(ring, s, constraints);
  assert.equal(
    (await add({
      type: "addIdentity",
      key: pair,
      comment: "c",
      constraints: [{ type: "skProvider", provider: "internal" }],
    })).type,
    "failure",
  );
  assert.equal(
    (await add({
      type: "addIdentity",
      key: pair,
      comment: "c",
      constraints: [{ type: "extension", name: "x@y", data: new Uint8Array(0) }],
    })).type,
    "failure",
  );
  assert.equal(
    (await add({
      type: "addIdentity",
      key: pair,
      comment: "c",
      constraints: [{ type: "lifetime", seconds: 5 }, { type: "confirm" }],
    })).type,
    "success",
  );
  const info = ring.list()[0]!;
  assert.equal(info.comment, "c");
  assert.equal(info.confirm, true);
  assert.ok(info.expiresAt !== undefined);
  // Adding again replaces the constraints.
  await add({ type: "addIdentity", key: pair, comment: "d", constraints: [] });
  assert.equal(ring.list().length, 1);
  assert.equal(ring.list()[0]!.confirm, false);
  assert.equal(ring.list()[0]!.comment, "d");
});

test("AgentKeyring makes unlocks on other connections wait out a failed unlock's back-off", async () => {
  const waits: { ms: number; done: () => void }[] = [];
  const ring = new AgentKeyring({
    random: seededRandom(2),
    delay: (ms) => new Promise<void>((done) => waits.push({ ms, done })),
  });
  const pw = new TextEncoder().encode("pw");
  ring.lock(pw);
  const wrong = (i: number) => new TextEncoder().encode(`guess-${i}`);
  // Three connections guess at once, then one with the passphrase.
  const replies = [0, 1, 2].map((i) =>
    ask(ring, new AgentConnectionState(), { type: "unlock", passphrase: wrong(i) })
  );
  const right = ask(ring, new AgentConnectionState(), { type: "unlock", passphrase: pw });
  const settle = () => new Promise((r) => setTimeout(r, 10));
  await settle();
  assert.deepEqual(waits.map((w) => w.ms), [100], "a second guess was checked during the back-off");
  waits[0]!.done();
  await settle();
  assert.deepEqual(waits.map((w) => w.ms), [100, 200]);
  waits[1]!.done();
  await settle();
  waits[2]!.done();
  assert.deepEqual(
    (await Promise.all([...replies, right])).map((r) => r.type),
    ["failure", "failure", "failure", "success"],
  );
  assert.deepEqual(waits.map((w) => w.ms), [100, 200, 300]);
  assert.equal(ring.locked, false);
});

test("AgentServerConnection refuses a reply too big for a frame and keeps serving", async () => {
  const ring = new AgentKeyring();
  for (let i = 0; i < 20; i++) {
    ring.add(generatePrivateKey("ed25519", { random: rnd }), { comment: "c".repeat(16_000) });
  }
  const server = new AgentServerConnection(ring);
  // 20 identities of 16 kB comments: more than AGENT_MAX_FRAME, so SSH_AGENT_FAILURE.
  assert.deepEqual(await server.handle(Uint8Array.of(11)), Uint8Array.of(0, 0, 0, 1, 5));
  ring.removeAll();
  assert.deepEqual(
    await server.handle(Uint8Array.of(11)),
    Uint8Array.of(0, 0, 0, 5, 12, 0, 0, 0, 0),
  );
  assert.ok(AGENT_MAX_FRAME < 20 * 16_000);
});
