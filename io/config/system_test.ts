import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { execFileSync } from "node:child_process";
import process from "node:process";
import { connectMuxProxy } from "./mux_client.ts";
import { resolveSSHConfig } from "./mod.ts";
import { spawnProxyCommand } from "./proxy_command.ts";
import { createSSHConfigSystem } from "./system.ts";

test("createSSHConfigSystem() reads files, directories, services and Match exec statuses", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-sys-"));
  try {
    const services = join(dir, "services");
    writeFileSync(services, "ssh 22/tcp\nfoo 4242/tcp bar # alias\nudponly 53/udp\n");
    writeFileSync(join(dir, "a.conf"), "User x\n");
    const sys = await createSSHConfigSystem({
      servicesFile: services,
      env: { SHELL: "/bin/sh", PATH: "/usr/bin:/bin" },
    });
    assert.equal(
      new TextDecoder().decode((await sys.readFile!(join(dir, "a.conf"))) as Uint8Array),
      "User x\n",
    );
    assert.equal(await sys.readFile!(join(dir, "missing")), undefined);
    assert.equal(await sys.readFile!(dir), "");
    assert.deepEqual([...(await sys.readDir!(dir))!].sort(), ["a.conf", "services"]);
    assert.equal(sys.servicePort!("bar"), 4242);
    assert.equal(sys.servicePort!("udponly"), undefined);
    assert.equal(await sys.exec!("exit 3"), 3);
    assert.equal(await sys.exec!("kill -9 $$"), -1);
    assert.ok((await sys.localAddresses!()).includes("127.0.0.1"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("resolveSSHConfig() (io) fills in this process's user and reads a given file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-cfg-"));
  try {
    const file = join(dir, "config");
    writeFileSync(file, "Host alias\n  HostName 127.0.0.1\n  Port 2200\n");
    const c = await resolveSSHConfig("alias", { files: [file] });
    assert.equal(c.hostname, "127.0.0.1");
    assert.equal(c.port, 2200);
    assert.ok(c.user.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("spawnProxyCommand() carries bytes through the command's stdin and stdout", async () => {
  const sock = spawnProxyCommand("cat", { env: { SHELL: "/bin/sh", PATH: "/usr/bin:/bin" } });
  const got = await new Promise<string>((resolve, reject) => {
    let text = "";
    sock.setHandlers({
      data: (d) => (text += new TextDecoder().decode(d)),
      end: () => resolve(text),
      error: reject,
      drain: () => {},
      close: () => resolve(text),
    });
    sock.write(new TextEncoder().encode("through the proxy"));
    sock.end();
  });
  assert.equal(got, "through the proxy");
});

test("connectMuxProxy() finds no master where no socket listens", async () => {
  assert.equal(
    await connectMuxProxy(join(tmpdir(), `sshts-no-master-${Date.now()}.sock`)),
    undefined,
  );
});

test("connectMuxProxy() finds no master when the control connection fails before the hello", {
  skip: process.platform === "win32" && "no UNIX sockets",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-mux-"));
  // Something listens but drops every control connection (ssh: "master hello exchange
  // failed", then it connects by itself).
  const server = net.createServer((c) => c.destroy());
  try {
    const path = join(dir, "cm.sock");
    await new Promise<void>((r) => server.listen(path, r));
    assert.equal(await connectMuxProxy(path), undefined);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("connectMuxProxy() gives a silent master timeoutMs, then says so", {
  skip: process.platform === "win32" && "no UNIX sockets",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-mux-"));
  const held: net.Socket[] = [];
  const server = net.createServer((c) => void held.push(c));
  try {
    const path = join(dir, "cm.sock");
    await new Promise<void>((r) => server.listen(path, r));
    const started = performance.now();
    await assert.rejects(connectMuxProxy(path, undefined, 200), /did not answer in 200 ms/);
    assert.ok(performance.now() - started < 5_000);
  } finally {
    for (const c of held) c.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an Include that is a FIFO or a device is refused at once, never read (or waited on)", {
  skip: process.platform === "win32" && "no FIFOs",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-cfg-"));
  try {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]); // no writer: reading it would wait forever
    const file = join(dir, "config");
    writeFileSync(file, `Include ${fifo}\nHost x\n  Port 2200\n`, { mode: 0o600 });
    await assert.rejects(resolveSSHConfig("x", { files: [file] }), /not a regular file/);
    // /dev/zero (mode 0666) fails OpenSSH's owner and mode check before a byte is read.
    writeFileSync(file, "Include /dev/zero\n", { mode: 0o600 });
    await assert.rejects(
      resolveSSHConfig("x", { files: [file] }),
      /Bad owner or permissions on \/dev\/zero/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
