/**
 * libssh 0.10.6 (Debian's libssh-dev) as a client of our `listen()`, through a
 * small C program compiled here (conformance/peers/libssh_client.c). libssh at
 * its defaults sends a KEXINIT whose cipher lists end with a comma, which we used
 * to refuse (#21); the default-settings test is that case. Also: password,
 * keyboard-interactive, ed25519 and RSA (rsa-sha2-256/512) logins, exit status,
 * 16 MiB with its hash, a pty through our line editor, direct-tcpip, rekeys
 * started by either side, and every algorithm both implement.
 *
 * Node runs everything; Deno and Bun run the logins and one rekey each way.
 */
import assert from "node:assert/strict";
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

/**
 * What libssh 0.10.6 implements (its `supported_methods` table, as `strings` shows
 * in libssh.so.4): the loops below run the names we implement too.
 */
const LIBSSH = {
  kex: [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group-exchange-sha1",
  ],
  ciphers: [
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
    "aes256-cbc",
    "aes192-cbc",
    "aes128-cbc",
    "3des-cbc",
  ],
  macs: [
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
  ],
};

/** Runs the libssh client once against `server` with extra arguments. */
async function libssh(server: TestServer, args: readonly string[]): Promise<CClientResult> {
  const bin = buildCPeer("libssh_client", "ssh");
  const known = scratchFile(`known_hosts_${server.port}`, server.knownHosts);
  const r = await runCommand(
    [bin, "--port", String(server.port), "--user", LOGIN.user, "--known-hosts", known, ...args],
    { timeoutMs: 180_000 },
  );
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (line === undefined) {
    throw new Error(`libssh client printed nothing (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(line) as CClientResult;
}

interopTest(
  "libssh's client at its defaults (trailing-comma KEXINIT) logs in to listen(): password, kbdint, ed25519, RSA",
  { tools: ["libssh"] },
  async () => {
    await using server = await interopServer();
    const info = (r: CClientResult) => JSON.parse(r.stdout!) as Record<string, string>;
    const defaults = cClientOk(
      await libssh(server, ["--password", LOGIN.password, "--command", "algorithms"]),
      "defaults",
    );
    assert.equal(info(defaults).authMethod, "password");
    assert.equal(defaults.kex, "curve25519-sha256");
    const kbdint = cClientOk(
      await libssh(server, ["--kbdint", LOGIN.password, "--command", "algorithms"]),
      "kbdint",
    );
    assert.equal(info(kbdint).authMethod, "keyboard-interactive");
    const ed = cClientOk(
      await libssh(server, ["--key", await clientKeyPath("ed25519"), "--command", "algorithms"]),
      "ed25519",
    );
    assert.equal(info(ed).authMethod, "publickey");
    for (const alg of ["rsa-sha2-256", "rsa-sha2-512"]) {
      const r = cClientOk(
        await libssh(server, [
          "--key",
          await clientKeyPath("rsa-3072"),
          "--pubkey-types",
          alg,
          "--command",
          "algorithms",
        ]),
        alg,
      );
      assert.equal(info(r).authMethod, "publickey", alg);
    }
    const exit = cClientOk(
      await libssh(server, ["--password", LOGIN.password, "--command", "exit 5"]),
      "exit",
    );
    assert.equal(exit.exitStatus, 5);
    const err = cClientOk(
      await libssh(server, ["--password", LOGIN.password, "--command", "stderr oops"]),
      "stderr",
    );
    assert.equal(err.stderr, "oops\n");
  },
);

interopTest(
  "libssh's client rekeys with listen() started by either side, data intact",
  { tools: ["libssh"] },
  async () => {
    const size = REKEY_TRANSFER;
    const data = scratchFile(`libssh_data_${size}`, testData(size, 5));
    const hash = sha256Hex(testData(size, 5));
    {
      await using server = await interopServer();
      const r = cClientOk(
        await libssh(server, [
          "--password",
          LOGIN.password,
          "--rekey-data",
          String(512 * 1024),
          "--command",
          "sha256",
          "--stdin-file",
          data,
          "--then",
          "algorithms",
        ]),
        "libssh-started",
      );
      assert.equal(r.stdout!.trim(), hash);
      const kexCount = JSON.parse(r.then!).kexCount as number;
      assert.ok(kexCount >= 3, `libssh-started: only ${kexCount} key exchanges`);
    }
    {
      await using server = await interopServer({
        rekeyBytes: 256 * 1024,
        windowSize: 256 * 1024,
      });
      const r = cClientOk(
        await libssh(server, [
          "--password",
          LOGIN.password,
          "--command",
          "sha256",
          "--stdin-file",
          data,
          "--then",
          "algorithms",
        ]),
        "listen()-started",
      );
      assert.equal(r.stdout!.trim(), hash);
      const kexCount = JSON.parse(r.then!).kexCount as number;
      assert.ok(kexCount >= 3, `listen()-started: only ${kexCount} key exchanges`);
    }
  },
);

if (fullInterop()) {
  cClientFullInteropTests("libssh", libssh, (kind) =>
    Promise.resolve(
      kind === "kex" ? LIBSSH.kex : kind === "cipher" ? LIBSSH.ciphers : LIBSSH.macs,
    ));
}
