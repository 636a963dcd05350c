/**
 * A key exchange that waits for asynchronous native crypto (option `asyncKex`): the engines
 * raise `kexWait`, read nothing meanwhile, and go on with `resumeKex`; without the option
 * they never wait, whatever backend is installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import type { ClientEvent } from "../client/client_connection.ts";
import { DisconnectError, SSHError } from "../errors.ts";
import { MAX_HELD_INPUT } from "../limits.ts";
import {
  type MlKem768AsyncBackend,
  mlkem768AsyncBackend,
  registerMlKem768AsyncBackend,
} from "../pq/mlkem768.ts";
import { systemRandom } from "../random.ts";
import type { ServerEvent } from "../server/server_connection.ts";
import { makePair } from "../testing/fixtures.ts";
import type { EnginePair } from "../testing/pair.ts";

/** The portable ML-KEM behind promises, counting its calls; `fail` makes the next call reject. */
function promisedKem() {
  const keys = new WeakMap<Uint8Array, Uint8Array>();
  const calls = { generate: 0, encapsulate: 0, decapsulate: 0 };
  let fail = false;
  const settle = <T>(f: () => T): Promise<T> =>
    fail ? Promise.reject(new Error("native work failed")) : Promise.resolve().then(f);
  const backend: MlKem768AsyncBackend = {
    name: "promised",
    generate: () => {
      calls.generate++;
      return settle(() => {
        const seed = systemRandom(64);
        const { publicKey, secretKey } = ml_kem768.keygen(seed);
        keys.set(seed, secretKey);
        return { publicKey, secretKey: seed };
      });
    },
    encapsulate: (publicKey) => {
      calls.encapsulate++;
      return settle(() => {
        const r = ml_kem768.encapsulate(publicKey);
        return { ciphertext: r.cipherText, sharedSecret: r.sharedSecret.slice() };
      });
    },
    decapsulate: (ciphertext, seed) => {
      const key = keys.get(seed);
      if (key === undefined) return undefined;
      calls.decapsulate++;
      return settle(() => ml_kem768.decapsulate(ciphertext, key));
    },
  };
  return { backend, calls, failNext: () => (fail = true) };
}

async function withBackend(backend: MlKem768AsyncBackend, body: () => Promise<void> | void) {
  const before = mlkem768AsyncBackend();
  try {
    registerMlKem768AsyncBackend(backend);
    await body();
  } finally {
    registerMlKem768AsyncBackend(before);
  }
}

type Wait = { side: "client" | "server"; id: number; ready: PromiseLike<void> };

/** A pair on the system's randomness (seeded exchanges never wait) with waits recorded. */
function waitingPair(asyncKex: boolean) {
  const waits: Wait[] = [];
  const record = (side: Wait["side"], e: ClientEvent | ServerEvent) => {
    if (e.type === "kexWait") waits.push({ side, id: e.id, ready: e.ready });
  };
  const pair = makePair({
    password: "secret",
    clientAlgorithms: { kex: ["mlkem768x25519-sha256"] },
    serverAlgorithms: { kex: ["mlkem768x25519-sha256"] },
    client: { random: systemRandom, asyncKex },
    server: { random: systemRandom, asyncKex },
    onClient: (e) => record("client", e),
    onServer: (e) => record("server", e),
  });
  return { pair, waits };
}

/** Runs the pair, answering each wait once its work is done, until nothing waits. */
async function settle(pair: EnginePair, waits: Wait[]): Promise<void> {
  pair.run();
  while (waits.length > 0) {
    const w = waits.shift()!;
    await w.ready;
    (w.side === "client" ? pair.client : pair.server).resumeKex(w.id);
    pair.run();
  }
}

test("asyncKex: both engines wait for the KEM, hold their input meanwhile, and log in", async () => {
  const kem = promisedKem();
  await withBackend(kem.backend, async () => {
    const { pair, waits } = waitingPair(true);
    pair.run();
    // The client waits for its key pair: its ECDH_INIT is not out, nothing it got is read.
    assert.deepEqual(waits.map((w) => w.side), ["client"]);
    assert.equal(pair.client.transport.phase, "kexWaitStrict");
    assert.equal(pair.server.transport.phase, "kexStrict");
    await settle(pair, waits);
    assert.equal(pair.client.authenticated, true);
    assert.deepEqual(kem.calls, { generate: 1, encapsulate: 1, decapsulate: 1 });
    const kexWaits = (events: readonly { type: string }[]) =>
      events.filter((e) => e.type === "kexWait").length;
    assert.equal(kexWaits(pair.clientEvents), 2, "the client's generation and decapsulation");
    assert.equal(kexWaits(pair.serverEvents), 1, "the server's encapsulation");

    // A rekey waits the same way, in its own phase.
    pair.client.rekey();
    pair.run();
    assert.equal(waits[0]?.side, "client");
    assert.equal(pair.client.transport.phase, "rekeyWait");
    await settle(pair, waits);
    assert.equal(pair.client.transport.phase, "idle");
    assert.deepEqual(kem.calls, { generate: 2, encapsulate: 2, decapsulate: 2 });
  });
});

test("asyncKex: resumeKex is refused for an id that is not pending, ignored once closed", async () => {
  await withBackend(promisedKem().backend, async () => {
    const { pair, waits } = waitingPair(true);
    pair.run();
    const w = waits[0]!;
    assert.throws(
      () => pair.client.resumeKex(w.id + 1),
      (e) => e instanceof SSHError && e.code === "ERR_LOCAL_PROTOCOL",
    );
    assert.throws(() => pair.server.resumeKex(1), SSHError, "the server waits for nothing");
    await w.ready;
    pair.client.disconnect();
    pair.client.resumeKex(w.id); // overtaken by the disconnect: nothing happens
    assert.equal(pair.client.closed, true);
  });
});

test("asyncKex: what the peer sends after its NEWKEYS while a rekey waits is kept and read after", async () => {
  await withBackend(promisedKem().backend, async () => {
    const { pair, waits } = waitingPair(true);
    await settle(pair, waits);
    pair.client.rekey();
    pair.run();
    const next = async (side: Wait["side"]) => {
      const w = waits.shift()!;
      assert.equal(w.side, side);
      await w.ready;
      return w;
    };
    const keyPair = await next("client");
    pair.client.resumeKex(keyPair.id);
    pair.run();
    const encapsulation = await next("server");
    pair.server.resumeKex(encapsulation.id);
    // The server's reply and NEWKEYS are out; as OpenSSH does, it sends more at once (here
    // more than the host key question's cap on held input, MAX_HELD_INPUT).
    const filler = new Uint8Array(200_000);
    const sends = Math.ceil((MAX_HELD_INPUT + 1) / filler.length);
    for (let i = 0; i < sends; i++) pair.server.transport.sendIgnore(filler);
    pair.run();
    const decapsulation = waits[0];
    assert.equal(decapsulation?.side, "client");
    assert.equal(pair.client.transport.phase, "rekeyWait");
    assert.equal(pair.client.closed, false, "held, not refused");
    await next("client");
    pair.client.resumeKex(decapsulation.id);
    pair.run();
    assert.equal(pair.client.closed, false);
    assert.equal(pair.client.transport.phase, "idle");
    assert.equal(pair.server.transport.phase, "idle");
  });
});

test("asyncKex: the host key question still caps what the peer may send meanwhile", () => {
  // Hold the host key question: the client reads nothing until it is answered.
  const held = makePair({ onClient: (e) => e.type === "hostKey" });
  held.run();
  assert.equal(held.client.transport.phase, "hostKeyStrict");
  held.client.receiveData(new Uint8Array(MAX_HELD_INPUT + 1));
  const end = held.client.pollEvent();
  assert.ok(end?.type === "disconnect");
  assert.equal(end.error.code, "ERR_PROTOCOL");
  assert.match(end.error.message, /too much/);
});

test("asyncKex: work that fails is a key exchange failure, sent to the peer", async () => {
  const kem = promisedKem();
  await withBackend(kem.backend, async () => {
    kem.failNext();
    const { pair, waits } = waitingPair(true);
    await settle(pair, waits);
    const end = pair.clientEvents.find((e) => e.type === "disconnect");
    assert.ok(end?.type === "disconnect");
    assert.ok(end.error instanceof DisconnectError);
    assert.equal(end.error.code, "ERR_KEX_FAILED");
    assert.equal(end.error.reason, 3); // KEY_EXCHANGE_FAILED
    const seen = pair.serverEvents.find((e) => e.type === "disconnect");
    assert.ok(seen?.type === "disconnect" && seen.error.fromPeer, "the server was told");
  });
});

test("without asyncKex an engine never waits, whatever backend is installed", async () => {
  const kem = promisedKem();
  await withBackend(kem.backend, () => {
    const { pair, waits } = waitingPair(false);
    pair.run();
    assert.deepEqual(waits, []);
    assert.equal(pair.client.authenticated, true);
    assert.deepEqual(kem.calls, { generate: 0, encapsulate: 0, decapsulate: 0 });
  });
});
