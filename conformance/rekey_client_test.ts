/**
 * Rekey matrix, our client against OpenSSH 9.2 and 10.x servers (after OpenSSH's
 * regress/rekey.sh; the cases are in rekey_matrix.ts): 320 KiB each way through `cat`,
 * hash-checked, with rekey limits from 16 bytes to 256 KiB set on our side (`rekeyBytes`) or on
 * sshd's (`RekeyLimit`), for every key exchange, cipher and MAC; and 1 MiB each way through a
 * local forward while both sides rekey every 64 KiB.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { connect } from "../io/client/connect.ts";
import type { ConnectOptions } from "../io/client/options.ts";
import { conformanceTest, type FixtureOptions, type PeerFixture } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { OPENSSH_PEERS } from "./client_peer.ts";
import {
  caseLabel,
  eachLimited,
  echoServer,
  echoThrough,
  FULL_MATRIX,
  type RekeyCase,
  rekeyCases,
  rekeyData,
  sha256,
} from "./rekey_matrix.ts";

/** Legacy algorithms too, so the matrix covers everything we implement. */
const OPTIONS: FixtureOptions = {
  kexAlgorithms: ["+diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1"],
  ciphers: ["+aes128-cbc,aes256-cbc"],
};

const DATA = rekeyData();
const DATA_HASH = sha256(DATA);
const text = new TextDecoder().decode(DATA);

function base(f: PeerFixture): ConnectOptions {
  return {
    port: f.port,
    username: f.user.name,
    clientKeys: [f.clientKeys[0]!.privateKeyText],
    knownHosts: f.knownHostsPath,
    connectTimeout: 30_000,
  };
}

function fixtureFor(peer: string, c: RekeyCase): Promise<PeerFixture> {
  const o = c.peer === undefined ? OPTIONS : { ...OPTIONS, sshdConfig: { RekeyLimit: c.peer } };
  return sharedPeer(peer as "openssh", o);
}

async function trial(peer: string, c: RekeyCase): Promise<void> {
  const f = await fixtureFor(peer, c);
  await using conn = await connect(f.host, {
    ...base(f),
    // The key exchange under test, else a fast one (the default hybrids cost ~0.3 s each here).
    kexAlgs: [c.kex ?? "curve25519-sha256"],
    ...(c.cipher ? { encryptionAlgs: [c.cipher] } : {}),
    ...(c.mac ? { macAlgs: [c.mac] } : {}),
    ...(c.ours !== undefined ? { rekeyBytes: c.ours } : {}),
  });
  const r = await conn.run("cat", { input: DATA, check: true, timeout: 60_000 });
  assert.equal(r.stdout.length, text.length, "bytes back");
  assert.equal(sha256(r.stdout), DATA_HASH, "data intact");
  const info = conn.getExtraInfo();
  assert.ok(info.kexCount >= 2, `no rekey happened (kexCount ${info.kexCount})`);
  if (c.kex) assert.equal(info.algorithms?.kex, c.kex);
  if (c.cipher) assert.equal(info.algorithms?.cipherC2S, c.cipher);
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `connect() keeps 320 KiB each way intact through rekeys with ${peer} (${
      FULL_MATRIX ? "full" : "representative"
    } matrix)`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, OPTIONS);
      const probe = await connect(f.host, base(f));
      const l = probe.getExtraInfo().serverAlgorithms!;
      await probe.close();
      const cases = rekeyCases({ kex: l.kex, ciphers: l.cipherS2C, macs: l.macS2C });
      const failures: string[] = [];
      await eachLimited(cases, 4, async (c) => {
        const t0 = performance.now();
        try {
          await trial(peer, c);
          if (process.env.REKEY_TIMES) {
            console.error(caseLabel(c), (performance.now() - t0).toFixed(0));
          }
        } catch (e) {
          failures.push(`${caseLabel(c)}: ${(e as Error).message}`);
        }
      });
      console.error(`rekey ${peer}: ${cases.length} connections, ${failures.length} failed`);
      assert.deepEqual(failures, []);
    },
  );

  conformanceTest(
    `forwardLocalPort() through ${peer} keeps 1 MiB each way intact while both sides rekey every 64 KiB`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, { ...OPTIONS, sshdConfig: { RekeyLimit: 64 * 1024 } });
      const echo = await echoServer();
      try {
        await using conn = await connect(f.host, {
          ...base(f),
          kexAlgs: ["curve25519-sha256"],
          rekeyBytes: 64 * 1024,
        });
        await using l = await conn.forwardLocalPort({
          listenPort: 0,
          destHost: "127.0.0.1",
          destPort: echo.port,
        });
        const data = rekeyData(1024 * 1024);
        const got = await Promise.all([0, 1].map(() => echoThrough(l.port, data)));
        assert.deepEqual(got, [sha256(data), sha256(data)]);
        // 4 MiB through in all: dozens of 64 KiB limits.
        assert.ok(conn.getExtraInfo().kexCount > 20, `kexCount ${conn.getExtraInfo().kexCount}`);
      } finally {
        await echo.close();
      }
    },
  );
}
