/**
 * #20's session rows against real OpenSSH (9.2 and 10.x), both directions:
 * OpenSSH's `ssh` against listen() for SSHServerProcess.redirect (a file,
 * bytes, a stream, and a proxied upstream process), in-band events (`~B`
 * break, a terminal resize) and textSession; connect() against OpenSSH's sshd
 * for StreamReader on a shell, collectOutput mid-run, per-channel window
 * sizes and stdin write-buffer accounting.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conformanceTest, TEST_USER } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { login, OPENSSH_PEERS } from "./client_peer.ts";
import {
  keys,
  runSsh,
  spawnSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
} from "./server_fixture.ts";
import { connect } from "../io/client/connect.ts";
import { IncompleteReadError, StreamReader } from "../io/engine/stream_reader.ts";
import { textSession } from "../io/server/process.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };
const dec = new TextDecoder();
const enc = new TextEncoder();

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh: SSHServerProcess.redirect() sends a file and bytes, input lands in a stream`,
    { peers: [client] },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "sshts-parity-"));
      try {
        const file = join(dir, "report.txt");
        writeFileSync(file, "report line 1\nreport line 2\n");
        const received: string[] = [];
        await using server = await startServer({
          processFactory: async (p) => {
            await p.redirect({
              stdin: new WritableStream({ write: (c) => void received.push(dec.decode(c)) }),
              stdout: file,
              stderr: enc.encode("done\n"),
            });
          },
        });
        const r = await runSsh(client, server, { identity: "ed25519", command: "report" }, {
          input: "uploaded by ssh\n",
        });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "report line 1\nreport line 2\n");
        assert.equal(r.stderr, "done\n");
        assert.equal(received.join(""), "uploaded by ssh\n");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh through listen() proxying with redirect() to a connect() process`,
    { peers: [client] },
    async () => {
      // The upstream is another listen() that upper-cases; the proxy hands the session over.
      await using upstream = await startServer({
        processFactory: async (p) => {
          for await (const c of p.stdin) await p.write(dec.decode(c).toUpperCase());
          await p.writeStderr(`ran ${p.command}\n`);
          p.exit(4);
        },
      });
      const m = await keys();
      await using upConn = await connect("127.0.0.1", {
        port: upstream.port,
        username: TEST_USER,
        clientKeys: [m.clientKeys[0]!.privateKeyText],
        knownHosts: { text: upstream.knownHosts },
        agent: false,
      });
      await using proxy = await startServer({
        processFactory: async (p) => {
          const up = await upConn.createProcess(p.command ?? "shell");
          await p.redirect({ stdin: up, stdout: up, stderr: up });
          await up.wait();
          p.exit(up.returnCode ?? 255);
        },
      });
      const r = await runSsh(client, proxy, { identity: "ed25519", command: "shout" }, {
        input: "quiet words\n",
      });
      assert.equal(r.stdout, "QUIET WORDS\n");
      assert.equal(r.stderr, "ran shout\n");
      assert.equal(r.status, 4);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh ~B and a terminal resize arrive on SSHServerProcess.events`,
    { peers: [client] },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "sshts-events-"));
      const flag = join(dir, "resize");
      try {
        await using server = await startServer({
          processFactory: async (p) => {
            await p.write("ready\n");
            for await (const e of p.events) {
              if (e.type === "break") await p.write(`event break ${e.ms}\n`);
              else if (e.type === "terminalSizeChanged") {
                await p.write(`event size ${e.size.columns}x${e.size.rows}\n`);
              } else await p.write(`event signal ${e.signal}\n`);
              // stty sets columns and rows one at a time: two changes, the second complete.
              if (
                e.type === "terminalSizeChanged" && e.size.columns === 120 && e.size.rows === 40
              ) {
                break;
              }
            }
          },
        });
        // script(1) gives ssh a terminal; a background stty resizes it once the flag
        // file exists, and the kernel's SIGWINCH makes ssh send window-change.
        await using ssh = await spawnSsh(
          client,
          server,
          { identity: "ed25519", args: ["-tt"] },
          (argv) => [
            "script",
            "-qfec",
            `stty cols 97 rows 31; (while [ ! -e '${flag}' ]; do sleep 0.05; done; ` +
            `stty cols 120 rows 40 < /dev/tty) & exec ${
              argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")
            }`,
            "/dev/null",
          ],
        );
        await ssh.waitFor(/ready/);
        ssh.write("\r~B");
        await ssh.waitFor(/event break 1000/);
        writeFileSync(flag, "");
        await ssh.waitFor(/event size 120x40/);
        const { status } = await ssh.exited;
        assert.equal(status, 0, ssh.stdout);
        assert.ok(existsSync(flag));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh talks text to a textSession() on listen()`,
    { peers: [client] },
    async () => {
      await using server = await startServer({
        processFactory: textSession(async (p) => {
          let text = "";
          for await (const t of p.stdin) text += t;
          await p.write(`${[...text.trim()].length} characters: ${text.toUpperCase()}`);
        }),
      });
      const r = await runSsh(client, server, { identity: "ed25519", command: "count" }, {
        input: "héllo wörld\n",
      });
      assert.equal(r.stdout, "11 characters: HÉLLO WÖRLD\n");
    },
  );
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `StreamReader reads a shell on ${peer} by prompt, line and count`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer));
      const p = await conn.createProcess(
        "printf 'login: '; read name; echo \"hi $name\"; " +
          "printf 0123456789; echo; echo last",
        { encoding: "utf-8" },
      );
      const out = new StreamReader(p.stdout);
      assert.equal(await out.readUntil("login: "), "login: ");
      await p.write("ada\n");
      assert.equal(await out.readLine(), "hi ada\n");
      assert.equal(await out.readExactly(4), "0123");
      assert.equal(await out.readLine(), "456789\n");
      const e = await out.readExactly(64).then(() => undefined, (x) => x);
      assert.ok(e instanceof IncompleteReadError);
      assert.equal(e.partial, "last\n");
      await p.wait();
    },
  );

  conformanceTest(
    `collectOutput() on ${peer} shows output while the command still runs`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer));
      const p = await conn.createProcess("echo first; echo oops >&2; read x; echo second", {
        encoding: "utf-8",
      });
      let snap = p.collectOutput();
      for (let i = 0; i < 500 && (snap.stdout === "" || snap.stderr === ""); i++) {
        await new Promise((r) => setTimeout(r, 10));
        snap = p.collectOutput();
      }
      assert.deepEqual(snap, { stdout: "first\n", stderr: "oops\n" });
      await p.write("go\n");
      const r = await p.wait();
      assert.equal(r.stdout, "first\nsecond\n");
    },
  );

  conformanceTest(
    `createProcess({ windowSize }) on ${peer}: sshd respects a small window, stdin buffers`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer));
      // A 16 KiB window: sshd may only run that far ahead of our reads.
      const p = await conn.createProcess("head -c 1048576 /dev/zero; cat > /dev/null", {
        windowSize: 16 * 1024,
        maxPacketSize: 8 * 1024,
      });
      const reader = p.stdout.getReader();
      const first = await reader.read();
      assert.ok(!first.done && first.value.length <= 16 * 1024);
      // Nothing read for a while: the channel's queue never exceeds the window.
      await new Promise((r) => setTimeout(r, 200));
      let total = first.value!.length;
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        assert.ok(r.value.length <= 8 * 1024, `packet of ${r.value.length}`);
        total += r.value.length;
        if (total === 1048576) break;
      }
      assert.equal(total, 1048576);
      reader.releaseLock();
      // stdin accounting: a 4 MiB write waits for sshd's window; the count drains to 0.
      p.setWriteBufferLimits({ high: 64 * 1024 });
      const w = p.stdin.getWriter();
      await w.write(new Uint8Array(4 * 1024 * 1024));
      assert.ok(p.getWriteBufferSize() <= 4 * 1024 * 1024);
      await w.close();
      assert.equal(p.getWriteBufferSize(), 0);
      const r = await p.wait();
      assert.equal(r.exitStatus, 0);
    },
  );

  conformanceTest(
    `createProcess({ maxPacketSize: 256 KiB }) on ${peer}: sshd sends packets as large as the transport takes`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer));
      // sshd fills packets up to what we advertise (256 KiB of data would not fit in a
      // packet we accept: 262,160 bytes, so the channel advertises a little less) when its
      // buffer holds more than a read: when its socket is full. So this process stops reading
      // for a moment (a synchronous wait) while the command's output piles up in sshd. Packets
      // are counted by the transport's receive sequence (stream chunks differ by runtime), from
      // before the channel opens: 32 KiB packets would be 256 for the data and a few more; 256
      // KiB ones come to 109-145 here. (No rekey resets the count: 24 MiB at most, far below
      // any limit in play.)
      const bytes = 8 * 1024 * 1024;
      const bound = 200;
      let fewest = Infinity;
      for (let attempt = 0; attempt < 3 && fewest >= bound; attempt++) {
        const first = conn.engine.transport.currentSequence;
        const p = await conn.createProcess(`head -c ${bytes} /dev/zero`, {
          windowSize: 16 * 1024 * 1024,
          maxPacketSize: 256 * 1024,
        });
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        let total = 0;
        for await (const chunk of p.stdout) total += chunk.length;
        assert.equal((await p.wait()).exitStatus, 0);
        assert.equal(total, bytes);
        fewest = Math.min(fewest, conn.engine.transport.currentSequence - first);
      }
      assert.ok(fewest < bound, `${fewest} packets for 8 MiB: sshd used the larger maximum`);
    },
  );
}
