import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../core/random.ts";
import { SSHWriter } from "../core/wire.ts";
import { createCertificate } from "../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import type { KeyConstraint } from "./constraints.ts";
import { AgentError } from "./errors.ts";
import {
  type AgentReply,
  type AgentRequest,
  decodeAgentReply,
  decodeAgentRequest,
  encodeAgentReply,
  encodeAgentRequest,
  MAX_AGENT_IDENTITIES,
} from "./messages.ts";
import { AGENT_MAX_FRAME, AgentFrameReader, encodeAgentFrame } from "./protocol.ts";

const rnd = seededRandom(12);
const ed = generatePrivateKey("ed25519", { random: rnd, comment: "ed" });
const ec = generatePrivateKey("ecdsa", { random: rnd, keySize: 384 });
const rsa = generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(5) });
const ca = generatePrivateKey("ed25519", { random: rnd });

function cert(key: typeof ed) {
  return createCertificate({
    key,
    caKey: ca,
    type: "user",
    keyId: "id",
    principals: ["me"],
    random: rnd,
  });
}

test("encodeAgentRequest() and decodeAgentRequest() round-trip every request", () => {
  const constraints: KeyConstraint[] = [
    { type: "lifetime", seconds: 30 },
    { type: "confirm" },
    {
      type: "restrictDestination",
      constraints: [{
        from: { username: "", hostname: "", hostKeys: [] },
        to: {
          username: "git",
          hostname: "github.com",
          hostKeys: [{ keyBlob: ed.publicBlob, isCA: false }],
        },
      }],
    },
  ];
  const reqs: AgentRequest[] = [
    { type: "requestIdentities" },
    { type: "sign", keyBlob: ed.publicBlob, data: Uint8Array.of(1, 2, 3), flags: 4 },
    { type: "removeIdentity", keyBlob: ed.publicBlob },
    { type: "removeAllIdentities" },
    { type: "removeAllIdentities", legacy: true },
    { type: "addSmartcardKey", id: "/lib/p11.so", pin: "1234", constraints: [] },
    { type: "addSmartcardKey", id: "/lib/p11.so", pin: "", constraints: [{ type: "confirm" }] },
    { type: "removeSmartcardKey", id: "/lib/p11.so", pin: "" },
    { type: "lock", passphrase: Uint8Array.of(97) },
    { type: "unlock", passphrase: Uint8Array.of(97) },
    { type: "extension", name: "query", contents: new Uint8Array(0) },
    { type: "extension", name: "x@example.com", contents: Uint8Array.of(9, 9) },
    { type: "unknown", code: 1 },
  ];
  for (const r of reqs) {
    assert.deepEqual(decodeAgentRequest(encodeAgentRequest(r)), r, r.type);
  }
  for (const key of [ed, ec, rsa]) {
    for (const pair of [new SSHKeyPair(key), new SSHKeyPair(key, cert(key))]) {
      for (const cs of [[], constraints]) {
        const body = encodeAgentRequest({
          type: "addIdentity",
          key: pair,
          comment: "c",
          constraints: cs,
        });
        assert.equal(body[0], cs.length ? 25 : 17);
        const back = decodeAgentRequest(body);
        assert.equal(back.type, "addIdentity");
        if (back.type !== "addIdentity") continue;
        assert.ok(back.key.key.equals(key));
        assert.ok(back.key.key.hasPrivateKey());
        assert.equal(back.key.keyType, pair.keyType);
        assert.deepEqual(back.constraints, cs);
        assert.equal(back.comment, "c");
        // The key signs as the original does.
        const data = Uint8Array.of(7);
        assert.ok(key.verify(data, back.key.sign(data)));
      }
    }
  }
});

test("decodeAgentRequest() reads the sign request layout of RFC 9987 byte for byte", () => {
  const body = new SSHWriter().writeByte(13).writeString(ed.publicBlob).writeString(
    Uint8Array.of(5),
  ).writeUint32(2).toBytes();
  const r = decodeAgentRequest(body);
  assert.deepEqual(r, { type: "sign", keyBlob: ed.publicBlob, data: Uint8Array.of(5), flags: 2 });
  assert.deepEqual(encodeAgentRequest(r), body);
});

test("decodeAgentRequest() rejects trailing bytes, truncation and a plain add with constraints", () => {
  const bad = [
    Uint8Array.of(11, 0),
    Uint8Array.of(13, 0, 0, 0, 9),
    new SSHWriter().writeByte(18).writeString(ed.publicBlob).writeByte(0).toBytes(),
    // ADD_IDENTITY (17) followed by a constraint byte: only 25 carries constraints.
    (() => {
      const b = encodeAgentRequest({
        type: "addIdentity",
        key: new SSHKeyPair(ed),
        comment: "",
        constraints: [],
      });
      return Uint8Array.of(...b, 2);
    })(),
    new Uint8Array(0),
  ];
  for (const b of bad) {
    assert.throws(() => decodeAgentRequest(b), AgentError, String(b.slice(0, 8)));
  }
});

test("decodeAgentRequest() refuses a private key whose public half does not match", () => {
  const body = encodeAgentRequest({
    type: "addIdentity",
    key: new SSHKeyPair(ed),
    comment: "",
    constraints: [],
  });
  // Flip a byte of the public key (the first string after the type name).
  const tampered = body.slice();
  tampered[1 + 4 + 11 + 4 + 3]! ^= 1;
  assert.throws(
    () => decodeAgentRequest(tampered),
    (e) => e instanceof AgentError && e.kind === "malformed",
  );
});

test("decodeAgentRequest() reports a security-key private key as unsupported", () => {
  const body = new SSHWriter().writeByte(17).writeStringUtf8("sk-ssh-ed25519@openssh.com")
    .writeString(new Uint8Array(32)).writeStringUtf8("ssh:").writeByte(1)
    .writeString(Uint8Array.of(1)).writeString(new Uint8Array(0)).writeStringUtf8("").toBytes();
  assert.throws(
    () => decodeAgentRequest(body),
    (e) => e instanceof AgentError && e.kind === "unsupported",
  );
});

test("encodeAgentReply() and decodeAgentReply() round-trip every reply", () => {
  const replies: AgentReply[] = [
    { type: "success", contents: new Uint8Array(0) },
    { type: "failure", code: 5 },
    { type: "failure", code: 30 },
    { type: "failure", code: 102 },
    { type: "identities", identities: [] },
    {
      type: "identities",
      identities: [{ keyBlob: ed.publicBlob, comment: "a" }, {
        keyBlob: rsa.publicBlob,
        comment: "",
      }],
    },
    { type: "signResponse", signature: Uint8Array.of(1, 2) },
    { type: "extensionFailure" },
    { type: "extensionResponse", name: "query", contents: Uint8Array.of(0, 0, 0, 0) },
  ];
  for (const r of replies) assert.deepEqual(decodeAgentReply(encodeAgentReply(r)), r, r.type);
});

test("decodeAgentReply() refuses identity counts over the cap or beyond the body", () => {
  const over = new SSHWriter().writeByte(12).writeUint32(MAX_AGENT_IDENTITIES + 1).toBytes();
  assert.throws(() => decodeAgentReply(over), AgentError);
  const lying = new SSHWriter().writeByte(12).writeUint32(1000).toBytes();
  assert.throws(() => decodeAgentReply(lying), /too big/);
  assert.throws(
    () => decodeAgentReply(Uint8Array.of(77)),
    (e) => (e as AgentError).kind === "unexpected",
  );
});

test("AgentFrameReader splits frames across arbitrary chunk boundaries", () => {
  const bodies = [Uint8Array.of(11), Uint8Array.of(6), new Uint8Array(1000).fill(3)];
  const stream = new Uint8Array(bodies.reduce((n, b) => n + b.length + 4, 0));
  let o = 0;
  for (const b of bodies) {
    stream.set(encodeAgentFrame(b), o);
    o += b.length + 4;
  }
  for (const step of [1, 2, 3, 7, 500, stream.length]) {
    const r = new AgentFrameReader();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += step) {
      r.push(stream.subarray(i, i + step));
      for (let b; (b = r.next());) got.push(b);
    }
    assert.deepEqual(got, bodies, `step ${step}`);
    assert.equal(r.buffered, 0);
  }
});

test("AgentFrameReader refuses a length over 256 KiB before the body arrives, and length 0", () => {
  const r = new AgentFrameReader();
  r.push(Uint8Array.of(0, 4, 0, 1)); // 256 KiB + 1
  assert.throws(() => r.next(), (e) => e instanceof AgentError && e.kind === "frame");
  const ok = new AgentFrameReader();
  ok.push(Uint8Array.of(0, 4, 0, 0)); // exactly 256 KiB: waits for it
  assert.equal(ok.next(), undefined);
  const zero = new AgentFrameReader();
  zero.push(Uint8Array.of(0, 0, 0, 0));
  assert.throws(() => zero.next(), AgentError);
  assert.throws(() => encodeAgentFrame(new Uint8Array(AGENT_MAX_FRAME + 1)), AgentError);
});

test("AgentFrameReader copies pushed bytes into plain Uint8Arrays (a Buffer's slice() shares memory)", async () => {
  const { Buffer } = await import("node:buffer");
  const r = new AgentFrameReader();
  const buf = Buffer.from([0, 0, 0, 2, 12, 7]);
  r.push(buf);
  buf.fill(0); // the caller reuses its buffer
  const body = r.next()!;
  assert.deepEqual(body, Uint8Array.of(12, 7));
  assert.equal(Object.getPrototypeOf(body), Uint8Array.prototype);
});
