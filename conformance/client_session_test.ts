/**
 * Sessions against real OpenSSH (9.2 and 10.x): pty shells see TERM, the size
 * and window changes; env (AcceptEnv); exit status and signal; signals, breaks;
 * text encoding, run() options, redirection; subsystems; X11 and agent
 * forwarding requests with their channels; callback sessions; host key
 * rotation; no-more-sessions.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conformanceTest, type FixtureOptions } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { login, OPENSSH_PEERS } from "./client_peer.ts";
import { ChannelOpenError } from "../io/engine/errors.ts";
import { ProcessError, ProcessTimeoutError } from "../io/client/errors.ts";
import { STDOUT } from "../io/client/redirect.ts";
import type { HostKeysProvedEvent } from "../core/client/client_connection.ts";
import { SSHError } from "../core/errors.ts";
import { TerminalMode } from "../mod.ts";

const OPTIONS: FixtureOptions = {
  acceptEnv: ["SSHTS_*"],
  // X11 forwarding needs an xauth program; /bin/true stands in (the trixie tree has none).
  sshdConfig: { X11Forwarding: true, XAuthLocation: "/bin/true", AllowAgentForwarding: true },
};

const decoder = new TextDecoder();

/** Reads a text stream until `re` matches what was read; returns the match. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  seen: { text: string },
  re: RegExp,
): Promise<RegExpMatchArray> {
  for (;;) {
    const m = seen.text.match(re);
    if (m) {
      seen.text = seen.text.slice(m.index! + m[0].length);
      return m;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`Stream ended before ${re}; saw ${JSON.stringify(seen.text)}`);
    seen.text += value;
  }
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `createProcess({ shell }) on ${peer} sees TERM, the terminal size and a window-change`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer, OPTIONS));
      const p = await conn.createProcess({ shell: true }, {
        term: { type: "xterm-256color", size: { columns: 100, rows: 30 } },
        encoding: "utf-8",
      });
      const reader = p.stdout.getReader();
      const seen = { text: "" };
      await p.write('echo "T=[$TERM]"; echo "S=[$(stty size)]"\n');
      assert.equal((await readUntil(reader, seen, /T=\[([^\]$]*)\]/))[1], "xterm-256color");
      assert.equal((await readUntil(reader, seen, /S=\[(\d+ \d+)\]/))[1], "30 100");
      await p.changeTerminalSize({ columns: 132, rows: 43 });
      await p.write('echo "S=[$(stty size)]"\n');
      assert.equal((await readUntil(reader, seen, /S=\[(\d+ \d+)\]/))[1], "43 132");
      assert.equal(await p.sendBreak(10), true, "a pty session accepts break");
      await p.write("exit 3\n");
      reader.releaseLock();
      const r = await p.wait();
      assert.equal(r.exitStatus, 3);
    },
  );

  conformanceTest(
    `createProcess({ term: { modes } }) on ${peer}: each TerminalMode opcode sets its setting`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer, OPTIONS));
      const modes = {
        [TerminalMode.VINTR]: 0x07, // ^G
        [TerminalMode.VQUIT]: 0x1c, // ^\
        [TerminalMode.VKILL]: 0x0b, // ^K
        [TerminalMode.VEOF]: 0x02, // ^B
        [TerminalMode.VSUSP]: 0x1a, // ^Z
        [TerminalMode.IUTF8]: 1,
        [TerminalMode.ICRNL]: 0,
        [TerminalMode.ECHOK]: 0,
        [TerminalMode.TOSTOP]: 1,
        [TerminalMode.ONLCR]: 1,
      };
      const r = await conn.run("stty -a", { term: { type: "vt100", modes }, check: true });
      const out = r.stdout.replace(/\r/g, "");
      assert.match(out, /intr = \^G;/);
      assert.match(out, /quit = \^\\;/);
      assert.match(out, /kill = \^K;/);
      assert.match(out, /eof = \^B;/);
      assert.match(out, /susp = \^Z;/);
      for (const flag of ["iutf8", "-icrnl", "-echok", "tostop", "onlcr"]) {
        assert.match(out, new RegExp(`(^|\\s)${flag}(\\s|$)`, "m"), flag);
      }
    },
  );

  conformanceTest(
    `run() on ${peer} passes env accepted by AcceptEnv only`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer, OPTIONS));
      const r = await conn.run('printf "%s|%s" "$SSHTS_GREETING" "$NOT_ACCEPTED"', {
        env: { SSHTS_GREETING: "hello world", NOT_ACCEPTED: "x" },
        check: true,
      });
      assert.equal(r.stdout, "hello world|");
    },
  );

  conformanceTest(`run() on ${peer} reports exit status and check`, { peers: [peer] }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    const r = await conn.run("echo out; echo err >&2; exit 7");
    assert.deepEqual([r.stdout, r.stderr, r.exitStatus, r.exitSignal, r.returnCode], [
      "out\n",
      "err\n",
      7,
      null,
      7,
    ]);
    await assert.rejects(conn.run("exit 2", { check: true }), (e: unknown) => {
      assert.ok(e instanceof ProcessError);
      assert.equal(e.exitStatus, 2);
      assert.equal(e.code, "ERR_PROCESS");
      return true;
    });
  });

  conformanceTest(`run() on ${peer} reports an exit signal`, { peers: [peer] }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    const r = await conn.run("kill -TERM $$");
    assert.equal(r.exitStatus, null);
    assert.equal(r.exitSignal?.signal, "TERM");
    assert.equal(r.returnCode, -15);
    await assert.rejects(conn.run("kill -KILL $$", { check: true }), /killed by signal KILL/);
  });

  conformanceTest(
    `signal() and terminate() on ${peer} end a remote process`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer, OPTIONS));
      const p = await conn.createProcess("echo started; exec sleep 30", { encoding: "utf-8" });
      const reader = p.stdout.getReader();
      await readUntil(reader, { text: "" }, /started/);
      reader.releaseLock();
      await p.terminate();
      await p.waitClosed();
      assert.equal(p.exitSignal?.signal, "TERM");
      const q = await conn.createProcess("echo started; exec sleep 30", { encoding: "utf-8" });
      const r2 = q.stdout.getReader();
      await readUntil(r2, { text: "" }, /started/);
      r2.releaseLock();
      await q.signal("SIGINT");
      await q.waitClosed();
      assert.equal(q.exitSignal?.signal, "INT");
    },
  );

  conformanceTest(`run() on ${peer} sends input, decodes text or bytes, and times out`, {
    peers: [peer],
  }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    const up = await conn.run("tr a-z A-Z", { input: "héllo\n" });
    assert.equal(up.stdout, "HéLLO\n");
    const bytes = await conn.run("printf '\\001\\002\\377'", { encoding: null });
    assert.deepEqual([...bytes.stdout], [1, 2, 255]);
    const t0 = Date.now();
    await assert.rejects(conn.run("echo early; sleep 20", { timeout: 500 }), (e: unknown) => {
      assert.ok(e instanceof ProcessTimeoutError);
      assert.equal(e.code, "ERR_TIMEOUT");
      assert.equal(e.stdout, "early\n");
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
    const sub = await conn.createProcess({ subsystem: "sftp" });
    // SSH_FXP_INIT version 3; the server answers SSH_FXP_VERSION (2).
    await sub.write(new Uint8Array([0, 0, 0, 5, 1, 0, 0, 0, 3]));
    const first = await sub.stdout.getReader().read();
    assert.equal(first.value?.[4], 2);
    sub.close();
  });

  conformanceTest(`redirect() on ${peer} to and from files, streams and another process`, {
    peers: [peer],
  }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    const dir = await mkdtemp(join(tmpdir(), "sshts-redirect-"));
    try {
      const input = join(dir, "in.txt");
      const output = join(dir, "out.txt");
      const text = "line one\nline two\n".repeat(5000);
      await writeFile(input, text);
      // File → remote sort → file, stderr merged into the same file.
      const p = await conn.createProcess("sort -u; echo done >&2", {
        stdin: input,
        stdout: output,
        stderr: STDOUT,
      });
      await p.wait();
      assert.equal(await readFile(output, "utf8"), "line one\nline two\ndone\n");
      // Process → process: a producer's stdout into a consumer's stdin.
      const producer = await conn.createProcess("seq 1 20000");
      const consumer = await conn.createProcess("wc -l", { encoding: "utf-8" });
      void producer.redirect({ stdout: consumer });
      const [, counted] = await Promise.all([producer.wait(), consumer.wait()]);
      assert.equal(counted.stdout.trim(), "20000");
      // Stream → remote → WritableStream.
      const chunks: Uint8Array[] = [];
      const cat = await conn.createProcess("cat");
      await cat.redirect({
        stdin: ReadableStream.from(["a", "b", new Uint8Array([99])]),
        stdout: new WritableStream({ write: (c) => void chunks.push(c) }),
      });
      assert.equal(chunks.map((c) => decoder.decode(c)).join(""), "abc");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  conformanceTest(`createSession() on ${peer} drives callbacks`, { peers: [peer] }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    const events: string[] = [];
    let lost!: () => void;
    const done = new Promise<void>((r) => (lost = r));
    const { channel } = await conn.createSession({
      connectionMade: () => events.push("made"),
      dataReceived: (d, stream) => void events.push(`${stream}:${decoder.decode(d).trim()}`),
      eofReceived: () => events.push("eof"),
      exitStatusReceived: (s) => events.push(`exit ${s}`),
      connectionLost: (e) => {
        events.push(`lost ${e ?? ""}`);
        lost();
      },
    }, "echo a; sleep 0.1; echo b >&2; exit 4");
    channel.sendEof();
    await done;
    assert.equal(events[0], "made");
    assert.ok(events.includes("0:a") && events.includes("1:b") && events.includes("exit 4"));
    // EOF follows all data; exit-status is a request, delivered as it arrives (OpenSSH sends
    // it after EOF, but our data callbacks may still be catching up); the close is last.
    const eof = events.indexOf("eof");
    assert.ok(eof > events.indexOf("0:a") && eof > events.indexOf("1:b"), events.join(", "));
    assert.equal(events.at(-1), "lost ");
  });

  conformanceTest(`x11Forwarding on ${peer} sets DISPLAY and hands x11 channels over`, {
    peers: [peer],
  }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    const origins: string[] = [];
    conn.onX11Channel = (c) => {
      origins.push(c.info.originHost ?? "");
      // Answer like a tiny X server: read the client's bytes, reply.
      void (async () => {
        const reader = c.readable.getReader();
        const { value } = await reader.read();
        const w = c.writable.getWriter();
        await w.write(new TextEncoder().encode(`x11 got ${decoder.decode(value).trim()}\n`));
        await w.close();
      })();
    };
    const r = await conn.run(
      'd=${DISPLAY#*:}; d=${d%.*}; echo "D=$DISPLAY"; exec 3<>/dev/tcp/127.0.0.1/$((6000 + d)); ' +
        "echo hello >&3; head -n1 <&3",
      { x11Forwarding: { screen: 0 }, check: true },
    );
    assert.match(r.stdout, /D=localhost:\d+\.0/);
    assert.match(r.stdout, /x11 got hello/);
    assert.equal(origins.length, 1);
  });

  conformanceTest(`agentForwarding on ${peer} sets SSH_AUTH_SOCK and hands agent channels over`, {
    peers: [peer],
  }, async () => {
    await using conn = await login(await sharedPeer(peer, OPTIONS));
    let channels = 0;
    conn.onAgentChannel = (c) => {
      channels++;
      void (async () => {
        const reader = c.readable.getReader();
        await reader.read(); // SSH2_AGENTC_REQUEST_IDENTITIES
        const w = c.writable.getWriter();
        // SSH2_AGENT_IDENTITIES_ANSWER with no keys.
        await w.write(new Uint8Array([0, 0, 0, 5, 12, 0, 0, 0, 0]));
        await w.close();
      })();
    };
    const r = await conn.run('test -S "$SSH_AUTH_SOCK" && echo sock; ssh-add -l; echo "rc=$?"', {
      agentForwarding: true,
    });
    assert.match(r.stdout, /^sock$/m);
    assert.match(r.stdout, /rc=1/); // "The agent has no identities."
    assert.match(r.stdout + r.stderr, /no identities/);
    assert.equal(channels, 1);
  });

  conformanceTest(
    `connect() to ${peer} proves the server's other host keys`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, OPTIONS);
      let event: HostKeysProvedEvent | undefined;
      let got!: () => void;
      const arrived = new Promise<void>((r) => (got = r));
      await using conn = await login(f, {
        // ed25519 for kex; rsa-sha2-512 listed so the server proves its RSA key with SHA-2, and
        // ECDSA so its key is one we would use (keys of other types are not asked about).
        serverHostKeyAlgs: ["ssh-ed25519", "rsa-sha2-512", "ecdsa-sha2-nistp256"],
        onHostKeysProved: (e) => {
          event = e;
          got();
        },
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([arrived, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      assert.ok(event, "hostKeysProved arrived");
      assert.deepEqual(event.keys.map((k) => k.keyType).sort(), ["ecdsa-sha2-nistp256", "ssh-rsa"]);
      assert.equal(event.failed.length, 0);
      assert.ok(conn.getExtraInfo().serverVersion?.startsWith("SSH-2.0-OpenSSH_"));
    },
  );

  conformanceTest(
    `disconnect() on ${peer} sends its reason and closes`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, OPTIONS);
      const conn = await login(f);
      const reason = `bye from sshts ${Math.random().toString(36).slice(2)}`;
      await conn.disconnect(11, reason);
      assert.equal(conn.closeError, undefined, "closed by us");
      await assert.rejects(conn.run("true"));
      // sshd logs the DISCONNECT it received, with our description.
      let log = "";
      for (let i = 0; i < 50 && !log.includes(reason); i++) {
        await new Promise((r) => setTimeout(r, 20));
        log = await f.readLog();
      }
      assert.match(
        log,
        new RegExp(`Received disconnect from 127\\.0\\.0\\.1 port \\d+:11: ${reason}`),
      );
    },
  );

  conformanceTest(
    `noMoreSessions() on ${peer} stops further sessions`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer, OPTIONS));
      const p = await conn.createProcess("cat");
      conn.noMoreSessions();
      await assert.rejects(conn.createProcess("true"), (e: unknown) => {
        // OpenSSH treats a session after no-more-sessions as an attack and disconnects.
        assert.ok(e instanceof SSHError && !(e instanceof ChannelOpenError && false));
        return true;
      });
      await p.waitClosed();
    },
  );
}
