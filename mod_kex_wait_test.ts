/**
 * `connect()` and `listen()` wait for an asynchronous ML-KEM (WebCrypto's, as Deno and Bun
 * run it; forced here on every runtime): login, exec and a rekey through it, its failures
 * ending the connection with a key exchange error, a connection closed while it works.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, generatePrivateKey, listen } from "./mod.ts";
import {
  type MlKem768AsyncBackend,
  mlkem768AsyncBackend,
  mlkem768Backend,
  registerMlKem768AsyncBackend,
  registerMlKem768Backend,
} from "./core/pq/mlkem768.ts";
import { defaultSuite } from "./io/crypto/suite.ts";
import { registerWebCryptoMlKem768, webCryptoMlKem768 } from "./io/crypto/native_mlkem.ts";

const WEBCRYPTO = webCryptoMlKem768(
  globalThis.crypto.subtle as unknown as Parameters<typeof webCryptoMlKem768>[0],
);

/** Counts a backend's calls, and lets a test make them fail. */
function counted(inner: MlKem768AsyncBackend) {
  const calls = { generate: 0, encapsulate: 0, decapsulate: 0 };
  let fail: "encapsulate" | "decapsulate" | undefined;
  const backend: MlKem768AsyncBackend = {
    name: "counted",
    generate: () => (calls.generate++, inner.generate()),
    encapsulate: (k) => {
      calls.encapsulate++;
      return fail === "encapsulate" ? Promise.reject(new Error("no")) : inner.encapsulate(k);
    },
    decapsulate: (c, k) => {
      const p = inner.decapsulate(c, k);
      if (p !== undefined) calls.decapsulate++;
      return p && fail === "decapsulate" ? Promise.reject(new Error("no")) : p;
    },
  };
  return { backend, calls, failNext: (what: typeof fail) => (fail = what) };
}

/** Runs `body` with only the asynchronous backend in place (on every runtime). */
async function withAsyncOnly(
  backend: MlKem768AsyncBackend,
  body: () => Promise<void>,
): Promise<void> {
  defaultSuite();
  // Where node:crypto has none (Deno, Bun), io installs WebCrypto's once its checks pass:
  // let that happen first, so it does not replace the backend under test.
  if (mlkem768Backend() === null) await registerWebCryptoMlKem768();
  const sync = mlkem768Backend();
  const async = mlkem768AsyncBackend();
  try {
    registerMlKem768Backend(null);
    registerMlKem768AsyncBackend(backend);
    await body();
  } finally {
    registerMlKem768Backend(sync);
    registerMlKem768AsyncBackend(async);
  }
}

async function passwordServer() {
  return await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    kexAlgs: ["mlkem768x25519-sha256"],
    validatePassword: (_user, password) => password === "pw",
    processFactory: (p) => p.exit(7),
  });
}

test("connect() and listen() wait for the asynchronous ML-KEM: login, exec and a rekey", async () => {
  const { backend, calls } = counted(WEBCRYPTO);
  await withAsyncOnly(backend, async () => {
    await using server = await passwordServer();
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "me",
      password: "pw",
      knownHosts: null,
      kexAlgs: ["mlkem768x25519-sha256"],
    });
    assert.equal(conn.getExtraInfo().algorithms?.kex, "mlkem768x25519-sha256");
    assert.equal((await conn.run("x")).exitStatus, 7);
    conn.rekey();
    assert.equal((await conn.run("y")).exitStatus, 7);
    // Both exchanges, both sides, through the backend (client and server share it here).
    assert.deepEqual(calls, { generate: 2, encapsulate: 2, decapsulate: 2 });
  });
});

test("a failing asynchronous ML-KEM ends the connection with a key exchange error, either side", async () => {
  for (const side of ["encapsulate", "decapsulate"] as const) {
    const c = counted(WEBCRYPTO);
    await withAsyncOnly(c.backend, async () => {
      c.failNext(side);
      await using server = await passwordServer();
      await assert.rejects(
        connect("127.0.0.1", {
          port: server.address.port,
          username: "me",
          password: "pw",
          knownHosts: null,
          kexAlgs: ["mlkem768x25519-sha256"],
        }),
        (e: Error & { code?: string }) => {
          // decapsulate fails on our side; encapsulate on the server, which disconnects.
          assert.match(
            e.code ?? "",
            side === "decapsulate" ? /^ERR_KEX_FAILED$/ : /^ERR_(KEX_FAILED|PEER_DISCONNECTED)$/,
            `${side}: ${e.message}`,
          );
          return true;
        },
      );
      assert.equal(c.calls[side], 1);
    });
  }
});

test("a connection closed while its key exchange waits ends cleanly when the work finishes", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: MlKem768AsyncBackend = {
    name: "slow",
    generate: async () => {
      await gate;
      return await WEBCRYPTO.generate();
    },
    encapsulate: (k) => WEBCRYPTO.encapsulate(k),
    decapsulate: (c, k) => WEBCRYPTO.decapsulate(c, k),
  };
  await withAsyncOnly(slow, async () => {
    await using server = await passwordServer();
    const controller = new AbortController();
    const attempt = connect("127.0.0.1", {
      port: server.address.port,
      username: "me",
      password: "pw",
      knownHosts: null,
      kexAlgs: ["mlkem768x25519-sha256"],
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 100)); // the client now waits for its key pair
    controller.abort();
    await assert.rejects(attempt);
    release(); // the work ends after the connection: nothing may throw or resume it
    await new Promise((r) => setTimeout(r, 50));
  });
});
