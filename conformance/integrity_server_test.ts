/**
 * Integrity matrix, OpenSSH's `ssh` (9.2 and 10.x) against our server (after OpenSSH's
 * regress/integrity.sh): a relay flips one byte of the encrypted stream after key exchange, one
 * direction at a time, for every cipher and MAC pair (reduced on Deno and Bun, see
 * integrity_matrix.ts). Each flip must end in a MAC or length error at the receiver, never in
 * accepted data: `listen()` reports ERR_MAC or ERR_PACKET_LENGTH to `connectionLost`, and `ssh`
 * exits non-zero saying "Corrupted MAC on input", "message authentication code incorrect" or
 * "Bad packet length".
 */
import assert from "node:assert/strict";
import {
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  INSECURE_CIPHERS,
  OPTIONAL_MACS,
} from "../core/crypto/registry.ts";

/**
 * The matrix of the first wave: the default ciphers and MACs plus AES-CBC. The AsyncSSH-era
 * legacy names ({@link LEGACY}) made it 276 pairs that did not finish their flips in time:
 * integrity_legacy_test.ts covers each of them once, against OpenSSH 9.2 or AsyncSSH.
 */
const MATRIX_CIPHERS = [...DEFAULT_CIPHERS, ...INSECURE_CIPHERS].filter((c) => !LEGACY.test(c));
const MATRIX_MACS = [...DEFAULT_MACS, ...OPTIONAL_MACS].filter((m) => !LEGACY.test(m));
import { conformanceTest } from "./fixtures/mod.ts";
import { type RelayDirection, startRelay } from "./fixtures/relay.ts";
import {
  type CipherMac,
  cipherMacPairs,
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
import { runSsh, SSH_CLIENTS, startServer, type TestServer } from "./server_fixture.ts";

const DATA = workload();
const VERSION = { "openssh": "9.2", "openssh-trixie": "10.x" } as const;

/** Why each server connection ended, by the client's port (the relay's, here). */
const lost = new Map<number, Error | undefined>();

function serveEverything(): Promise<TestServer> {
  return startServer({
    encryptionAlgs: MATRIX_CIPHERS,
    macAlgs: MATRIX_MACS,
    // Ports are reused across trials (loopback reuses TIME_WAIT ports): a new connection
    // clears what an earlier one from the same port left, so a trial reads its own verdict.
    connectionMade: (conn) => {
      if (conn.remotePort !== undefined) lost.delete(conn.remotePort);
    },
    connectionLost: (conn, error) => {
      if (conn.remotePort !== undefined) lost.set(conn.remotePort, error);
    },
  });
}

async function trial(
  client: (typeof SSH_CLIENTS)[number],
  server: TestServer,
  p: CipherMac,
  dir: RelayDirection,
  offset: number,
): Promise<string> {
  await using relay = await startRelay({ targetPort: server.port });
  relay.armFlip({ direction: dir, offset });
  const viaRelay: TestServer = {
    ...server,
    port: relay.port,
    knownHosts: server.knownHosts.replaceAll(`]:${server.port} `, `]:${relay.port} `),
  };
  const options = ["KexAlgorithms=curve25519-sha256", `Ciphers=${p.cipher}`];
  if (p.mac) options.push(`MACs=${p.mac}`);
  const r = await runSsh(client, viaRelay, { identity: "ed25519", options, command: "cat" }, {
    input: DATA,
    timeoutMs: 20_000,
  });
  const c = relay.connections[0]!;
  await c.closed;
  if (!c.flipped) throw new Error(`offset not reached (${c.encryptedBytes[dir]} bytes)`);
  if (r.status === 0) throw new Error("ssh exited 0: the corrupted connection carried the data");
  if (dir === "s2c") {
    // ssh is the receiver; "Received disconnect" lines would be our server's verdict.
    const own = r.stderr.split("\n").filter((l) => !/Received disconnect/.test(l)).join("\n");
    const m = own.match(PEER_VERDICT);
    if (!m) throw new Error(`ssh said: ${r.stderr.trim()}`);
    return m[0];
  }
  for (let i = 0; i < 40 && !lost.has(c.upstreamLocalPort!); i++) {
    await new Promise((res) => setTimeout(res, 50));
  }
  if (!lost.has(c.upstreamLocalPort!)) throw new Error("our server did not report the close");
  const error = lost.get(c.upstreamLocalPort!);
  const code = (error as { code?: string } | undefined)?.code ?? "";
  if (!OUR_CODES.includes(code)) {
    throw new Error(`server saw ${code || "no code"}: ${error?.message}`);
  }
  return code;
}

for (const client of SSH_CLIENTS) {
  for (const dir of ["c2s", "s2c"] as const) {
    const receiver = dir === "c2s" ? "listen()" : `OpenSSH ${VERSION[client]} ssh`;
    conformanceTest(
      `a flipped byte from ${
        dir === "c2s" ? `OpenSSH ${VERSION[client]} ssh` : "listen()"
      } ends in a MAC or length error at ${receiver}`,
      { peers: [client] },
      async () => {
        await using server = await serveEverything();
        // Every pair both implement: OpenSSH 9.2 and 10.x still build in CBC and hmac-sha1.
        const pairs = cipherMacPairs(MATRIX_CIPHERS, MATRIX_MACS);
        const tally = new Tally();
        const failures: string[] = [];
        const trials = pairs.flatMap((p) =>
          flipOffsets(p, dir, client).map((o) => [p, o] as const)
        );
        await eachLimited(trials, TRIAL_CONCURRENCY, async ([p, offset]) => {
          try {
            tally.add(await trial(client, server, p, dir, offset));
          } catch (e) {
            failures.push(`${label(p)} @${offset}: ${(e as Error).message}`);
          }
        });
        console.error(`integrity ${client} ssh ${dir}: ${pairs.length} pairs, ${tally}`);
        assert.deepEqual(failures, []);
      },
    );
  }
}
