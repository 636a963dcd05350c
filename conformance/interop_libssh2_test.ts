/**
 * libssh2 1.10 (Debian's libssh2-1-dev) as a client of our `listen()`, through a
 * small C program compiled here (conformance/peers/libssh2_client.c): password,
 * keyboard-interactive and ed25519 logins at its defaults, exit status, 16 MiB with
 * its hash, a pty through our line editor, direct-tcpip, rekeys we start (libssh2
 * has no way to start one), and every algorithm both implement — libssh2 still
 * offers blowfish-cbc, cast128-cbc, arcfour, arcfour128, 3des-cbc and hmac-md5(-96),
 * so it is a real peer for those (with OpenSSL's legacy provider loaded for it:
 * peers/openssl_legacy.cnf).
 *
 * libssh2 1.10 signs with RSA keys only as `ssh-rsa` (SHA-1), which we refuse by
 * default: the test shows the refusal and that listing `ssh-rsa` in `signatureAlgs`
 * makes it work.
 *
 * Node runs everything; Deno and Bun run the logins and the rekey.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";
import { DEFAULT_PUBLIC_KEY_ALGORITHMS } from "../core/publickey/algorithms.ts";
import { runCommand } from "./fixtures/mod.ts";
import {
  buildCPeer,
  BULK,
  eachLimited,
  echoServer,
  fullInterop,
  interopServer,
  interopTest,
  keyMaterial,
  LOGIN,
  REKEY_TRANSFER,
  scratchFile,
  sha256Hex,
  shared,
  testData,
} from "./interop_peers.ts";
import type { TestServer } from "./server_fixture.ts";

interface Libssh2Result {
  readonly ok: boolean;
  readonly error?: string;
  readonly kex?: string;
  readonly cipher?: string;
  readonly hmac?: string;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly forwarded?: string;
  readonly then?: string;
  readonly exitStatus?: number;
}

function binary(): string {
  return buildCPeer("libssh2_client", "ssh2");
}

/** OpenSSL's legacy provider for libssh2's Blowfish, CAST-128 and RC4 (see the file). */
const OPENSSL_CONF = fileURLToPath(new URL("./peers/openssl_legacy.cnf", import.meta.url));

/** Runs the libssh2 client once against `server` with extra arguments. */
async function libssh2(server: TestServer, args: readonly string[]): Promise<Libssh2Result> {
  const known = scratchFile(`known_hosts_${server.port}`, server.knownHosts);
  const r = await runCommand(
    [
      binary(),
      "--port",
      String(server.port),
      "--user",
      LOGIN.user,
      "--known-hosts",
      known,
      ...args,
    ],
    { timeoutMs: 180_000, env: { ...process.env as Record<string, string>, OPENSSL_CONF } },
  );
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (line === undefined) {
    throw new Error(`libssh2 client printed nothing (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(line) as Libssh2Result;
}

/** libssh2's own list of what it implements (libssh2_session_supported_algs). */
async function supported(kind: "kex" | "cipher" | "mac"): Promise<string[]> {
  const r = await runCommand([binary(), "--list", kind], { check: true });
  return JSON.parse(r.stdout) as string[];
}

function ok(r: Libssh2Result, what: string): Libssh2Result {
  assert.ok(r.ok, `${what}: ${r.error}`);
  return r;
}

async function keyPath(name: string): Promise<string> {
  const m = await keyMaterial();
  return m.clientKeys.find((k) => k.name === name)!.privateKeyPath;
}

interopTest(
  "libssh2's client logs in to listen() at its defaults: password, kbdint, ed25519",
  { tools: ["libssh2"] },
  async () => {
    await using server = await interopServer();
    const info = (r: Libssh2Result) => JSON.parse(r.stdout!) as Record<string, string>;
    const pw = ok(
      await libssh2(server, ["--password", LOGIN.password, "--command", "algorithms"]),
      "password",
    );
    assert.equal(info(pw).authMethod, "password");
    assert.equal(pw.kex, "curve25519-sha256");
    const kbd = ok(
      await libssh2(server, ["--kbdint", LOGIN.password, "--command", "algorithms"]),
      "kbdint",
    );
    assert.equal(info(kbd).authMethod, "keyboard-interactive");
    const ed = ok(
      await libssh2(server, ["--key", await keyPath("ed25519"), "--command", "algorithms"]),
      "ed25519",
    );
    assert.equal(info(ed).authMethod, "publickey");
    const exit = ok(
      await libssh2(server, ["--password", LOGIN.password, "--command", "exit 9"]),
      "exit",
    );
    assert.equal(exit.exitStatus, 9);
  },
);

interopTest(
  "libssh2 1.10 signs RSA only with ssh-rsa: listen() refuses it by default, accepts it when ssh-rsa is listed",
  { tools: ["libssh2"] },
  async () => {
    const rsa = await keyPath("rsa-3072");
    {
      await using server = await interopServer();
      const r = await libssh2(server, ["--key", rsa, "--command", "algorithms"]);
      assert.equal(r.ok, false);
      // libssh2 reports the server's refusal of the key as such.
      assert.match(r.error!, /^authentication: .*(PublicKey|public key|Username\/PublicKey)/i);
    }
    {
      await using server = await interopServer({
        signatureAlgs: [...DEFAULT_PUBLIC_KEY_ALGORITHMS, "ssh-rsa"],
      });
      const r = ok(await libssh2(server, ["--key", rsa, "--command", "algorithms"]), "ssh-rsa");
      assert.equal(JSON.parse(r.stdout!).authMethod, "publickey");
    }
  },
);

interopTest(
  "listen() rekeys libssh2's client during a transfer, data intact",
  { tools: ["libssh2"] },
  async () => {
    const size = REKEY_TRANSFER;
    const data = scratchFile(`libssh2_data_${size}`, testData(size, 6));
    await using server = await interopServer({ rekeyBytes: 256 * 1024, windowSize: 256 * 1024 });
    const r = ok(
      await libssh2(server, [
        "--password",
        LOGIN.password,
        "--command",
        "sha256",
        "--stdin-file",
        data,
        "--then",
        "algorithms",
      ]),
      "rekey",
    );
    assert.equal(r.stdout!.trim(), sha256Hex(testData(size, 6)));
    const kexCount = JSON.parse(r.then!).kexCount as number;
    assert.ok(kexCount >= 3, `only ${kexCount} key exchanges`);
  },
);

if (fullInterop()) {
  interopTest(
    "libssh2's client: a pty through our line editor, direct-tcpip, 16 MiB with its hash",
    { tools: ["libssh2"] },
    async () => {
      const echo = await echoServer();
      try {
        await using server = await interopServer();
        const pty = ok(
          await libssh2(server, [
            "--password",
            LOGIN.password,
            "--pty-line",
            "echo one",
            "--pty-line",
            "echo twx\x7fo",
          ]),
          "pty",
        );
        assert.match(pty.stdout!, /echo one\r\n/);
        assert.match(pty.stdout!, /\r\ntwo\r\n/);
        const fwd = ok(
          await libssh2(server, [
            "--password",
            LOGIN.password,
            "--forward",
            String(echo.port),
            "--forward-text",
            "ping\n",
          ]),
          "forward",
        );
        assert.equal(fwd.forwarded, "ping\n");
        const bulk = scratchFile(`libssh2_bulk`, testData(BULK, 11));
        const r = ok(
          await libssh2(server, [
            "--password",
            LOGIN.password,
            "--command",
            "sha256",
            "--stdin-file",
            bulk,
          ]),
          "16 MiB",
        );
        assert.equal(r.stdout!.trim(), sha256Hex(testData(BULK, 11)));
      } finally {
        await echo.close();
      }
    },
  );

  interopTest(
    "libssh2's client logs in to listen() with every kex, cipher and MAC both implement",
    { tools: ["libssh2"], timeoutMs: 300_000 },
    async () => {
      await using server = await interopServer({ everything: true });
      const failures: string[] = [];
      const cases = [
        ...shared(await supported("kex"), SUPPORTED_KEX).map((k) =>
          ["kex", k, ["--kex", k]] as const
        ),
        ...shared(await supported("cipher"), SUPPORTED_CIPHERS).map((c) =>
          ["cipher", c, ["--ciphers", c]] as const
        ),
        ...shared(await supported("mac"), SUPPORTED_MACS).map((m) =>
          ["mac", m, ["--hmac", m, "--ciphers", "aes128-ctr"]] as const
        ),
      ];
      await eachLimited(cases, 3, async ([kind, name, args]) => {
        const r = await libssh2(server, [
          "--password",
          LOGIN.password,
          ...args,
          "--command",
          "algorithms",
        ]);
        if (!r.ok) {
          failures.push(`${name}: ${r.error}`);
          return;
        }
        const negotiated = JSON.parse(r.stdout!) as Record<string, string>;
        const field = kind === "kex" ? "kex" : kind === "cipher" ? "cipherC2S" : "macC2S";
        if (negotiated[field] !== name) failures.push(`${name}: negotiated ${negotiated[field]}`);
      });
      assert.deepEqual(failures, [], `tried ${cases.map((c) => c[1]).join(", ")}`);
    },
  );
}
