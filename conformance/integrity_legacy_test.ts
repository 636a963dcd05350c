/**
 * The integrity matrix for the legacy (AsyncSSH-era) ciphers and MACs, bounded: instead of the
 * cross product (it made the matrix against listen() 276 pairs that did not finish), every
 * legacy cipher and every legacy MAC is covered at least once — each legacy cipher paired with
 * one MAC, each legacy MAC with one cipher — against a real peer that implements it:
 *
 * - OpenSSH 9.2 (what its `ssh -Q cipher` / `ssh -Q mac` lists: 3des-cbc, aes192-cbc, the MD5
 *   and -96 MACs): OpenSSH's `ssh` through a relay to `listen()`, a byte flipped each way;
 * - AsyncSSH 2.10 (Debian's) for the names OpenSSH dropped (Blowfish, CAST-128, SEED, RC4, the
 *   SHA-2 -96 MACs and SSH.com's HMAC names): its server against our client (flips server to
 *   client) and its client against `listen()` (flips client to server), so our side is always
 *   the receiver. AsyncSSH waits for as many bytes as a corrupted length says, so it cannot be
 *   the receiver of a length flip without hanging.
 *
 * Each pair first moves 32 KiB through a clean connection (so both sides interoperate with it),
 * then each flip must end in a MAC or length error at the receiver, never in accepted data.
 */
import assert from "node:assert/strict";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { type ConnectOptions } from "../io/client/options.ts";
import { conformanceTest, runCommand } from "./fixtures/mod.ts";
import { type RelayDirection, startRelay } from "./fixtures/relay.ts";
import { fixtureKnownHosts, ourLogin } from "./interop_client.ts";
import {
  interopTest,
  keyMaterial,
  LOGIN,
  pythonDriver,
  runDriver,
  scratchFile,
  sha256Hex,
} from "./interop_peers.ts";
import { peerServer } from "./interop_suite.ts";
import {
  type CipherMac,
  eachLimited,
  flipOffsets,
  label,
  LEGACY,
  OUR_CODES,
  PEER_VERDICT,
  Tally,
  TRIAL_CONCURRENCY,
  workload,
} from "./integrity_matrix.ts";
import { runSsh, startServer, type TestServer } from "./server_fixture.ts";

const LEGACY_CIPHERS = SUPPORTED_CIPHERS.filter((c) => LEGACY.test(c));
const LEGACY_MACS = SUPPORTED_MACS.filter((m) => LEGACY.test(m));
const DATA = workload();
const DATA_SHA256 = sha256Hex(DATA);
const TRIAL_TIMEOUT_MS = 20_000;

/**
 * Pairs covering `ciphers` and `macs` (each at least once, no cross product): the i-th pair
 * takes the i-th of each, cycling the shorter list, or the fallback when a list is empty.
 */
function coveringPairs(
  ciphers: readonly string[],
  macs: readonly string[],
  fallback: { readonly cipher: string; readonly mac: string },
): CipherMac[] {
  const n = Math.max(ciphers.length, macs.length);
  return Array.from({ length: n }, (_, i) => ({
    cipher: ciphers.length > 0 ? ciphers[i % ciphers.length]! : fallback.cipher,
    mac: macs.length > 0 ? macs[i % macs.length]! : fallback.mac,
  }));
}

/** The legacy names OpenSSH 9.2 implements, asked at run time. */
async function opensshLegacy(): Promise<{ ciphers: string[]; macs: string[] }> {
  const q = async (what: string) =>
    (await runCommand(["ssh", "-Q", what], { check: true })).stdout.split("\n");
  const [ciphers, macs] = [await q("cipher"), await q("mac")];
  return {
    ciphers: LEGACY_CIPHERS.filter((c) => ciphers.includes(c)),
    macs: LEGACY_MACS.filter((m) => macs.includes(m)),
  };
}

/** The split of the legacy names between the peers: OpenSSH first, AsyncSSH for the rest. */
async function plan(): Promise<{ openssh: CipherMac[]; asyncssh: CipherMac[] }> {
  const o = await opensshLegacy();
  const rest = {
    ciphers: LEGACY_CIPHERS.filter((c) => !o.ciphers.includes(c)),
    macs: LEGACY_MACS.filter((m) => !o.macs.includes(m)),
  };
  const fallback = { cipher: "aes128-ctr", mac: "hmac-sha2-256" };
  return {
    openssh: coveringPairs(o.ciphers, o.macs, fallback),
    asyncssh: coveringPairs(rest.ciphers, rest.macs, fallback),
  };
}

/** Why each listen() connection ended, by the client's port (the relay's, here). */
const lost = new Map<number, Error | undefined>();

function legacyServer(pairs: readonly CipherMac[]): Promise<TestServer> {
  return startServer({
    encryptionAlgs: [...new Set(pairs.map((p) => p.cipher))],
    macAlgs: [...new Set(pairs.map((p) => p.mac!))],
    // A new connection clears what an earlier one from the same (reused) port left.
    connectionMade: (conn) => {
      if (conn.remotePort !== undefined) lost.delete(conn.remotePort);
    },
    connectionLost: (conn, error) => {
      if (conn.remotePort !== undefined) lost.set(conn.remotePort, error);
    },
  });
}

/** listen()'s verdict on the connection the relay made from `port`. */
async function serverVerdict(port: number): Promise<string> {
  for (let i = 0; i < 60 && !lost.has(port); i++) await new Promise((r) => setTimeout(r, 50));
  if (!lost.has(port)) throw new Error("listen() did not report the close");
  const code = (lost.get(port) as { code?: string } | undefined)?.code ?? "";
  if (!OUR_CODES.includes(code)) throw new Error(`listen() saw ${code || "no code"}`);
  return code;
}

/** Runs every flip of `pairs` in `dir`, `limit` at a time; returns the failures. */
async function flips(
  what: string,
  pairs: readonly CipherMac[],
  dir: RelayDirection,
  trial: (p: CipherMac, offset: number) => Promise<string>,
): Promise<string[]> {
  const tally = new Tally();
  const failures: string[] = [];
  const trials = pairs.flatMap((p) => flipOffsets(p, dir, "legacy").map((o) => [p, o] as const));
  await eachLimited(trials, TRIAL_CONCURRENCY, async ([p, offset]) => {
    try {
      tally.add(await trial(p, offset));
    } catch (e) {
      failures.push(`${label(p)} @${offset}: ${(e as Error).message}`);
    }
  });
  console.error(`integrity (legacy) ${what} ${dir}: ${pairs.map(label).join(" ")}: ${tally}`);
  return failures;
}

conformanceTest(
  "legacy ciphers and MACs OpenSSH 9.2 still has: ssh through a relay to listen(), a flipped " +
    "byte either way ends in a MAC or length error at the receiver",
  { peers: ["openssh"], timeoutMs: 120_000 },
  async () => {
    const pairs = (await plan()).openssh;
    assert.ok(pairs.length > 0, "OpenSSH 9.2 has legacy names (3des-cbc, hmac-md5, ...)");
    await using server = await legacyServer(pairs);
    const failures: string[] = [];
    // A clean run of each pair first.
    for (const p of pairs) {
      const r = await runSsh("openssh", server, {
        identity: "ed25519",
        options: [`Ciphers=${p.cipher}`, `MACs=${p.mac}`],
        command: "sha256",
      }, { input: DATA, timeoutMs: TRIAL_TIMEOUT_MS });
      if (r.status !== 0 || r.stdout.trim() !== DATA_SHA256) {
        failures.push(`${label(p)} clean: ${r.status} ${r.stderr.trim()}`);
      }
    }
    for (const dir of ["c2s", "s2c"] as const) {
      failures.push(
        ...await flips("OpenSSH 9.2 ssh -> listen()", pairs, dir, async (p, offset) => {
          await using relay = await startRelay({ targetPort: server.port });
          relay.armFlip({ direction: dir, offset });
          const viaRelay: TestServer = {
            ...server,
            port: relay.port,
            knownHosts: server.knownHosts.replaceAll(`]:${server.port} `, `]:${relay.port} `),
          };
          const r = await runSsh("openssh", viaRelay, {
            identity: "ed25519",
            options: ["KexAlgorithms=curve25519-sha256", `Ciphers=${p.cipher}`, `MACs=${p.mac}`],
            command: "cat",
          }, { input: DATA, timeoutMs: TRIAL_TIMEOUT_MS });
          const c = relay.connections[0]!;
          await c.closed;
          if (!c.flipped) throw new Error(`offset not reached (${c.encryptedBytes[dir]} bytes)`);
          if (r.status === 0) throw new Error("ssh exited 0: the corrupted data went through");
          if (dir === "c2s") return serverVerdict(c.upstreamLocalPort!);
          const own = r.stderr.split("\n").filter((l) => !/Received disconnect/.test(l)).join("\n");
          const m = own.match(PEER_VERDICT);
          if (!m) throw new Error(`ssh said: ${r.stderr.trim()}`);
          return m[0];
        }),
      );
    }
    assert.deepEqual(failures, []);
  },
);

interopTest(
  "legacy ciphers and MACs OpenSSH dropped, with AsyncSSH: a flipped byte from its server ends " +
    "in a MAC or length error at connect(), from its client at listen()",
  { tools: ["asyncssh"], timeoutMs: 120_000 },
  async () => {
    const split = await plan();
    const pairs = split.asyncssh;
    // Every legacy name is covered by one peer or the other.
    const all = [...split.openssh, ...pairs];
    assert.deepEqual(LEGACY_CIPHERS.filter((c) => !all.some((p) => p.cipher === c)), []);
    assert.deepEqual(LEGACY_MACS.filter((m) => !all.some((p) => p.mac === m)), []);
    const failures: string[] = [];
    const m = await keyMaterial();
    const ed25519 = m.clientKeys.find((k) => k.name === "ed25519")!.privateKeyPath;

    // Server to client: AsyncSSH's server, our client receives.
    await using peer = await peerServer("asyncssh", {
      ciphers: [...new Set(pairs.map((p) => p.cipher))],
      macs: [...new Set(pairs.map((p) => p.mac!))],
    });
    const options = (p: CipherMac): ConnectOptions => ({
      encryptionAlgs: [p.cipher],
      macAlgs: [p.mac!],
      connectTimeout: TRIAL_TIMEOUT_MS,
    });
    for (const p of pairs) {
      try {
        await using conn = await ourLogin(
          peer.port,
          await fixtureKnownHosts(peer.port),
          "ed25519",
          options(p),
        );
        const a = conn.getExtraInfo().algorithms!;
        assert.deepEqual([a.cipherS2C, a.macS2C], [p.cipher, p.mac]);
        const r = await conn.run("sha256", { input: DATA, check: true });
        assert.equal(String(r.stdout).trim(), DATA_SHA256);
      } catch (e) {
        failures.push(`${label(p)} clean, connect(): ${(e as Error).message}`);
      }
    }
    failures.push(
      ...await flips("AsyncSSH server -> connect()", pairs, "s2c", async (p, offset) => {
        await using relay = await startRelay({ targetPort: peer.port });
        relay.armFlip({ direction: "s2c", offset });
        let error: unknown, accepted = false;
        try {
          await using conn = await ourLogin(
            relay.port,
            await fixtureKnownHosts(relay.port),
            "ed25519",
            options(p),
          );
          try {
            await conn.run("cat", { input: DATA });
            accepted = true;
          } catch (e) {
            error = e;
          }
          await conn.closed;
          error = conn.closeError ?? error;
        } catch (e) {
          error = e;
        }
        const c = relay.connections[0]!;
        if (!c.flipped) throw new Error(`offset not reached (${c.encryptedBytes.s2c} bytes)`);
        if (accepted) throw new Error("the corrupted connection carried the data through");
        const code = (error as { code?: string })?.code ?? "";
        if (!OUR_CODES.includes(code)) {
          throw new Error(`connect() saw ${code || "no code"}: ${(error as Error)?.message}`);
        }
        return code;
      }),
    );

    // Client to server: AsyncSSH's client, listen() receives.
    await using server = await legacyServer(pairs);
    const drive = async (port: number, known: string, cases: object[]) =>
      await runDriver(pythonDriver("asyncssh", "client"), {
        host: "127.0.0.1",
        port,
        user: LOGIN.user,
        password: LOGIN.password,
        knownHosts: scratchFile(`known_hosts_legacy_${port}`, known),
        cases,
      }, 60_000);
    const clean = await drive(
      server.port,
      server.knownHosts,
      pairs.map((p) => ({
        id: label(p),
        auth: "key",
        key: ed25519,
        ciphers: [p.cipher],
        macs: [p.mac],
        command: "sha256",
        stdinSize: 32768,
        seed: 3,
      })),
    );
    for (const r of clean.results) {
      const got = (r as { stdout?: string }).stdout?.trim();
      const sent = (r as { sentHash?: string }).sentHash;
      if (!r.ok || got !== sent) failures.push(`${r.id} clean, AsyncSSH client: ${r.error ?? got}`);
    }
    if (clean.results.length !== pairs.length) failures.push(`AsyncSSH client: ${clean.stderr}`);
    failures.push(
      ...await flips("AsyncSSH client -> listen()", pairs, "c2s", async (p, offset) => {
        await using relay = await startRelay({ targetPort: server.port });
        relay.armFlip({ direction: "c2s", offset });
        const known = server.knownHosts.replaceAll(`]:${server.port} `, `]:${relay.port} `);
        const run = await drive(relay.port, known, [{
          id: label(p),
          auth: "key",
          key: ed25519,
          ciphers: [p.cipher],
          macs: [p.mac],
          command: "cat",
          stdinSize: DATA.length,
          timeout: TRIAL_TIMEOUT_MS / 1000,
        }]);
        const c = relay.connections[0]!;
        await c.closed;
        if (!c.flipped) throw new Error(`offset not reached (${c.encryptedBytes.c2s} bytes)`);
        if (run.results[0]?.ok) throw new Error("AsyncSSH's client finished: data went through");
        return serverVerdict(c.upstreamLocalPort!);
      }),
    );
    assert.deepEqual(failures, []);
  },
);
