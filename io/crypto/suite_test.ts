/**
 * The cipher order connect() offers: OpenSSH's, with AES-GCM first where it is
 * native and the CPU has AES instructions (Node, Bun, Deno with libcrypto), and what a connection to
 * our own server then agrees on. Loopback only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CIPHERS } from "../../core/crypto/registry.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { currentRuntime, hardwareAes } from "../runtime/env.ts";
import { listen } from "../server/listen.ts";
import { defaultAlgorithms, libcryptoAlgorithms, nativeAlgorithms } from "./suite.ts";

const GCM = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"];
// Deno's own AES-GCM is slow: first there only when the system's libcrypto does it.
const gcmFirst = hardwareAes() && GCM.every((c) => nativeAlgorithms().includes(c)) &&
  (currentRuntime() !== "deno" || GCM.every((c) => libcryptoAlgorithms().includes(c)));

test("defaultAlgorithms() reorders OpenSSH's ciphers only: AES-GCM first where it is native on hardware AES", () => {
  const offered = defaultAlgorithms().cipher;
  assert.deepEqual([...offered].sort(), [...DEFAULT_CIPHERS].sort(), "the same ciphers");
  if (gcmFirst) {
    assert.deepEqual(offered.slice(0, 2), GCM);
    assert.deepEqual(offered.slice(2), DEFAULT_CIPHERS.filter((c) => !GCM.includes(c)));
  } else {
    assert.deepEqual(offered, DEFAULT_CIPHERS);
  }
});

test("connect() with default options agrees on the first cipher it offers", async () => {
  await using server = await listen({
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: (p) => p.exit(0),
  });
  const conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
    config: false,
  });
  try {
    const agreed = conn.getExtraInfo().algorithms;
    assert.equal(agreed?.cipherC2S, defaultAlgorithms().cipher[0]);
    assert.equal(agreed?.cipherS2C, gcmFirst ? GCM[0] : "chacha20-poly1305@openssh.com");
  } finally {
    await conn.close();
  }
});
