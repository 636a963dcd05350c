import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHWriter } from "../core/wire.ts";
import {
  decodeConstraints,
  encodeConstraints,
  type KeyConstraint,
  RESTRICT_DESTINATION,
} from "./constraints.ts";
import { AgentError } from "./errors.ts";

const KEY = new Uint8Array(51).fill(7);

/** A restrict-destination constraint written field by field, as PROTOCOL.agent §2 lays it out. */
function destination(fromUser: string, fromHost: string, fromKeys: number, toHost: string) {
  const hop = (user: string, host: string, keys: number) => {
    const w = new SSHWriter().writeStringUtf8(user).writeStringUtf8(host).writeString(
      new Uint8Array(0),
    );
    for (let i = 0; i < keys; i++) w.writeString(KEY).writeBoolean(false);
    return w.toBytes();
  };
  const one = new SSHWriter().writeString(hop(fromUser, fromHost, fromKeys))
    .writeString(hop("", toHost, toHost ? 1 : 0)).writeString(new Uint8Array(0)).toBytes();
  return new SSHWriter().writeByte(255).writeStringUtf8(RESTRICT_DESTINATION)
    .writeString(new SSHWriter().writeString(one).toBytes()).toBytes();
}

test("encodeConstraints() writes restrict-destination exactly as PROTOCOL.agent lays it out", () => {
  const c: KeyConstraint = {
    type: "restrictDestination",
    constraints: [{
      from: { username: "", hostname: "", hostKeys: [] },
      to: { username: "", hostname: "h", hostKeys: [{ keyBlob: KEY, isCA: false }] },
    }],
  };
  assert.deepEqual(encodeConstraints([c]), destination("", "", 0, "h"));
  assert.deepEqual(decodeConstraints(destination("", "", 0, "h")), [c]);
});

test("decodeConstraints() refuses destination constraints OpenSSH refuses", () => {
  for (
    const bad of [
      destination("user", "j", 1, "h"), // from names a user
      destination("", "j", 0, "h"), // from host without keys
      destination("", "", 1, "h"), // from keys without host
      destination("", "", 0, ""), // to without host or keys
    ]
  ) {
    assert.throws(() => decodeConstraints(bad), AgentError);
  }
});

test("decodeConstraints() refuses duplicates, zero lifetimes and unknown constraint numbers", () => {
  assert.throws(() => decodeConstraints(Uint8Array.of(2, 2)), /twice/);
  assert.throws(() => decodeConstraints(Uint8Array.of(1, 0, 0, 0, 0)), /0 seconds/);
  assert.throws(
    () => decodeConstraints(Uint8Array.of(4)),
    (e) => e instanceof AgentError && e.kind === "unsupported",
  );
});

test("decodeConstraints() accepts the early drafts' extension number 3 when a name follows", () => {
  const draft = new SSHWriter().writeByte(3).writeStringUtf8("sk-provider@openssh.com")
    .writeStringUtf8("internal").toBytes();
  assert.deepEqual(decodeConstraints(draft), [
    { type: "skProvider", provider: "internal" },
  ]);
});

test("an unknown extension constraint keeps the rest of the message and must come last", () => {
  const bytes = new SSHWriter().writeByte(2).writeByte(255).writeStringUtf8("x@example.com")
    .writeBytes(Uint8Array.of(1, 2, 3)).toBytes();
  const cs = decodeConstraints(bytes);
  assert.deepEqual(cs, [{ type: "confirm" }, {
    type: "extension",
    name: "x@example.com",
    data: Uint8Array.of(1, 2, 3),
  }]);
  assert.deepEqual(encodeConstraints(cs), bytes);
  assert.throws(() => encodeConstraints([cs[1]!, cs[0]!]), /must come last/);
});

test("encodeConstraints() refuses lifetimes outside 1..2^32-1", () => {
  for (const seconds of [0, -1, 1.5, 2 ** 32]) {
    assert.throws(() => encodeConstraints([{ type: "lifetime", seconds }]), AgentError);
  }
});
