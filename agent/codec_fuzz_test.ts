// The agent codec and server, fed truncated, mutated and random input, throw AgentError and
// nothing else, allocate nothing beyond the frame, and keep serving after a malformed request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../core/random.ts";
import { createCertificate } from "../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import { decodeConstraints } from "./constraints.ts";
import { AgentError } from "./errors.ts";
import { decodeQueryReply, decodeSessionBind, encodeSessionBind } from "./extensions.ts";
import { AgentKeyring } from "./keyring.ts";
import {
  type AgentRequest,
  decodeAgentReply,
  decodeAgentRequest,
  encodeAgentReply,
  encodeAgentRequest,
} from "./messages.ts";
import { AgentFrameReader, encodeAgentFrame } from "./protocol.ts";
import { AgentServerConnection } from "./server.ts";
import { fuzzRuns, fuzzSeed, mutateBytes } from "../core/_fuzz_test_util.ts";

const rnd = seededRandom(fuzzSeed(2024));
const ed = generatePrivateKey("ed25519", { random: rnd });
const ec = generatePrivateKey("ecdsa", { random: rnd });
const rsa = generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(77) });
const cert = createCertificate({
  key: ec,
  caKey: ed,
  type: "user",
  keyId: "k",
  principals: ["p"],
  random: rnd,
});

const requests: AgentRequest[] = [
  { type: "requestIdentities" },
  { type: "sign", keyBlob: ed.publicBlob, data: rnd(64), flags: 4 },
  ...[new SSHKeyPair(ed), new SSHKeyPair(rsa), new SSHKeyPair(ec, cert)].map((key) => ({
    type: "addIdentity" as const,
    key,
    comment: "fuzz",
    constraints: [
      { type: "lifetime" as const, seconds: 9 },
      { type: "confirm" as const },
      {
        type: "restrictDestination" as const,
        constraints: [{
          from: {
            username: "",
            hostname: "j",
            hostKeys: [{ keyBlob: ec.publicBlob, isCA: false }],
          },
          to: { username: "u", hostname: "h", hostKeys: [{ keyBlob: ed.publicBlob, isCA: true }] },
        }],
      },
      { type: "associatedCerts" as const, certsOnly: true, certificates: [cert.blob] },
    ],
  })),
  { type: "removeIdentity", keyBlob: rsa.publicBlob },
  { type: "lock", passphrase: Uint8Array.of(1, 2) },
  {
    type: "extension",
    name: "session-bind@openssh.com",
    contents: encodeSessionBind({
      hostKeyBlob: ed.publicBlob,
      sessionId: rnd(32),
      signature: ed.sign(rnd(32)),
      isForwarding: true,
    }),
  },
];
const replies = [
  encodeAgentReply({
    type: "identities",
    identities: [{ keyBlob: ed.publicBlob, comment: "a" }, { keyBlob: cert.blob, comment: "b" }],
  }),
  encodeAgentReply({ type: "signResponse", signature: ed.sign(Uint8Array.of(1)) }),
  encodeAgentReply({ type: "extensionResponse", name: "query", contents: rnd(12) }),
];
const bodies = requests.map(encodeAgentRequest);

function mutate(b: Uint8Array, i: number): Uint8Array {
  const x = rnd(4);
  const kind = i % 5;
  if (kind < 3) return mutateBytes(b, kind as 0 | 1 | 2, x);
  if (kind === 3) {
    const c = b.slice();
    c[0] = x[3]!; // another message type over the same contents
    return c;
  }
  return Uint8Array.of(b[0]!, ...rnd(x[3]!));
}

function onlyAgentErrors(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof AgentError, `${what}: ${(e as Error)?.stack ?? e}`);
  }
}

test("decodeAgentRequest() throws only AgentError on mutated requests of every type", () => {
  for (const body of bodies) {
    for (let i = 0; i < fuzzRuns(150); i++) {
      const m = mutate(body, i);
      onlyAgentErrors(() => decodeAgentRequest(m), `request ${body[0]} mutation ${i}`);
    }
  }
});

test("decodeAgentReply(), decodeConstraints(), session-bind and query decoders throw only AgentError", () => {
  for (const body of replies) {
    for (let i = 0; i < fuzzRuns(400); i++) {
      const m = mutate(body, i);
      onlyAgentErrors(() => decodeAgentReply(m), `reply ${body[0]} mutation ${i}`);
    }
  }
  const constraintBytes = bodies[2]!.subarray(bodies[2]!.length - 300);
  for (let i = 0; i < fuzzRuns(400); i++) {
    const m = mutate(constraintBytes, i);
    onlyAgentErrors(() => decodeConstraints(m), `constraints mutation ${i}`);
  }
  const bind = requests[requests.length - 1] as { contents: Uint8Array };
  for (let i = 0; i < fuzzRuns(300); i++) {
    onlyAgentErrors(() => decodeSessionBind(mutate(bind.contents, i)), `bind ${i}`);
    onlyAgentErrors(() => decodeQueryReply(rnd(i % 40)), `query ${i}`);
  }
});

test("AgentServerConnection answers mutated requests and random frames without failing", async () => {
  const ring = new AgentKeyring({ random: seededRandom(4) });
  ring.add(ed);
  const conn = new AgentServerConnection(ring);
  const out = new AgentFrameReader();
  let answered = 0;
  for (let i = 0; i < fuzzRuns(300); i++) {
    const body = mutate(bodies[i % bodies.length]!, i);
    if (body.length === 0) continue;
    out.push(await conn.receive(encodeAgentFrame(body)));
    const reply = out.next();
    assert.ok(reply, `no reply to mutation ${i}`);
    decodeAgentReply(reply);
    answered++;
  }
  assert.ok(answered > 250);
  // Still serving: the key is listed (unless a mutated request locked or emptied the agent).
  out.push(await conn.receive(encodeAgentFrame(Uint8Array.of(11))));
  assert.equal(decodeAgentReply(out.next()!).type, "identities");
});

test("AgentServerConnection rejects an oversized frame header with AgentError", async () => {
  const conn = new AgentServerConnection(new AgentKeyring());
  await assert.rejects(
    conn.receive(Uint8Array.of(0x7f, 0xff, 0xff, 0xff)),
    (e) => e instanceof AgentError && e.kind === "frame",
  );
});
