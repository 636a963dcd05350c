import { test } from "node:test";
import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import { modPow } from "../publickey/bigint.ts";
import { hex, unhex } from "../publickey/_test_util.ts";
import type { RandomSource } from "../random.ts";
import {
  bigIntToBytes,
  bigIntToMpintBytes,
  bytesToBigInt,
  SSHReader,
  SSHWriter,
  utf8,
} from "../wire.ts";
import { dhSharedSecret } from "./dh.ts";
import { MODP_GROUP_14, MODP_GROUP_16, OAKLEY_GROUP_2 } from "./dh_groups.ts";
import { gexExchangeHash } from "./gex.ts";
import { getKexMethod } from "./registry.ts";
import { singleRoundExchangeHash } from "./single_round.ts";
import type { HostKeySigner, KexContext } from "./types.ts";

/** A RandomSource that hands out fixed byte strings in order. */
function scripted(...chunks: Uint8Array[]): RandomSource {
  return (n) => {
    const c = chunks.shift();
    assert.ok(c !== undefined && c.length === n, `unexpected random(${n})`);
    return c;
  };
}

// Exchange-hash vectors from paramiko's tests/test_kex.py (LGPL; an independent
// implementation): fake versions, KEXINIT "payloads" and host key, fixed secrets.
function paramikoCtx(side: "client" | "server", random: RandomSource): KexContext {
  const local = { v: "SSH-2.0-paramiko_1.0", i: utf8("local-kex-init") };
  const remote = { v: "SSH-2.0-lame", i: utf8("remote-kex-init") };
  const [c, s] = side === "client" ? [local, remote] : [remote, local];
  return { clientVersion: c.v, serverVersion: s.v, clientKexInit: c.i, serverKexInit: s.i, random };
}
const FAKE_HOST_KEY = utf8("fake-host-key");
const FAKE_SIG = utf8("fake-sig");
const fakeSigner: HostKeySigner = { publicKeyBlob: utf8("fake-key"), sign: () => FAKE_SIG };

function fakeReply(serverValue: Uint8Array): Uint8Array {
  return new SSHWriter().writeByte(31).writeString(FAKE_HOST_KEY).writeString(serverValue)
    .writeString(FAKE_SIG)
    .toBytes();
}

function mpint(v: bigint): Uint8Array {
  return new SSHWriter().writeMpint(v).toBytes();
}

test("curve25519-sha256 computes RFC 7748's shared secret and encodes K as an mpint (RFC 8731 §3.1)", () => {
  const alice = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bob = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const method = getKexMethod("curve25519-sha256")!;
  const ctx = (r: RandomSource) => paramikoCtx("client", r);
  const client = method.createClient(ctx(scripted(alice)));
  const init = client.start().send[0]!;
  assert.equal(
    hex(init),
    "1e00000020" + "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  const server = method.createServer(ctx(scripted(bob)), { hostKey: fakeSigner });
  const reply = server.receive(init);
  const r = new SSHReader(reply.send[0]!, 1);
  r.readString();
  assert.equal(
    hex(r.readString()),
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  );
  const done = client.receive(reply.send[0]!);
  assert.equal(
    hex(done.result!.sharedSecret),
    "00000020" + "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
  );
  assert.deepEqual(done.result!.sharedSecret, reply.result!.sharedSecret);
});

test("curve25519-sha256 K gets a leading zero byte when the X25519 output's top bit is set", () => {
  // Find a secret whose shared secret with a fixed peer starts with a byte >= 0x80
  // and one that starts with 0x00; the mpint must be 33 resp. <= 31 content bytes.
  const peer = x25519.getPublicKey(new Uint8Array(32).fill(9));
  const method = getKexMethod("curve25519-sha256")!;
  let sawHigh = false;
  let sawZero = false;
  for (let i = 0; i < 2000 && !(sawHigh && sawZero); i++) {
    const sk = new Uint8Array(32);
    new DataView(sk.buffer).setUint32(0, i);
    const raw = x25519.scalarMult(sk, peer);
    if (!(raw[0]! >= 0x80) && raw[0] !== 0) continue;
    const client = method.createClient(paramikoCtx("client", scripted(sk)));
    client.start();
    const k = client.receive(fakeReply(peer)).result!.sharedSecret;
    assert.deepEqual(k, mpint(bytesToBigInt(raw)));
    if (raw[0]! >= 0x80) {
      assert.equal(k.length, 4 + 33);
      sawHigh = true;
    } else {
      assert.ok(k.length <= 4 + 32);
      sawZero = true;
    }
  }
  assert.ok(sawHigh && sawZero);
});

test("curve25519-sha256 reproduces paramiko's exchange hashes (client and server)", () => {
  const sk = unhex("2184abc7eb3e656d2349d2470ee695b570c227340c2b2863b6c9ff427af1f040");
  const peer = unhex("8d13a119452382a1ada8eea4c979f3e63ad3f0c7366786d6c5b54b87219bae49");
  const K = 71294722834835117201316639182051104803802881348227506835068888449366462300724n;
  const method = getKexMethod("curve25519-sha256")!;
  const client = method.createClient(paramikoCtx("client", scripted(sk)));
  client.start();
  const c = client.receive(fakeReply(peer)).result!;
  assert.deepEqual(c.sharedSecret, mpint(K));
  assert.equal(
    hex(c.exchangeHash).toUpperCase(),
    "05B6F6437C0CF38D1A6C5A6F6E2558DEB54E7FC62447EBFB1E5D7407326A5475",
  );
  assert.deepEqual(c.hostKeyBlob, FAKE_HOST_KEY);
  assert.deepEqual(c.signature, FAKE_SIG);

  const server = method.createServer(paramikoCtx("server", scripted(sk)), { hostKey: fakeSigner });
  const s = server.receive(new SSHWriter().writeByte(30).writeString(peer).toBytes()).result!;
  assert.deepEqual(s.sharedSecret, mpint(K));
  assert.equal(
    hex(s.exchangeHash).toUpperCase(),
    "DF08FCFCF31560FEE639D9B6D56D760BC3455B5ADA148E4514181023E7A9B042",
  );
});

test("ecdh-sha2-nistp256 reproduces paramiko's exchange hashes (client and server)", () => {
  const d = 94761803665136558137557783047955027733968423115106677159790289642479432803037n;
  const q = unhex(
    "043ae159594ba062efa121480e9ef136203fa9ec6b6e1f8723a321c16e62b945f573f3b822258cbcd094b9fa1c125cbfe5f043280893e66863cc0cb4dccbe70210",
  );
  const K = 91610929826364598472338906427792435253694642563583721654249504912114314269754n;
  // Our scalar is 1 + (40 random bytes mod (n - 1)): feed d - 1.
  const scalar = () => bigIntToBytes(d - 1n, 40);
  const method = getKexMethod("ecdh-sha2-nistp256")!;
  const client = method.createClient(paramikoCtx("client", scripted(scalar())));
  client.start();
  const c = client.receive(fakeReply(q)).result!;
  assert.deepEqual(c.sharedSecret, mpint(K));
  assert.equal(
    hex(c.exchangeHash).toUpperCase(),
    "BAF7CE243A836037EB5D2221420F35C02B9AB6C957FE3BDE3369307B9612570A",
  );
  const server = method.createServer(paramikoCtx("server", scripted(scalar())), {
    hostKey: fakeSigner,
  });
  const s = server.receive(new SSHWriter().writeByte(30).writeString(q).toBytes()).result!;
  assert.equal(
    hex(s.exchangeHash).toUpperCase(),
    "2EF4957AFD530DD3F05DBEABF68D724FACC060974DA9704F2AEE4C3DE861E7CA",
  );
});

// paramiko's DH secret: 128 bytes of 0xcc with the top bit cleared; the peer sends 69.
const PARAMIKO_X = bytesToBigInt(new Uint8Array([0x4c, ...new Uint8Array(127).fill(0xcc)]));
const PARAMIKO_E_HEX =
  "7E2DDB1743F3487D6545F04F1C8476092FB912B013626AB5BCEB764257D88BBA64243B9F348DF7B41B8C814A995E00299913503456983FFB9178D3CD79EB6D55522418A8ABF65375872E55938AB99A84A0B5FC8A1ECC66A7C3766E7E0F80B7CE2C9225FC2DD683F4764244B72963BBB383F529DCF0C5D17740B8A2ADBE9208D4";
const PARAMIKO_K =
  14730343317708716439807310032871972459448364195094179797249681733965528989482751523943515690110179031004049109375612685505881911274101441415545039654102474376472240501616988799699744135291070488314748284283496055223852115360852283821334858541043710301057312858051901453919067023103730011648890038847384890504n;

test("singleRoundExchangeHash() reproduces paramiko's diffie-hellman-group1/14/16 hashes", () => {
  const cases = [
    {
      group: OAKLEY_GROUP_2,
      hash: "sha1",
      H: "03079780F3D3AD0B3C6DB30C8D21685F367A86D2",
      K: PARAMIKO_K,
    },
    {
      group: MODP_GROUP_14,
      hash: "sha256",
      H: "D007C23686BE8A7737F828DC9E899F8EB5AF423F495F138437BE2529C1B8455F",
      K: undefined,
    },
    {
      group: MODP_GROUP_16,
      hash: "sha512",
      H: "F6E2BCC846B9B62591EFB86663D55D4769CA06B2EDABE469DF831639B2DDD5A271985011900A724CB2C87F19F347B3632A7C1536AF3D12EE463E6EA75281AF0C",
      K: undefined,
    },
  ] as const;
  for (const c of cases) {
    const e = modPow(2n, PARAMIKO_X, c.group.p);
    if (c.group === OAKLEY_GROUP_2) {
      assert.equal(hex(bigIntToBytes(e)).toUpperCase(), PARAMIKO_E_HEX);
    }
    const k = dhSharedSecret(c.group.p, PARAMIKO_X, 69n);
    if (c.K !== undefined) assert.deepEqual(k, mpint(c.K));
    const h = singleRoundExchangeHash(
      c.hash,
      paramikoCtx("client", () => new Uint8Array(0)),
      FAKE_HOST_KEY,
      bigIntToMpintBytes(e),
      bigIntToMpintBytes(69n),
      k,
    );
    assert.equal(hex(h).toUpperCase(), c.H, c.hash);
  }
});

test("gexExchangeHash() reproduces paramiko's group exchange hashes (client sha1/sha256, server sha256)", () => {
  const group = { p: OAKLEY_GROUP_2.p, g: 2n };
  const e = modPow(2n, PARAMIKO_X, group.p);
  const k = dhSharedSecret(group.p, PARAMIKO_X, 69n);
  const clientCtx = paramikoCtx("client", () => new Uint8Array(0));
  const request = { min: 1024, n: 2048, max: 8192 };
  const args = [
    FAKE_HOST_KEY,
    request,
    group,
    bigIntToMpintBytes(e),
    bigIntToMpintBytes(69n),
    k,
  ] as const;
  assert.equal(
    hex(gexExchangeHash("sha1", clientCtx, ...args)).toUpperCase(),
    "A265563F2FA87F1A89BF007EE90D58BE2E4A4BD0",
  );
  assert.equal(
    hex(gexExchangeHash("sha256", clientCtx, ...args)).toUpperCase(),
    "AD1A9365A67B4496F05594AD1BF656E3CDA0851289A4C1AFF549FEAE50896DF4",
  );
  // Server side: the client sent e = 12345 and asked for 1024/2048/4096.
  const f = modPow(2n, PARAMIKO_X, group.p);
  const ks = dhSharedSecret(group.p, PARAMIKO_X, 12345n);
  assert.deepEqual(
    ks,
    mpint(
      67592995013596137876033460028393339951879041140378510871612128162185209509220726296697886624612526735888348020498716482757677848959420073720160491114319163078862905400020959196386947926388406687288901564192071077389283980347784184487280885335302632305026248574716290537036069329724382811853044654824945750581n,
    ),
  );
  const h = gexExchangeHash(
    "sha256",
    paramikoCtx("server", () => new Uint8Array(0)),
    utf8("fake-key"),
    { min: 1024, n: 2048, max: 4096 },
    group,
    bigIntToMpintBytes(12345n),
    bigIntToMpintBytes(f),
    ks,
  );
  assert.equal(
    hex(h).toUpperCase(),
    "CCAC0497CF0ABA1DBF55E1A3995D17F4CC31824B0E8D95CDF8A06F169D050D80",
  );
});
