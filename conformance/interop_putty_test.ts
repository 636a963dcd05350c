/**
 * PuTTY 0.78's `plink` (Debian's putty-tools) as a client of our `listen()`:
 * password, keyboard-interactive, ed25519 and RSA (rsa-sha2-256/512) logins with
 * keys converted by `puttygen`, exit status, 16 MiB through stdin with the hash
 * checked, a pty through our line editor, direct-tcpip (`plink -nc`), rekeys
 * started by either side, and every algorithm both implement — PuTTY is a real
 * peer for rsa2048-sha256/rsa1024-sha1 (our server side of RFC 4432), curve448,
 * the 3072- and 6144-bit groups, blowfish-cbc, arcfour128/256 and hmac-md5.
 *
 * plink runs with `-batch` (no prompts) and a saved session that lists every
 * algorithm above PuTTY's warning line (its "weak crypto" confirmation cannot be
 * answered in batch mode). In batch mode plink answers a keyboard-interactive
 * "Password:" prompt with `-pw`, but nothing else: a two-question challenge fails,
 * and the test checks the error says so.
 *
 * pscp and psftp run against `listen({ sftp: { root } })`: a file up and back
 * with each, and psftp's batch commands (mkdir, ls, rename, rm, rmdir).
 *
 * Node runs everything; Deno and Bun run the logins and the rekeys.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { DEFAULT_PUBLIC_KEY_ALGORITHMS } from "../core/publickey/algorithms.ts";
import { runCommand } from "./fixtures/mod.ts";
import type { CommandResult } from "./fixtures/mod.ts";
import {
  BULK,
  eachLimited,
  echoServer,
  fullInterop,
  interopServer,
  interopTest,
  keyMaterial,
  LOGIN,
  REKEY_TRANSFER,
  scratchDir,
  sha256Hex,
  testData,
} from "./interop_peers.ts";
import { LiveProcess, type TestServer } from "./server_fixture.ts";

/** What plink 0.78 implements of ours (each tried against listen() offering only it). */
const PUTTY = {
  kex: [
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "curve448-sha512",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group17-sha512",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group15-sha512",
    "diffie-hellman-group14-sha256",
    "rsa2048-sha256",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "rsa1024-sha1",
    "diffie-hellman-group1-sha1",
  ],
  ciphers: [
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "3des-cbc",
    "blowfish-cbc",
    "arcfour256",
    "arcfour128",
  ],
  macs: [
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-md5-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha1",
    "hmac-md5",
    "hmac-sha1-96",
  ],
};

const homes = new Set<string>();
/**
 * A HOME for plink with one saved session, "sshts": every algorithm above the
 * warning line, and the rekey limit asked for (PuTTY's own syntax, e.g. "256K").
 */
function home(rekeyBytes = "1G"): string {
  const dir = join(scratchDir(), `putty-${rekeyBytes}`);
  if (homes.has(dir)) return dir;
  homes.add(dir);
  mkdirSync(join(dir, ".putty", "sessions"), { recursive: true });
  writeFileSync(
    join(dir, ".putty", "sessions", "sshts"),
    [
      "Cipher=aes,chacha20,aesgcm,3des,blowfish,arcfour,des,WARN",
      "KEX=ntru-curve25519,ecdh,dh-gex-sha1,dh-group18-sha512,dh-group17-sha512," +
      "dh-group16-sha512,dh-group15-sha512,dh-group14-sha1,rsa,dh-group1-sha1,WARN",
      "HostKey=ed25519,ed448,ecdsa,rsa,dsa,WARN",
      `RekeyBytes=${rekeyBytes}`,
      "",
    ].join("\n"),
  );
  return dir;
}

const ppkCache = new Map<string, string>();
/** The fixture client key `name` as a .ppk file (puttygen converts the OpenSSH key). */
async function ppk(name: string): Promise<string> {
  const cached = ppkCache.get(name);
  if (cached) return cached;
  const m = await keyMaterial();
  const key = m.clientKeys.find((k) => k.name === name)!;
  const out = join(scratchDir(), `${name}.ppk`);
  await runCommand(["puttygen", key.privateKeyPath, "-O", "private", "-o", out], { check: true });
  ppkCache.set(name, out);
  return out;
}

/** How to run plink. */
interface PlinkRun {
  /** A .ppk key; without it plink logs in with `-pw` (password or kbdint). */
  readonly key?: string;
  /** Arguments before the host (default `-T`). */
  readonly args?: readonly string[];
  readonly command?: string;
  readonly input?: string | Uint8Array;
  /** PuTTY's RekeyBytes setting, e.g. "256K". */
  readonly rekeyBytes?: string;
}

async function plinkArgv(server: TestServer, options: PlinkRun): Promise<string[]> {
  const m = await keyMaterial();
  const auth = options.key ? ["-i", options.key] : ["-pw", LOGIN.password];
  return [
    "plink",
    "-load",
    "sshts",
    "-batch",
    "-P",
    String(server.port),
    "-l",
    LOGIN.user,
    ...auth,
    ...m.hostKeys.flatMap((k) => ["-hostkey", k.fingerprint]),
    ...(options.args ?? ["-T"]),
    "127.0.0.1",
    ...(options.command !== undefined ? [options.command] : []),
  ];
}

/** Runs pscp or psftp (same host key and login options as plink) against `server`. */
async function puttyFileTool(
  server: TestServer,
  tool: "pscp" | "psftp",
  args: readonly string[],
): Promise<CommandResult> {
  const m = await keyMaterial();
  return await runCommand(
    [
      tool,
      "-load",
      "sshts",
      "-batch",
      "-P",
      String(server.port),
      "-l",
      LOGIN.user,
      "-pw",
      LOGIN.password,
      ...m.hostKeys.flatMap((k) => ["-hostkey", k.fingerprint]),
      ...args,
    ],
    { env: { ...process.env as Record<string, string>, HOME: home() }, timeoutMs: 180_000 },
  );
}

/** Runs plink against `server` to completion. */
async function plink(server: TestServer, options: PlinkRun): Promise<CommandResult> {
  return await runCommand(
    await plinkArgv(server, options),
    {
      env: { ...process.env as Record<string, string>, HOME: home(options.rekeyBytes) },
      timeoutMs: 180_000,
      ...(options.input !== undefined ? { input: options.input } : {}),
    },
  );
}

function okJson(r: CommandResult, what: string): Record<string, string | number> {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string | number>;
}

interopTest(
  "plink logs in to listen(): password, kbdint, ed25519, RSA (rsa-sha2-256/512); exit status",
  { tools: ["putty"] },
  async () => {
    {
      // plink tries keyboard-interactive before password: offer password alone.
      await using server = await interopServer({ kbdintAuth: false });
      assert.equal(
        okJson(await plink(server, { command: "algorithms" }), "pw").authMethod,
        "password",
      );
    }
    {
      await using server = await interopServer();
      const ed = await plink(server, { key: await ppk("ed25519"), command: "algorithms" });
      assert.equal(okJson(ed, "ed25519").authMethod, "publickey");
      assert.equal((await plink(server, { command: "exit 4" })).status, 4);
    }
    {
      await using server = await interopServer({ passwordAuth: false });
      const r = okJson(await plink(server, { command: "algorithms" }), "kbdint");
      assert.equal(r.authMethod, "keyboard-interactive");
    }
    for (const alg of ["rsa-sha2-256", "rsa-sha2-512"]) {
      await using server = await interopServer({
        signatureAlgs: [alg, ...DEFAULT_PUBLIC_KEY_ALGORITHMS.filter((a) => !a.startsWith("rsa"))],
      });
      const r = await plink(server, { key: await ppk("rsa-3072"), command: "algorithms" });
      assert.equal(okJson(r, alg).authMethod, "publickey", alg);
    }
  },
);

interopTest(
  "plink -batch cannot answer a keyboard-interactive challenge beyond one password, and says so",
  { tools: ["putty"] },
  async () => {
    await using server = await interopServer({
      passwordAuth: false,
      getKbdintChallenge: () => ({
        prompts: [{ prompt: "Password: ", echo: false }, {
          prompt: "Verification code: ",
          echo: true,
        }],
      }),
      validateKbdintResponse: (_u, responses) =>
        responses[0] === LOGIN.password && responses[1] === "123456",
    });
    const r = await plink(server, { command: "algorithms" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Cannot answer interactive prompts in batch mode/);
  },
);

interopTest(
  "pscp and psftp move files to and from listen({ sftp }); psftp's batch commands work",
  { tools: ["putty"] },
  async () => {
    const root = join(scratchDir(), "sftp-root");
    mkdirSync(root, { recursive: true });
    const local = join(scratchDir(), "putty-files");
    mkdirSync(local, { recursive: true });
    const data = testData(REKEY_TRANSFER, 12);
    writeFileSync(join(local, "up.bin"), data);
    await using server = await interopServer({ sftp: { root } });
    // pscp speaks SFTP by default (-sftp makes it certain; our server has no legacy SCP).
    const up = await puttyFileTool(server, "pscp", [
      "-sftp",
      join(local, "up.bin"),
      "127.0.0.1:/pscp.bin",
    ]);
    assert.equal(up.status, 0, up.stderr);
    assert.equal(sha256Hex(readFileSync(join(root, "pscp.bin"))), sha256Hex(data));
    const down = await puttyFileTool(server, "pscp", [
      "-sftp",
      "127.0.0.1:/pscp.bin",
      join(local, "down.bin"),
    ]);
    assert.equal(down.status, 0, down.stderr);
    assert.equal(sha256Hex(readFileSync(join(local, "down.bin"))), sha256Hex(data));
    const batch = join(local, "batch.txt");
    writeFileSync(
      batch,
      [
        "mkdir d",
        `put ${join(local, "up.bin")} d/a.bin`,
        "mv d/a.bin d/b.bin",
        "ls d",
        `get d/b.bin ${join(local, "back.bin")}`,
        "rm d/b.bin",
        "rmdir d",
        "",
      ].join("\n"),
    );
    const r = await puttyFileTool(server, "psftp", ["-b", batch, "127.0.0.1"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /b\.bin/);
    assert.equal(sha256Hex(readFileSync(join(local, "back.bin"))), sha256Hex(data));
    assert.deepEqual(readdirSync(root), ["pscp.bin"]);
  },
);

interopTest(
  "plink rekeys with listen(), started by either side, data intact",
  { tools: ["putty"] },
  async () => {
    // curve25519: PuTTY would pick sntrup761x25519 (~0.5 s per rekey in our pure-JS
    // sntrup761), and this test is about the rekeys, not the method.
    const kexAlgs = ["curve25519-sha256"];
    const data = testData(REKEY_TRANSFER, 8);
    const hash = sha256Hex(data);
    {
      await using server = await interopServer({ kexAlgs });
      const r = await plink(server, { command: "sha256kex", input: data, rekeyBytes: "256K" });
      assert.equal(r.status, 0, r.stderr);
      const [got, kexCount] = r.stdout.trim().split(" ");
      assert.equal(got, hash);
      assert.ok(Number(kexCount) >= 3, `plink-started: only ${kexCount} key exchanges`);
    }
    {
      await using server = await interopServer({
        kexAlgs,
        rekeyBytes: 256 * 1024,
        windowSize: 256 * 1024,
      });
      const r = await plink(server, { command: "sha256kex", input: data });
      assert.equal(r.status, 0, r.stderr);
      const [got, kexCount] = r.stdout.trim().split(" ");
      assert.equal(got, hash);
      assert.ok(Number(kexCount) >= 3, `listen()-started: only ${kexCount} key exchanges`);
    }
  },
);

if (fullInterop()) {
  interopTest(
    "plink: a pty through our line editor, direct-tcpip (plink -nc), 16 MiB with its hash",
    { tools: ["putty"] },
    async () => {
      const echo = await echoServer();
      try {
        await using server = await interopServer();
        // Typed line by line, stdin kept open, as a person at a terminal would.
        await using pty = new LiveProcess(await plinkArgv(server, { args: ["-t"] }), {
          HOME: home(),
        });
        await pty.waitFor(/\$ $/);
        pty.write("echo one\r");
        await pty.waitFor(/one\r\n\$ $/);
        pty.write("echo twx\x7fo\r");
        await pty.waitFor(/two\r\n\$ $/);
        pty.write("exit\r");
        assert.equal((await pty.exited).status, 0, pty.stderr);
        // The line editor echoed the typing, with the backspace erasing on screen.
        assert.match(pty.stdout, /echo one\r\n/);
        assert.ok(pty.stdout.includes("echo twx\b \bo\r\n"), pty.stdout);
        const nc = await plink(server, {
          args: ["-nc", `127.0.0.1:${echo.port}`],
          input: "ping\n",
        });
        assert.equal(nc.stdout, "ping\n", nc.stderr);
        const bulk = testData(BULK, 9);
        const r = await plink(server, { command: "sha256", input: bulk });
        assert.equal(r.stdout.trim(), sha256Hex(bulk), r.stderr);
      } finally {
        await echo.close();
      }
    },
  );

  interopTest(
    "plink logs in to listen() offering each kex, cipher and MAC both implement",
    { tools: ["putty"], timeoutMs: 300_000 },
    async () => {
      const failures: string[] = [];
      const cases = [
        ...PUTTY.kex.map((k) => ["kex", k, { kexAlgs: [k] }] as const),
        ...PUTTY.ciphers.map((c) => ["cipher", c, { encryptionAlgs: [c] }] as const),
        ...PUTTY.macs.map((m) =>
          ["mac", m, { macAlgs: [m], encryptionAlgs: ["aes128-ctr"] }] as const
        ),
      ];
      await eachLimited(cases, 3, async ([kind, name, options]) => {
        await using server = await interopServer(options);
        const r = await plink(server, { command: "algorithms" });
        if (r.status !== 0) {
          failures.push(`${name}: ${r.stderr.trim().split("\n").pop()}`);
          return;
        }
        const negotiated = JSON.parse(r.stdout) as Record<string, string>;
        const field = kind === "kex" ? "kex" : kind === "cipher" ? "cipherC2S" : "macC2S";
        if (negotiated[field] !== name) failures.push(`${name}: negotiated ${negotiated[field]}`);
      });
      assert.deepEqual(failures, [], `tried ${cases.length}`);
    },
  );
}
