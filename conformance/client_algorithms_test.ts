/**
 * Our client against real peers, one algorithm at a time: every kex, cipher, MAC
 * and host key algorithm the peer offers that we support, each with defaults for
 * the rest, runs `echo` and checks the negotiated result.
 */
import assert from "node:assert/strict";
import { conformanceTest, type PeerFixture, type PeerName } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { connect } from "../io/client/connect.ts";
import { type ConnectOptions } from "../io/client/options.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_SIGNATURE_ALGORITHMS } from "../core/publickey/mod.ts";
import type { KexInitLists } from "../core/transport/kexinit.ts";

/** The legacy MACs sshd still implements but no longer offers (off by default here too). */
const LEGACY_MACS = "+hmac-md5,hmac-md5-96,hmac-sha1-96,hmac-md5-etm@openssh.com," +
  "hmac-md5-96-etm@openssh.com,hmac-sha1-96-etm@openssh.com";

/** Everything each peer can be made to offer, legacy included. */
const PEER_OPTIONS = {
  "openssh": {
    kexAlgorithms: [
      "+diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1",
    ],
    ciphers: ["+aes128-cbc,aes192-cbc,aes256-cbc,3des-cbc"],
    macs: [LEGACY_MACS],
    hostKeyAlgorithms: ["+ssh-rsa"],
  },
  "openssh-trixie": {
    kexAlgorithms: ["+diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1"],
    ciphers: ["+aes128-cbc,aes192-cbc,aes256-cbc,3des-cbc"],
    macs: [LEGACY_MACS],
    hostKeyAlgorithms: ["+ssh-rsa"],
  },
  "dropbear": {},
} as const;

function base(f: PeerFixture): ConnectOptions {
  return {
    port: f.port,
    username: f.user.name,
    clientKeys: [f.clientKeys[0]!.privateKeyText],
    knownHosts: f.knownHostsPath,
    connectTimeout: 20_000,
  };
}

const offered = new Map<PeerName, Promise<KexInitLists>>();

/** What the peer offers, read from its KEXINIT on a default connection. */
function peerOffer(peer: PeerName): Promise<KexInitLists> {
  let p = offered.get(peer);
  if (!p) {
    p = (async () => {
      const f = await sharedPeer(peer, PEER_OPTIONS[peer]);
      const conn = await connect(f.host, base(f));
      try {
        const lists = conn.getExtraInfo().serverAlgorithms;
        assert.ok(lists);
        return lists;
      } finally {
        await conn.close();
      }
    })();
    offered.set(peer, p);
  }
  return p;
}

async function echoWith(peer: PeerName, extra: Partial<ConnectOptions>) {
  const f = await sharedPeer(peer, PEER_OPTIONS[peer]);
  await using conn = await connect(f.host, { ...base(f), ...extra });
  const r = await conn.run("echo ok", { check: true });
  assert.equal(r.stdout, "ok\n");
  return conn.getExtraInfo();
}

const KINDS = [
  ["kex", "kexAlgs", (l: KexInitLists) => l.kex, SUPPORTED_KEX],
  ["cipher", "encryptionAlgs", (l: KexInitLists) => l.cipherS2C, SUPPORTED_CIPHERS],
  ["MAC", "macAlgs", (l: KexInitLists) => l.macS2C, SUPPORTED_MACS],
  ["host key", "serverHostKeyAlgs", (l: KexInitLists) => l.hostKey, SUPPORTED_SIGNATURE_ALGORITHMS],
] as const;

for (const peer of ["openssh", "openssh-trixie", "dropbear"] as const) {
  for (const [kind, option, pick, ours] of KINDS) {
    conformanceTest(
      `connect() negotiates every ${kind} ${peer} offers`,
      { peers: [peer] },
      async () => {
        const lists = await peerOffer(peer);
        const common = pick(lists).filter((a) => ours.includes(a));
        assert.ok(common.length > 0, `no common ${kind}`);
        const failures: string[] = [];
        for (const alg of common) {
          try {
            const extra: Partial<ConnectOptions> = kind === "MAC"
              ? { macAlgs: [alg], encryptionAlgs: ["aes128-ctr"] }
              : { [option]: [alg] };
            const info = await echoWith(peer, extra);
            const a = info.algorithms!;
            const got = kind === "kex"
              ? a.kex
              : kind === "cipher"
              ? a.cipherC2S
              : kind === "MAC"
              ? a.macC2S
              : a.hostKey;
            assert.equal(got, alg);
            // Every peer here offers strict kex (Dropbear too, with Debian's Terrapin fix).
            assert.equal(
              info.strictKex,
              lists.kex.includes("kex-strict-s-v00@openssh.com"),
              "strict kex",
            );
          } catch (e) {
            failures.push(`${alg}: ${(e as Error).message}`);
          }
        }
        assert.deepEqual(failures, [], `${peer} offered ${common.join(", ")}`);
      },
    );
  }
}

for (const peer of ["openssh", "openssh-trixie"] as const) {
  conformanceTest(`connect() negotiates strict kex with ${peer}`, { peers: [peer] }, async () => {
    const lists = await peerOffer(peer);
    assert.ok(lists.kex.includes("kex-strict-s-v00@openssh.com"));
    const info = await echoWith(peer, { requireStrictKex: true });
    assert.equal(info.strictKex, true);
  });

  conformanceTest(
    `connect() compresses with each method ${peer} offers`,
    { peers: [peer] },
    async () => {
      const lists = await peerOffer(peer);
      const methods = lists.compressionS2C.filter((c) => c !== "none");
      assert.ok(methods.includes("zlib@openssh.com"));
      for (const c of methods) {
        const info = await echoWith(peer, { compressionAlgs: [c] });
        assert.equal(info.algorithms?.compressionC2S, c);
      }
    },
  );
}
