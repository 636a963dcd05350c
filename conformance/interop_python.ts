/**
 * The interop suite for the two Python peers, AsyncSSH 2.10 and paramiko 2.12
 * (Debian's python3-asyncssh and python3-paramiko), both ways: their client
 * against our `listen()` and our `connect()` against their server. Logins by
 * password, keyboard-interactive, ed25519 and RSA keys (rsa-sha2-256 and -512),
 * commands with exit status and stderr, 16 MiB through stdin with the hash
 * checked, a pty through our line editor, direct-tcpip, rekeys started by
 * either side, and every kex, cipher and MAC both implement.
 *
 * Node runs everything; Deno and Bun run the default-settings logins and one
 * rekey each way with 2 MiB (see `fullInterop()`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";
import {
  algorithmLoop,
  checkBulk,
  checkDirectTcpip,
  checkLogins,
  fixtureKnownHosts,
  ourLogin,
} from "./interop_client.ts";
import {
  assertAllOk,
  echoServer,
  fullInterop,
  interopServer,
  interopTest,
  keyMaterial,
  LOGIN,
  peerAlgorithms,
  type PeerCase,
  type PeerResult,
  pythonDriver,
  runDriver,
  scratchFile,
  sha256Hex,
  shared,
  startDriverServer,
  testData,
} from "./interop_peers.ts";
import type { TestServer } from "./server_fixture.ts";

const MiB = 1024 * 1024;

/** The Python peers. */
export type PythonPeer = "asyncssh" | "paramiko";

/** What differs between the peers. */
export interface PythonPeerTraits {
  /** Display name. */
  readonly name: string;
  /** The kex both negotiate at their defaults with our client and with our server. */
  readonly defaultKex: { readonly ourClient: string; readonly ourServer: string };
  /**
   * Kex methods the connect() loop leaves to the other direction, with the reason
   * (the peer's server is slow at them; its client runs them against listen()).
   */
  readonly slowForOurClient: readonly string[];
  /**
   * The peer's server announces server-sig-algs only when ext-info-c is the last
   * name in the client's kex list (paramiko 2.12); ours, like OpenSSH's, ends with
   * the strict-kex marker.
   */
  readonly extInfoMustBeLast?: boolean;
}

/** Runs the peer's client against `server` with `cases`. */
export async function peerClient(
  module: PythonPeer,
  server: TestServer,
  cases: readonly PeerCase[],
): Promise<PeerResult[]> {
  const plan = {
    host: "127.0.0.1",
    port: server.port,
    user: LOGIN.user,
    password: LOGIN.password,
    knownHosts: scratchFile(`known_hosts_${server.port}`, server.knownHosts),
    cases,
  };
  const { results, stderr } = await runDriver(pythonDriver(module, "client"), plan);
  if (results.length !== cases.length) {
    throw new Error(`${module} driver returned ${results.length}/${cases.length}\n${stderr}`);
  }
  return results;
}

/** The result with this id, which must have succeeded. */
export function byId(results: readonly PeerResult[], id: string): PeerResult {
  const r = results.find((x) => x.id === id);
  assert.ok(r, `no result for ${id}`);
  assert.ok(r.ok, `${id}: ${r.error}`);
  return r;
}

/** Starts the peer's server with the fixture host keys and client keys. */
export async function peerServer(module: PythonPeer, config: Record<string, unknown> = {}) {
  const m = await keyMaterial();
  return startDriverServer(pythonDriver(module, "server"), {
    hostKeys: m.hostKeys.map((k) => k.privateKeyPath),
    authorizedKeys: scratchFile(
      `${module}_authorized_keys`,
      m.clientKeys.map((k) => k.publicKeyLine).join("\n") + "\n",
    ),
    user: LOGIN.user,
    password: LOGIN.password,
    ...config,
  });
}

/** Registers the whole suite for one Python peer. */
export function pythonPeerSuite(module: PythonPeer, traits: PythonPeerTraits): void {
  const name = traits.name;
  const tools = [module] as const;

  interopTest(
    `${name}'s client logs in to listen() at its defaults: password, kbdint, ed25519, RSA (rsa-sha2-256/512)`,
    { tools },
    async () => {
      await using server = await interopServer();
      const m = await keyMaterial();
      const key = (n: string) => m.clientKeys.find((k) => k.name === n)!.privateKeyPath;
      const results = await peerClient(module, server, [
        { id: "defaults", auth: "password", command: "algorithms" },
        { id: "kbdint", auth: "kbdint", command: "algorithms" },
        { id: "ed25519", auth: "key", key: key("ed25519"), command: "algorithms" },
        ...["rsa-sha2-256", "rsa-sha2-512"].map((alg) => ({
          id: alg,
          auth: "key",
          key: key("rsa-3072"),
          sigAlgs: [alg],
          command: "algorithms",
        })),
        { id: "exit", auth: "password", command: "exit 7" },
        { id: "stderr", auth: "password", command: "stderr oops" },
      ]);
      const info = (id: string) => JSON.parse(byId(results, id).stdout!);
      assert.equal(info("defaults").authMethod, "password");
      assert.equal(info("defaults").kex, traits.defaultKex.ourServer);
      assert.equal(info("kbdint").authMethod, "keyboard-interactive");
      for (const id of ["ed25519", "rsa-sha2-256", "rsa-sha2-512"]) {
        assert.equal(info(id).authMethod, "publickey", id);
      }
      assert.equal(byId(results, "exit").exitStatus, 7);
      assert.equal(byId(results, "stderr").stderr, "oops\n");
    },
  );

  interopTest(
    `${name}'s client rekeys with listen() (${name} starts it) and keeps the data intact`,
    { tools },
    async () => {
      await using server = await interopServer();
      const size = fullInterop() ? 16 * MiB : 2 * MiB;
      const results = await peerClient(module, server, [{
        id: "rekey",
        auth: "password",
        command: "sha256",
        stdinSize: size,
        seed: 3,
        rekeyBytes: 512 * 1024,
        then: "algorithms",
      }]);
      const r = byId(results, "rekey");
      assert.equal(r.stdout!.trim(), r.sentHash);
      assert.equal(r.sentHash, sha256Hex(testData(size, 3)));
      const kexCount = JSON.parse(r.then as string).kexCount as number;
      assert.ok(kexCount >= 3, `only ${kexCount} key exchanges`);
    },
  );

  interopTest(
    `listen() rekeys ${name}'s client (we start it) during a transfer`,
    { tools },
    async () => {
      // A 256 KiB window makes the client wait for us, so our KEXINIT reaches it
      // mid-transfer (with the default window the whole transfer is on the wire first).
      await using server = await interopServer({
        rekeyBytes: 256 * 1024,
        windowSize: 256 * 1024,
      });
      const results = await peerClient(module, server, [{
        id: "rekey",
        auth: "password",
        command: "sha256",
        stdinSize: 2 * MiB,
        seed: 4,
        then: "algorithms",
      }]);
      const r = byId(results, "rekey");
      assert.equal(r.stdout!.trim(), r.sentHash);
      const kexCount = JSON.parse(r.then as string).kexCount as number;
      assert.ok(kexCount >= 3, `only ${kexCount} key exchanges`);
    },
  );

  if (fullInterop()) {
    interopTest(
      `${name}'s client: 16 MiB with its hash back, a pty through our line editor, direct-tcpip`,
      { tools },
      async () => {
        const echo = await echoServer();
        try {
          await using server = await interopServer();
          const results = await peerClient(module, server, [
            { id: "bulk", auth: "password", command: "sha256", stdinSize: 16 * MiB, seed: 1 },
            { id: "pty", auth: "password", ptyLines: ["echo one", "echo twx\x7fo"] },
            { id: "forward", auth: "password", forwardPort: echo.port, forwardText: "ping\n" },
          ]);
          assert.equal(byId(results, "bulk").stdout!.trim(), sha256Hex(testData(16 * MiB, 1)));
          // The line editor echoes what was typed (the backspace edited), the shell answers.
          const pty = byId(results, "pty").stdout!;
          assert.match(pty, /echo one\r\n/);
          assert.match(pty, /\r\none\r\n/);
          assert.match(pty, /\r\ntwo\r\n/);
          assert.equal(byId(results, "forward").forwarded, "ping\n");
        } finally {
          await echo.close();
        }
      },
    );

    interopTest(
      `${name}'s client logs in to listen() with every kex, cipher and MAC both implement`,
      { tools, timeoutMs: 300_000 },
      async () => {
        const theirs = peerAlgorithms(module);
        const cases: PeerCase[] = [
          ...shared(theirs.kex, SUPPORTED_KEX).map((k) => ({ id: `kex ${k}`, kex: [k] })),
          ...shared(theirs.ciphers, SUPPORTED_CIPHERS).map((c) => ({
            id: `cipher ${c}`,
            ciphers: [c],
          })),
          ...shared(theirs.macs, SUPPORTED_MACS).map((m) => ({
            id: `mac ${m}`,
            macs: [m],
            ciphers: ["aes128-ctr"],
          })),
        ].map((c) => ({ ...c, auth: "password", command: "algorithms" }));
        await using server = await interopServer({ everything: true });
        const results = await peerClient(module, server, cases);
        assertAllOk(results, cases.length, `${name} client → listen()`);
        for (const r of results) {
          const [kind, alg] = r.id.split(" ") as [string, string];
          const negotiated = JSON.parse(r.stdout!) as Record<string, string>;
          const field = kind === "kex" ? "kex" : kind === "cipher" ? "cipherC2S" : "macC2S";
          assert.equal(negotiated[field], alg, r.id);
        }
      },
    );
  }

  // ---- our connect() against the peer's server ----

  interopTest(
    `connect() logs in to ${name}'s server at its defaults: password, kbdint, ed25519, RSA`,
    { tools },
    async () => {
      await using peer = await peerServer(module);
      await checkLogins(peer.port, ["password", "kbdint", "ed25519", "rsa-3072"]);
      await using conn = await ourLogin(peer.port, await fixtureKnownHosts(peer.port), "password");
      assert.equal(conn.getExtraInfo().algorithms?.kex, traits.defaultKex.ourClient);
    },
  );

  interopTest(
    `connect() signs with rsa-sha2-256 and rsa-sha2-512 when that is all ${name} accepts`,
    { tools },
    async () => {
      {
        await using peer = await peerServer(module, { sigAlgs: ["rsa-sha2-256"] });
        await checkLogins(peer.port, ["rsa-3072"]);
      }
      await using peer = await peerServer(module, { sigAlgs: ["rsa-sha2-512"] });
      if (!traits.extInfoMustBeLast) {
        await checkLogins(peer.port, ["rsa-3072"]);
        return;
      }
      // Without server-sig-algs, RFC 8332 §3.3 leaves the client to guess: we use
      // rsa-sha2-256, which this server refuses, and the error says authentication failed.
      await assert.rejects(
        checkLogins(peer.port, ["rsa-3072"]),
        /rsa-3072: .*(auth|Permission denied)/i,
      );
      // Without strict kex our kex list ends with ext-info-c, the server announces
      // server-sig-algs, and we sign with rsa-sha2-512.
      await checkLogins(peer.port, ["rsa-3072"], { strictKex: false });
    },
  );

  interopTest(
    `connect() survives rekeys ${name}'s server starts, and starts its own`,
    { tools },
    async () => {
      const size = fullInterop() ? 16 * MiB : 2 * MiB;
      // The data is echoed back ("cat") so the server sends as much as it receives
      // (AsyncSSH counts only what it sends); small windows interleave rekeys and data.
      const small = { windowSize: 256 * 1024 };
      {
        await using peer = await peerServer(module, { rekeyBytes: 512 * 1024 });
        const kexCount = await checkBulk(peer.port, size, small, true);
        assert.ok(kexCount >= 3, `${name}-started: only ${kexCount} key exchanges`);
      }
      {
        await using peer = await peerServer(module);
        const kexCount = await checkBulk(peer.port, size, { ...small, rekeyBytes: 512 * 1024 });
        assert.ok(kexCount >= 3, `connect()-started: only ${kexCount} key exchanges`);
      }
    },
  );

  if (fullInterop()) {
    interopTest(`connect() through ${name}'s server: direct-tcpip`, { tools }, async () => {
      await using peer = await peerServer(module);
      await checkDirectTcpip(peer.port);
    });

    interopTest(
      `connect() logs in to ${name}'s server with every kex, cipher and MAC both implement`,
      { tools, timeoutMs: 300_000 },
      async () => {
        const theirs = peerAlgorithms(module);
        const kex = shared(theirs.kex, SUPPORTED_KEX);
        const ciphers = shared(theirs.ciphers, SUPPORTED_CIPHERS);
        const macs = shared(theirs.macs, SUPPORTED_MACS);
        await using peer = await peerServer(module, { kex, ciphers, macs });
        const slow = new Set(traits.slowForOurClient);
        const failures = [
          ...await algorithmLoop(peer.port, "kex", kex.filter((k) => !slow.has(k))),
          ...await algorithmLoop(peer.port, "cipher", ciphers),
          ...await algorithmLoop(peer.port, "mac", macs),
        ];
        assert.deepEqual(failures, [], peer.log().slice(-2000));
      },
    );
  }
}
