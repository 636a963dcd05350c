/**
 * Integrity matrix, our client against OpenSSH 9.2, OpenSSH 10.x and Dropbear servers (after
 * OpenSSH's regress/integrity.sh): a relay flips one byte of the encrypted stream, server to
 * client or client to server, for every cipher and MAC pair (see integrity_matrix.ts for the
 * reduced matrix on Deno and Bun). Each flip must end the connection with a MAC or length error
 * at the receiver, never in accepted data: our client reports ERR_MAC or ERR_PACKET_LENGTH; the
 * server's log names the corrupted packet.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { connect } from "../io/client/connect.ts";
import type { SSHClientConnection } from "../io/client/connection.ts";
import { conformanceTest, type PeerFixture, type PeerName } from "./fixtures/mod.ts";
import { type RelayDirection, startRelay } from "./fixtures/relay.ts";
import { sharedPeer } from "./_shared_peer.ts";
import {
  type CipherMac,
  cipherMacPairs,
  eachLimited,
  flipOffsets,
  label,
  OUR_CODES,
  PEER_VERDICT,
  Tally,
  TRIAL_CONCURRENCY,
  workload,
} from "./integrity_matrix.ts";

/** OpenSSH offers CBC only when asked; Dropbear's algorithms are fixed at build time. */
const PEER_OPTIONS = {
  "openssh": { ciphers: ["+aes128-cbc,aes256-cbc"] },
  "openssh-trixie": { ciphers: ["+aes128-cbc,aes256-cbc"] },
  "dropbear": {},
} as const;

const TRIAL_TIMEOUT_MS = 20_000;

const DATA = workload();

function knownHostsVia(f: PeerFixture, port: number): { text: string } {
  const text = readFileSync(f.knownHostsPath, "utf8").replaceAll(`]:${f.port} `, `]:${port} `);
  return { text };
}

/** What the server offers (read from its KEXINIT on a direct connection). */
async function offer(f: PeerFixture): Promise<{ ciphers: string[]; macs: string[] }> {
  const conn = await connect(f.host, {
    port: f.port,
    username: f.user.name,
    clientKeys: [f.clientKeys[0]!.privateKeyText],
    knownHosts: f.knownHostsPath,
  });
  try {
    const l = conn.getExtraInfo().serverAlgorithms!;
    return { ciphers: [...l.cipherS2C], macs: [...l.macS2C] };
  } finally {
    await conn.close();
  }
}

function logSize(path: string): number {
  return statSync(path).size;
}

function logSince(path: string, from: number): string {
  return readFileSync(path).subarray(from).toString("utf8");
}

async function settle<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** One flip; returns the receiver's verdict, or throws with what went wrong. */
async function trial(
  f: PeerFixture,
  p: CipherMac,
  dir: RelayDirection,
  offset: number,
): Promise<string> {
  await using relay = await startRelay({ targetPort: f.port });
  relay.armFlip({ direction: dir, offset });
  const logFrom = logSize(f.logPath);
  let conn: SSHClientConnection | undefined;
  let error: unknown;
  let accepted = false;
  const work = (async () => {
    try {
      conn = await connect("127.0.0.1", {
        port: relay.port,
        username: f.user.name,
        clientKeys: [f.clientKeys[0]!.privateKeyText],
        knownHosts: knownHostsVia(f, relay.port),
        kexAlgs: ["curve25519-sha256", "curve25519-sha256@libssh.org"],
        encryptionAlgs: [p.cipher],
        ...(p.mac ? { macAlgs: [p.mac] } : {}),
        connectTimeout: TRIAL_TIMEOUT_MS,
      });
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
  })();
  if (await settle(work, TRIAL_TIMEOUT_MS) === "timeout") {
    conn?.abort();
    throw new Error(`no verdict within ${TRIAL_TIMEOUT_MS} ms`);
  }
  const c = relay.connections[0]!;
  if (!c.flipped) throw new Error(`offset not reached (${c.encryptedBytes[dir]} bytes)`);
  if (accepted) throw new Error("the corrupted connection carried the data through");
  if (dir === "s2c") {
    const code = (error as { code?: string })?.code ?? "";
    if (!OUR_CODES.includes(code)) {
      throw new Error(`client saw ${code || "no code"}: ${(error as Error)?.message}`);
    }
    return code;
  }
  // The server is the receiver: its log must say why it dropped this connection (OpenSSH's
  // fatal line names the client's port, Dropbear's exit line too).
  const port = c.upstreamLocalPort;
  const own = new RegExp(`port ${port}(?!\\d)|:${port}>`);
  const mine = (l: string) => own.test(l);
  for (let i = 0; i < 60; i++) {
    const lines = logSince(f.logPath, logFrom).split("\n").filter(mine);
    // Not "Received disconnect ...": that would be our client's verdict, reported to the server.
    const m = lines.filter((l) => !/Received disconnect/.test(l)).join("\n").match(PEER_VERDICT);
    if (m) return m[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `server log has no MAC or length error for port ${port}:\n${
      logSince(f.logPath, logFrom).split("\n").filter(mine).join("\n")
    }`,
  );
}

for (const peer of ["openssh", "openssh-trixie", "dropbear"] as const satisfies PeerName[]) {
  for (const dir of ["s2c", "c2s"] as const) {
    const receiver = dir === "s2c" ? "our client" : peer;
    conformanceTest(
      `a flipped byte from ${
        dir === "s2c" ? peer : "our client"
      } ends in a MAC or length error at ${receiver}`,
      { peers: [peer] },
      async () => {
        const f = await sharedPeer(peer, PEER_OPTIONS[peer]);
        const o = await offer(f);
        const pairs = cipherMacPairs(o.ciphers, o.macs);
        // Dropbear has no GCM and no encrypt-then-MAC.
        assert.ok(pairs.length >= 2, `pairs: ${pairs.map(label).join(" ")}`);
        const tally = new Tally();
        const failures: string[] = [];
        const trials = pairs.flatMap((p) => flipOffsets(p, dir, peer).map((o) => [p, o] as const));
        await eachLimited(trials, TRIAL_CONCURRENCY, async ([p, offset]) => {
          try {
            tally.add(await trial(f, p, dir, offset));
          } catch (e) {
            failures.push(`${label(p)} @${offset}: ${(e as Error).message}`);
          }
        });
        console.error(`integrity ${peer} ${dir}: ${pairs.length} pairs, ${tally}`);
        assert.deepEqual(failures, []);
      },
    );
  }
}
