/**
 * Our `scp()` and `conn.scpSend()` / `conn.scpRecv()` against real servers:
 * OpenSSH 9.2 and 10.x `sshd` and Dropbear, over SFTP and over the legacy
 * protocol (the server's shell runs `scp -t` / `scp -f`; Dropbear runs the
 * `scp` on its PATH, OpenSSH's /usr/bin/scp here). Trees with `-r -p` both
 * ways, checked on the server's disk, and CVE-2020-15778: a remote path full
 * of shell syntax names a file and runs nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { Buffer } from "node:buffer";
import { conformanceTest, type PeerName, runCommand } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { login } from "./client_peer.ts";
import { scp } from "../io/scp/scp.ts";
import { connect } from "../io/client/connect.ts";
import { listen } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { hex, hostNames, makeHostFile } from "../io/sftp/_byte_names_test_util.ts";

const PEERS: readonly PeerName[] = ["openssh", "openssh-trixie", "dropbear"];
const enc = new TextEncoder();

async function makeTree(dir: string): Promise<Buffer> {
  const big = randomBytes(1_200_000);
  await fsp.mkdir(join(dir, "tree/sub/deeper"), { recursive: true });
  await fsp.writeFile(join(dir, "tree/big.bin"), big);
  await fsp.writeFile(join(dir, "tree/sub/s.txt"), "sub\n");
  await fsp.writeFile(join(dir, "tree/sub/deeper/empty"), "");
  await fsp.chmod(join(dir, "tree/sub/s.txt"), 0o640);
  await fsp.utimes(join(dir, "tree/sub/s.txt"), 1_450_000_000, 1_350_000_000);
  return big;
}

conformanceTest(
  "Dropbear's legacy scp is OpenSSH's /usr/bin/scp",
  { peers: ["dropbear"] },
  async () => {
    const r = await runCommand(["dpkg", "-S", "/usr/bin/scp"], { timeoutMs: 10_000 });
    assert.match(r.stdout, /openssh-client/);
  },
);

for (const peer of PEERS) {
  for (const protocol of ["scp", "sftp"] as const) {
    conformanceTest(
      `scp() ${protocol === "scp" ? "legacy" : "SFTP"}: trees with -r -p both ways against ${peer}`,
      { peers: [peer] },
      async () => {
        const f = await sharedPeer(peer);
        await using conn = await login(f);
        const local = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-"));
        const name = `scp-${protocol}-${process.pid}-${randomBytes(3).toString("hex")}`;
        try {
          const big = await makeTree(local);
          let progressed = 0;
          await scp(join(local, "tree"), [conn, `${f.user.home}/${name}`], {
            protocol,
            recurse: true,
            preserve: true,
            onProgress: (d, t) => {
              if (d === t && t === big.length) progressed++;
            },
          });
          assert.equal(progressed, 1);
          const host = join(f.user.hostHome, name);
          assert.ok(big.equals(await fsp.readFile(join(host, "big.bin"))), "big.bin differs");
          const st = await fsp.stat(join(host, "sub/s.txt"));
          assert.equal(st.mode & 0o777, 0o640);
          assert.equal(Math.floor(st.mtimeMs / 1000), 1_350_000_000);
          assert.equal((await fsp.stat(join(host, "sub/deeper/empty"))).size, 0);

          await scp([conn, `${f.user.home}/${name}`], join(local, "back"), {
            protocol,
            recurse: true,
            preserve: true,
          });
          assert.ok(big.equals(await fsp.readFile(join(local, "back/big.bin"))), "back differs");
          const st2 = await fsp.stat(join(local, "back/sub/s.txt"));
          assert.equal(st2.mode & 0o777, 0o640);
          assert.equal(Math.floor(st2.mtimeMs / 1000), 1_350_000_000);

          // One file into an existing local directory; a relative remote path (home).
          await scp([conn, `${name}/sub/s.txt`], local, { protocol });
          assert.equal(await fsp.readFile(join(local, "s.txt"), "utf8"), "sub\n");
          // A glob.
          await fsp.mkdir(join(local, "glob"));
          await scp([conn, `${name}/sub/*.txt`], join(local, "glob"), { protocol });
          assert.deepEqual(await fsp.readdir(join(local, "glob")), ["s.txt"]);
          // ~user is the user's home: the remote shell expands it in the legacy protocol,
          // expand-path@openssh.com over SFTP (a path taken literally names no file).
          await fsp.mkdir(join(local, "tilde"));
          await scp([conn, `~${f.user.name}/${name}/sub/*.txt`], join(local, "tilde"), {
            protocol,
          });
          assert.deepEqual(await fsp.readdir(join(local, "tilde")), ["s.txt"]);
          await scp(join(local, "tilde/s.txt"), [conn, `~${f.user.name}/${name}/t.txt`], {
            protocol,
          });
          assert.equal(await fsp.readFile(join(host, "t.txt"), "utf8"), "sub\n");
          // A missing file fails.
          await assert.rejects(scp([conn, `${name}/missing`], join(local, "m"), { protocol }));
        } finally {
          await fsp.rm(local, { recursive: true, force: true });
          await fsp.rm(join(f.user.hostHome, name), { recursive: true, force: true });
        }
      },
    );
  }

  conformanceTest(
    `conn.scpSend()/scpRecv() and shell-safe paths (CVE-2020-15778) against ${peer}`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await login(f);
      const name = `scpq-${process.pid}-${randomBytes(3).toString("hex")}`;
      const host = join(f.user.hostHome, name);
      await fsp.mkdir(host);
      const st0 = await fsp.stat(f.user.hostHome);
      await fsp.chown(host, st0.uid, st0.gid);
      try {
        const body = enc.encode("libssh2 style\n");
        const w = await conn.scpSend(`${f.user.home}/${name}/plain.txt`, {
          size: body.length,
          mode: 0o600,
          mtime: 1_111_111_111,
          atime: 1_111_111_111,
        });
        const wr = w.getWriter();
        await wr.write(body);
        await wr.close();
        const st = await fsp.stat(join(host, "plain.txt"));
        assert.equal(st.mode & 0o777, 0o600);
        assert.equal(Math.floor(st.mtimeMs / 1000), 1_111_111_111);
        const { stat, readable } = await conn.scpRecv(`${f.user.home}/${name}/plain.txt`);
        assert.equal(stat.size, body.length);
        assert.equal(stat.mode, 0o600);
        assert.equal(stat.mtime, 1_111_111_111);
        assert.equal(await new Response(readable).text(), "libssh2 style\n");

        // Shell syntax in the remote path: a file of that name, and nothing runs.
        const nasty = `it's a $(touch pwned1) \`touch pwned2\`; touch pwned3 "q" *.txt`;
        const w2 = await conn.scpSend(`${name}/${nasty}`, { size: 2 });
        const wr2 = w2.getWriter();
        await wr2.write(enc.encode("ok"));
        await wr2.close();
        assert.equal(await fsp.readFile(join(host, nasty), "utf8"), "ok");
        const back = await conn.scpRecv(`${name}/${nasty}`);
        assert.equal(await new Response(back.readable).text(), "ok");
        const local = await fsp.mkdtemp(join(tmpdir(), "sshts-scpq-"));
        try {
          await scp(join(local, "."), [conn, `${name}/${nasty} dir`], {
            protocol: "scp",
            recurse: true,
          });
          assert.ok((await fsp.stat(join(host, `${nasty} dir`))).isDirectory());
        } finally {
          await fsp.rm(local, { recursive: true, force: true });
        }
        for (const where of [f.user.hostHome, host]) {
          const names = await fsp.readdir(where);
          assert.ok(!names.some((n) => n.startsWith("pwned")), names.join(", "));
        }
      } finally {
        await fsp.rm(host, { recursive: true, force: true });
      }
    },
  );
}

for (const protocol of ["scp", "sftp"] as const) {
  conformanceTest(
    `scp() ${
      protocol === "scp" ? "legacy" : "SFTP"
    } against openssh: errorHandler gets a missing source, the other one is copied`,
    { peers: ["openssh"] },
    async () => {
      const f = await sharedPeer("openssh");
      await using conn = await login(f);
      const local = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-err-"));
      const name = `scp-err-${protocol}-${process.pid}-${randomBytes(3).toString("hex")}.txt`;
      try {
        await fsp.writeFile(join(f.user.hostHome, name), "present\n");
        const failed: string[] = [];
        await scp(
          [[conn, `${f.user.home}/missing-${name}`], [conn, `${f.user.home}/${name}`]],
          local,
          {
            protocol,
            errorHandler: (e, path) => void failed.push(`${path}: ${e.message}`),
          },
        );
        assert.equal(failed.length, 1, failed.join("\n"));
        assert.match(failed[0]!, /missing-/);
        assert.equal(await fsp.readFile(join(local, name), "utf8"), "present\n");
      } finally {
        await fsp.rm(local, { recursive: true, force: true });
        await fsp.rm(join(f.user.hostHome, name), { force: true });
      }
    },
  );
}

conformanceTest(
  "scp() legacy remote to remote: a source cut mid-file cuts the transfer to OpenSSH's scp -t, never pads the file out",
  { peers: ["openssh"] },
  async () => {
    const f = await sharedPeer("openssh");
    await using dst = await login(f);
    // The source: a server whose `scp -f` announces 1,000,000 bytes and dies after 4,096.
    await using source = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [generatePrivateKey("ed25519")],
      authFailureDelay: 0,
      validatePassword: () => true,
      processFactory: async (p) => {
        const r = p.stdin.getReader();
        await r.read();
        await p.channel.write(enc.encode("C0644 1000000 big.bin\n"));
        await r.read();
        await p.channel.write(new Uint8Array(4096).fill(0x41));
        r.releaseLock();
        p.exit(1);
      },
    });
    await using src = await connect("127.0.0.1", {
      port: source.address.port,
      username: "u",
      password: "pw",
      knownHosts: null,
      clientKeys: [],
      config: false,
    });
    const name = `scp-cut-${process.pid}-${randomBytes(3).toString("hex")}`;
    const host = join(f.user.hostHome, name);
    await fsp.mkdir(host);
    const st0 = await fsp.stat(f.user.hostHome);
    await fsp.chown(host, st0.uid, st0.gid);
    try {
      await assert.rejects(
        scp([src, "big.bin"], [dst, `${f.user.home}/${name}`], { protocol: "scp" }),
        (e: Error) =>
          /cut after 4096 of 1000000 bytes/.test(e.message) &&
          /cut short at the destination/.test(e.message),
      );
      // Whatever scp -t kept of it is short of the announced size, and holds no padding.
      await new Promise((r) => setTimeout(r, 200));
      const kept = await fsp.readFile(join(host, "big.bin")).catch(() => undefined);
      if (kept !== undefined) {
        assert.ok(kept.length < 1_000_000, `${kept.length} bytes at the destination`);
        assert.ok(kept.every((b) => b === 0x41), "only bytes the source sent");
      }
    } finally {
      await fsp.rm(host, { recursive: true, force: true });
    }
  },
);

const BYTE_PATHS = !("Deno" in globalThis);

for (const peer of PEERS) {
  for (const protocol of ["scp", "sftp"] as const) {
    conformanceTest(
      `scp() ${
        protocol === "scp" ? "legacy" : "SFTP"
      }: a file name that is not UTF-8 (Latin-1) both ways against ${peer}`,
      { peers: [peer] },
      async () => {
        const f = await sharedPeer(peer);
        await using conn = await login(f);
        const local = await fsp.mkdtemp(join(tmpdir(), "sshts-scp-bytes-"));
        const name = `scp-bytes-${protocol}-${process.pid}-${randomBytes(3).toString("hex")}`;
        const host = join(f.user.hostHome, name);
        const latin1 = "caf\uDCE9"; // the bytes 63 61 66 e9
        try {
          await fsp.mkdir(host, { mode: 0o777 });
          await fsp.chmod(host, 0o777); // the test user writes here too
          makeHostFile(host, Uint8Array.of(0x63, 0x61, 0x66, 0xe9), "latin1\n");
          // Down, asked for by its bytes; Deno names the local copy in UTF-8.
          const into = BYTE_PATHS ? local : `${local}/cafe`;
          await scp([conn, `${f.user.home}/${name}/${latin1}`], into, { protocol });
          assert.deepEqual(hostNames(local), [hex(BYTE_PATHS ? latin1 : "cafe")]);
          // Up, to a name given by its bytes.
          const src = BYTE_PATHS ? `${local}/${latin1}` : `${local}/cafe`;
          await scp(src, [conn, `${f.user.home}/${name}/n\uDCE8`], { protocol });
          assert.deepEqual(hostNames(host), [hex(latin1), hex("n\uDCE8")].sort());
        } finally {
          await fsp.rm(local, { recursive: true, force: true });
          await fsp.rm(host, { recursive: true, force: true });
        }
      },
    );
  }
}
