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
import { DEFAULT_PUBLIC_KEY_ALGORITHMS } from "../core/publickey/algorithms.ts";
import { runCommand } from "./fixtures/mod.ts";
import {
  buildCPeer,
  cClientFullInteropTests,
  cClientOk,
  type CClientResult,
  clientKeyPath,
  fullInterop,
  interopServer,
  interopTest,
  LOGIN,
  REKEY_TRANSFER,
  scratchFile,
  sha256Hex,
  testData,
} from "./interop_peers.ts";
import type { TestServer } from "./server_fixture.ts";

function binary(): string {
  return buildCPeer("libssh2_client", "ssh2");
}

/** OpenSSL's legacy provider for libssh2's Blowfish, CAST-128 and RC4 (see the file). */
const OPENSSL_CONF = fileURLToPath(new URL("./peers/openssl_legacy.cnf", import.meta.url));

/** Runs the libssh2 client once against `server` with extra arguments. */
async function libssh2(server: TestServer, args: readonly string[]): Promise<CClientResult> {
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
  return JSON.parse(line) as CClientResult;
}

/** libssh2's own list of what it implements (libssh2_session_supported_algs). */
async function supported(kind: "kex" | "cipher" | "mac"): Promise<string[]> {
  const r = await runCommand([binary(), "--list", kind], { check: true });
  return JSON.parse(r.stdout) as string[];
}

interopTest(
  "libssh2's client logs in to listen() at its defaults: password, kbdint, ed25519",
  { tools: ["libssh2"] },
  async () => {
    await using server = await interopServer();
    const info = (r: CClientResult) => JSON.parse(r.stdout!) as Record<string, string>;
    const pw = cClientOk(
      await libssh2(server, ["--password", LOGIN.password, "--command", "algorithms"]),
      "password",
    );
    assert.equal(info(pw).authMethod, "password");
    assert.equal(pw.kex, "curve25519-sha256");
    const kbd = cClientOk(
      await libssh2(server, ["--kbdint", LOGIN.password, "--command", "algorithms"]),
      "kbdint",
    );
    assert.equal(info(kbd).authMethod, "keyboard-interactive");
    const ed = cClientOk(
      await libssh2(server, ["--key", await clientKeyPath("ed25519"), "--command", "algorithms"]),
      "ed25519",
    );
    assert.equal(info(ed).authMethod, "publickey");
    const exit = cClientOk(
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
    const rsa = await clientKeyPath("rsa-3072");
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
      const r = cClientOk(
        await libssh2(server, ["--key", rsa, "--command", "algorithms"]),
        "ssh-rsa",
      );
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
    const r = cClientOk(
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

if (fullInterop()) cClientFullInteropTests("libssh2", libssh2, supported);
