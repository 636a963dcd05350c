/**
 * The interop suite for the peers that have both a client and a server and are
 * driven by a JSON plan: AsyncSSH 2.10 and paramiko 2.12 (Debian's
 * python3-asyncssh and python3-paramiko) and the `ssh2` npm package, both ways:
 * their client against our `listen()` and our `connect()` against their server. Logins by
 * password, keyboard-interactive, ed25519 and RSA keys (rsa-sha2-256 and -512),
 * commands with exit status and stderr, 16 MiB through stdin with the hash
 * checked, a pty through our line editor, direct-tcpip, rekeys started by
 * either side, and every kex, cipher and MAC both implement.
 *
 * Node runs everything; Deno and Bun run the default-settings logins and one
 * rekey each way with 1 MiB (see `fullInterop()`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
  BULK,
  echoServer,
  fullInterop,
  interopServer,
  interopTest,
  keyMaterial,
  LOGIN,
  NODE,
  type PeerAlgorithms,
  type PeerCase,
  type PeerResult,
  PEERS_DIR,
  pythonDriver,
  REKEY_TRANSFER,
  runDriver,
  runDriverParallel,
  scratchDir,
  scratchFile,
  sha256Hex,
  shared,
  startDriverServer,
  testData,
} from "./interop_peers.ts";
import type { TestServer } from "./server_fixture.ts";
import type { ConnectOptions } from "../io/client/options.ts";

/** The peers this suite drives. */
export type PlanPeer = "asyncssh" | "paramiko" | "ssh2";

/** What differs between the peers. */
export interface PeerTraits {
  /** Display name. */
  readonly name: string;
  /** The peer's own algorithm lists, asked at run time. */
  algorithms(): PeerAlgorithms;
  /** The kex both negotiate at their defaults with our client and with our server. */
  readonly defaultKex: { readonly ourClient: string; readonly ourServer: string };
  /**
   * Kex methods the connect() loop leaves out: the peer's server is very slow at
   * them or does not implement them (each test file says which and why); where the
   * peer's client has them, it runs them against listen().
   */
  readonly notForOurClient: readonly string[];
  /**
   * When the peer's server does not tell us (in server-sig-algs) that it wants
   * rsa-sha2-512, we cannot know, and sign with rsa-sha2-256 (RFC 8332 §3.3): why
   * this peer's server does not tell, and the connect() options that get round it
   * (if any). Absent: the peer announces what it accepts.
   */
  readonly rsaSha512Only?: { readonly why: string; readonly workaround?: ConnectOptions };
  /**
   * How the peer starts rekeys: after a byte count it sets (the default), or only
   * when told to, once (`ssh2`'s `rekey()`).
   */
  readonly rekeyOnce?: boolean;
  /** The peer's server moves data slowly (paramiko: ~2 MB/s): our bulk test sends 4 MiB. */
  readonly slowServer?: boolean;
  /** Why the peer's driver serves no SFTP (absent: it does, with `sftpRoot`). */
  readonly noSftpServer?: string;
}

/** The driver command line for a peer. */
export function driverFor(peer: PlanPeer, mode: "client" | "server"): string[] {
  return peer === "ssh2"
    ? [NODE, join(PEERS_DIR, "ssh2_peer.mjs"), mode]
    : pythonDriver(peer, mode);
}

/** Runs the peer's client against `server` with `cases`. */
export async function peerClient(
  module: PlanPeer,
  server: TestServer,
  cases: readonly PeerCase[],
  parallel = 1,
): Promise<PeerResult[]> {
  const plan = {
    host: "127.0.0.1",
    port: server.port,
    user: LOGIN.user,
    password: LOGIN.password,
    knownHosts: scratchFile(`known_hosts_${server.port}`, server.knownHosts),
    cases,
  };
  const { results, stderr } = parallel > 1
    ? await runDriverParallel(driverFor(module, "client"), plan, parallel)
    : await runDriver(driverFor(module, "client"), plan);
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
export async function peerServer(module: PlanPeer, config: Record<string, unknown> = {}) {
  const m = await keyMaterial();
  return startDriverServer(driverFor(module, "server"), {
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

/**
 * Key exchanges a rekey test must see: the handshake plus one rekey at least, two
 * with the 4 MiB transfers of the full run (1 MiB can fit in flight before a peer
 * that rekeys by bytes gets to its second).
 */
function rekeysAtLeast(traits: { readonly rekeyOnce?: boolean }): number {
  return traits.rekeyOnce || !fullInterop() ? 2 : 3;
}

/** Registers the whole suite for one peer. */
export function peerSuite(module: PlanPeer, traits: PeerTraits): void {
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
      const size = REKEY_TRANSFER;
      const results = await peerClient(module, server, [{
        id: "rekey",
        auth: "password",
        command: "sha256",
        stdinSize: size,
        seed: 3,
        ...(traits.rekeyOnce ? { rekeyAfter: size / 2 } : { rekeyBytes: 256 * 1024 }),
        then: "algorithms",
      }]);
      const r = byId(results, "rekey");
      assert.equal(r.stdout!.trim(), r.sentHash);
      assert.equal(r.sentHash, sha256Hex(testData(size, 3)));
      const kexCount = JSON.parse(r.then as string).kexCount as number;
      assert.ok(kexCount >= rekeysAtLeast(traits), `only ${kexCount} key exchanges`);
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
        stdinSize: REKEY_TRANSFER,
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
            { id: "bulk", auth: "password", command: "sha256", stdinSize: BULK, seed: 1 },
            { id: "pty", auth: "password", ptyLines: ["echo one", "echo twx\x7fo"] },
            { id: "forward", auth: "password", forwardPort: echo.port, forwardText: "ping\n" },
          ]);
          assert.equal(byId(results, "bulk").stdout!.trim(), sha256Hex(testData(BULK, 1)));
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
        const theirs = traits.algorithms();
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
        const results = await peerClient(module, server, cases, 3);
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

  interopTest(
    `${name}'s SFTP client against listen({ sftp }): write, rename, symlink, list, read back, remove`,
    { tools },
    async () => {
      const root = mkdtempSync(join(scratchDir(), "sftp-"));
      await using server = await interopServer({ sftp: { root } });
      const results = await peerClient(module, server, [
        { id: "sftp", auth: "password", sftp: REKEY_TRANSFER, seed: 13 },
      ]);
      const r = byId(results, "sftp").sftp as Record<string, unknown>;
      assert.deepEqual(r.names, ["b.bin", "l"]);
      assert.equal(r.sentHash, sha256Hex(testData(REKEY_TRANSFER, 13)));
      // Read back through the relative link the peer made (in the order it sends).
      assert.equal(r.backHash, r.sentHash);
      assert.equal(r.linkTarget, "b.bin");
      assert.deepEqual(readdirSync(root), []);
    },
  );

  // ---- our connect() against the peer's server ----

  if (traits.noSftpServer === undefined) {
    interopTest(
      `connect()'s SFTP client against ${name}'s SFTP server: put, rename, symlink, list, get, remove`,
      { tools },
      async () => {
        const root = mkdtempSync(join(scratchDir(), "peer-sftp-"));
        const local = mkdtempSync(join(scratchDir(), "local-"));
        const data = testData(REKEY_TRANSFER, 14);
        writeFileSync(join(local, "up.bin"), data);
        await using peer = await peerServer(module, { sftpRoot: root });
        await using conn = await ourLogin(
          peer.port,
          await fixtureKnownHosts(peer.port),
          "ed25519",
        );
        await using sftp = await conn.startSftp();
        await sftp.mkdir("/d");
        await sftp.put(join(local, "up.bin"), "/d/a.bin");
        assert.equal(sha256Hex(readFileSync(join(root, "d", "a.bin"))), sha256Hex(data));
        await sftp.rename("/d/a.bin", "/d/b.bin");
        // In the order this peer reads: the link is "l", leading to "b.bin".
        await sftp.symlink("b.bin", "/d/l");
        // (Not read back with readlink: AsyncSSH's chroot answers it for absolute targets only.)
        assert.equal(readlinkSync(join(root, "d", "l")), "b.bin");
        assert.deepEqual(
          (await sftp.listdir("/d")).filter((n) => n !== "." && n !== "..").sort(),
          ["b.bin", "l"],
        );
        await sftp.get("/d/l", join(local, "down.bin"));
        assert.equal(sha256Hex(readFileSync(join(local, "down.bin"))), sha256Hex(data));
        await sftp.remove("/d/l");
        await sftp.remove("/d/b.bin");
        await sftp.rmdir("/d");
        assert.deepEqual(readdirSync(root), []);
      },
    );
  }

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
      const limit = traits.rsaSha512Only;
      if (limit === undefined) {
        await checkLogins(peer.port, ["rsa-3072"]);
        return;
      }
      // The peer cannot say it wants rsa-sha2-512 (see the trait); we use rsa-sha2-256,
      // which it refuses, and the error says authentication was refused (paramiko
      // disconnects with "no more auth methods" instead of answering a failure).
      await assert.rejects(
        checkLogins(peer.port, ["rsa-3072"]),
        /rsa-3072: (Permission denied .*publickey|Peer disconnected \(reason 14\): No more auth)/,
        limit.why,
      );
      if (limit.workaround) await checkLogins(peer.port, ["rsa-3072"], limit.workaround);
    },
  );

  interopTest(
    `connect() survives rekeys ${name}'s server starts, and starts its own`,
    { tools },
    async () => {
      const size = REKEY_TRANSFER;
      // The data is echoed back ("cat") so the server sends as much as it receives
      // (AsyncSSH counts only what it sends); small windows interleave rekeys and data.
      const small = { windowSize: 256 * 1024 };
      {
        await using peer = await peerServer(
          module,
          traits.rekeyOnce ? { rekeyAfter: size / 2 } : { rekeyBytes: 256 * 1024 },
        );
        const kexCount = await checkBulk(peer.port, size, small, true);
        const least = rekeysAtLeast(traits);
        assert.ok(kexCount >= least, `${name}-started: only ${kexCount} key exchanges`);
      }
      {
        await using peer = await peerServer(module);
        const kexCount = await checkBulk(peer.port, size, { ...small, rekeyBytes: 256 * 1024 });
        const least = rekeysAtLeast({});
        assert.ok(kexCount >= least, `connect()-started: only ${kexCount} key exchanges`);
      }
    },
  );

  if (fullInterop()) {
    interopTest(
      `connect() through ${name}'s server: direct-tcpip, ${
        traits.slowServer ? 4 : 16
      } MiB with its hash back`,
      { tools },
      async () => {
        await using peer = await peerServer(module);
        await checkDirectTcpip(peer.port);
        await checkBulk(peer.port, traits.slowServer ? BULK / 4 : BULK);
      },
    );

    interopTest(
      `connect() logs in to ${name}'s server with every kex, cipher and MAC both implement`,
      { tools, timeoutMs: 300_000 },
      async () => {
        const theirs = traits.algorithms();
        const kex = shared(theirs.kex, SUPPORTED_KEX);
        const ciphers = shared(theirs.ciphers, SUPPORTED_CIPHERS);
        const macs = shared(theirs.macs, SUPPORTED_MACS);
        await using peer = await peerServer(module, { kex, ciphers, macs });
        const skip = new Set(traits.notForOurClient);
        const failures = [
          ...await algorithmLoop(peer.port, "kex", kex.filter((k) => !skip.has(k))),
          ...await algorithmLoop(peer.port, "cipher", ciphers),
          ...await algorithmLoop(peer.port, "mac", macs),
        ];
        assert.deepEqual(failures, [], peer.log().slice(-2000));
      },
    );
  }
}
