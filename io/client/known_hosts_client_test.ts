/**
 * known_hosts as ssh checks it, through connect() against our own server:
 * the IP address as well as the name (CheckHostIP) and changed keys under
 * either, hostKeyAlias, host key algorithms ordered from known_hosts,
 * `<path>-cert.pub` beside key files, and the client signature algorithm option.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import * as net from "node:net";
import { hostKeyFromSSHKey } from "../keys/signers.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";
import { connect } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";

const ed = generatePrivateKey("ed25519");
const ecdsa = generatePrivateKey("ecdsa-sha2-nistp256");
const otherEd = generatePrivateKey("ed25519");

async function server(options: Partial<ListenOptions> = {}, password = true): Promise<SSHServer> {
  return await listen({
    port: 0,
    host: "127.0.0.1",
    hostKeys: [hostKeyFromSSHKey(ed), hostKeyFromSSHKey(ecdsa)],
    authFailureDelay: 0,
    ...(password ? { validatePassword: () => true } : {}),
    ...options,
  });
}

function line(name: string, port: number, key: SSHKey): string {
  return `[${name}]:${port} ${key.publicKey().exportPublicKey()}\n`;
}

function login(s: SSHServer, host: string, text: string, o: ConnectOptions = {}) {
  return connect(host, {
    port: s.address.port,
    username: "u",
    password: "p",
    config: false,
    connectTimeout: 10_000,
    knownHosts: { text },
    ...o,
  } as ConnectOptions);
}

/** Connects to `name` (not resolvable) over a TCP socket to the server: name and address differ. */
async function byName(s: SSHServer, name: string, text: string, o: ConnectOptions = {}) {
  const sock = net.connect(s.address.port, "127.0.0.1");
  await new Promise<void>((res, rej) => sock.once("connect", res).once("error", rej));
  return await login(s, name, text, { sock: socketFromNodeSocket(sock), ...o });
}

test("CheckHostIP: a key listed under the address alone does not vouch for the name (as ssh)", async () => {
  await using s = await server();
  const port = s.address.port;
  const kh = line("127.0.0.1", port, ed) + line("127.0.0.1", port, ecdsa);
  // The name is not in known_hosts: whatever resolves to a known address is not trusted
  // under another name, with or without CheckHostIP.
  await assert.rejects(byName(s, "server.example", kh), /not known/);
  await assert.rejects(byName(s, "server.example", kh, { checkHostIP: false }), /not known/);
  // Listed under the name too: trusted.
  const conn = await byName(s, "server.example", kh + line("server.example", port, ed));
  await conn.close();
});

test("a changed key under the name or under the IP address is reported", async () => {
  await using s = await server();
  const port = s.address.port;
  // Right key under the name, another ed25519 key under the address.
  await assert.rejects(
    byName(
      s,
      "server.example",
      line("server.example", port, ed) + line("127.0.0.1", port, otherEd),
    ),
    /IP address \[127\.0\.0\.1\]:\d+ has changed/,
  );
  // Another key under the name, the right one under the address.
  await assert.rejects(
    byName(
      s,
      "server.example",
      line("server.example", port, otherEd) + line("127.0.0.1", port, ed),
    ),
    /server\.example\]:\d+ has changed/,
  );
  // Both right: fine.
  const ok = await byName(
    s,
    "server.example",
    line("server.example", port, ed) + line("127.0.0.1", port, ed),
  );
  await ok.close();
  await assert.rejects(
    login(s, "127.0.0.1", `myalias ${otherEd.publicKey().exportPublicKey()}\n`, {
      hostKeyAlias: "myalias",
    }),
    /myalias has changed/,
  );
});

test("hostKeyAlias: known_hosts is searched under the alias (and not the address)", async () => {
  await using s = await server();
  const port = s.address.port;
  const kh = `myalias ${ed.publicKey().exportPublicKey()}\n`;
  const conn = await login(s, "127.0.0.1", kh, { hostKeyAlias: "myalias" });
  assert.ok(conn.engine.authenticated);
  await conn.close();
  await assert.rejects(login(s, "127.0.0.1", kh), /not known/);
  // With an alias the address lines do not count.
  await assert.rejects(
    login(s, "127.0.0.1", line("127.0.0.1", port, ed), { hostKeyAlias: "myalias" }),
    /not known/,
  );
});

test("host key algorithms are ordered from what known_hosts holds for the host", async () => {
  await using s = await server();
  const port = s.address.port;
  // Only the ECDSA key is known: the client must ask for it, not for ed25519.
  await using conn = await login(s, "127.0.0.1", line("127.0.0.1", port, ecdsa));
  assert.equal(conn.negotiatedMethod("hostKey"), "ecdsa-sha2-nistp256");
  await using conn2 = await login(s, "127.0.0.1", line("127.0.0.1", port, ed));
  assert.equal(conn2.negotiatedMethod("hostKey"), "ssh-ed25519");
});

test("an explicit clientKeys path picks up <path>-cert.pub", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-cert-"));
  try {
    const ca = generatePrivateKey("ed25519");
    const user = generatePrivateKey("ed25519");
    const path = join(dir, "id_ed25519");
    writeFileSync(path, user.exportPrivateKey("openssh"), { mode: 0o600 });
    const cert = createCertificate({
      key: user.publicKey(),
      caKey: ca,
      type: "user",
      keyId: "u@test",
      principals: ["u"],
    });
    writeFileSync(`${path}-cert.pub`, cert.exportCertificate() + "\n");
    const seen: string[] = [];
    await using s = await server({
      validateCertificate: (_u, c) => {
        seen.push(c.algorithm);
        return true;
      },
    }, false);
    await using _conn = await connect("127.0.0.1", {
      port: s.address.port,
      username: "u",
      config: false,
      knownHosts: null,
      agent: false,
      clientKeys: [path],
    });
    assert.deepEqual(seen, ["ssh-ed25519-cert-v01@openssh.com"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("clientSignatureAlgs picks the rsa-sha2 variant offered", async () => {
  const rsa = generatePrivateKey("rsa", { bits: 2048 } as never);
  for (const alg of ["rsa-sha2-256", "rsa-sha2-512"]) {
    const seen: string[] = [];
    await using s = await server({
      validatePublicKey: (_u, k) => {
        seen.push(k.algorithm);
        return true;
      },
    }, false);
    await using conn = await connect("127.0.0.1", {
      port: s.address.port,
      username: "u",
      config: false,
      knownHosts: null,
      agent: false,
      clientKeys: [rsa],
      clientSignatureAlgs: [alg],
    });
    assert.ok(conn.engine.authenticated);
    assert.deepEqual(seen, [alg]);
  }
});
