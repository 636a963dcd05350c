/**
 * Server authentication parity (#20), our client against listen() on
 * loopback: sendAuthBanner from beginAuth (a banner per user), and
 * `knownClientHosts` trusting client host keys for host-based authentication
 * (plain keys, @cert-authority, refusals). OpenSSH's `ssh` sees the dynamic
 * banner in conformance/parity_auth_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import type { ConnectOptions } from "../client/options.ts";
import { listen } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { clientKeyFromSSHKey, clientKeyFromX509, hostKeyFromX509 } from "../keys/signers.ts";
import {
  generateX509CACertificate,
  generateX509HostCertificate,
  generateX509UserCertificate,
} from "../../keys/x509/generate.ts";
import { X509KeyPair } from "../../keys/x509/ssh.ts";
import { parseKnownHosts } from "../../keys/trust/known_hosts.ts";

const hostKey = generatePrivateKey("ed25519");
const clientHost = generatePrivateKey("ed25519");
const otherHost = generatePrivateKey("ed25519");
const hostCA = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions>) {
  return listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    ...options,
  });
}

function login(port: number, options: ConnectOptions) {
  return connect("127.0.0.1", {
    port,
    username: "bob",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    connectTimeout: 10_000,
    ...options,
  });
}

test("sendAuthBanner() from beginAuth sends a banner chosen for the user", async () => {
  const banners: string[] = [];
  await using s = await server({
    banner: "static banner\n",
    beginAuth: (user, conn) => {
      conn.sendAuthBanner(`Welcome, ${user}\n`);
      return true;
    },
    validatePassword: (_u, pw) => pw === "pw",
  });
  await using conn = await login(s.address.port, {
    password: "pw",
    onBanner: (m) => banners.push(m),
  });
  assert.deepEqual(banners, ["static banner\n", "Welcome, bob\n"]);
  // After authentication a banner is not allowed: ignored, the connection lives on.
  s.getConnections()[0]!.sendAuthBanner("too late");
  assert.equal((await conn.run("x").catch((e) => e)).constructor.name, "ChannelOpenError");
});

test("knownClientHosts trusts listed client host keys for host-based auth", async () => {
  const text = `client.example,10.9.9.9 ${clientHost.exportPublicKey("openssh")}`;
  await using s = await server({ knownClientHosts: { text } });
  const hb = (key = clientHost, localHostname = "client.example", localUsername = "bob") => ({
    hostBased: { hostKey: key.exportPrivateKey("openssh"), localHostname, localUsername },
  });
  await using ok = await login(s.address.port, hb());
  assert.equal(ok.getExtraInfo().username, "bob");
  assert.equal(s.getConnections().find((c) => c.username)?.authMethod, "hostbased");
  // A trailing dot in the name is the same host.
  await (await login(s.address.port, hb(clientHost, "client.example."))).close();
  // Another key, another host name, or another user (no validateHostBasedUser hook): refused.
  for (
    const o of [hb(otherHost), hb(clientHost, "other.example"), hb(clientHost, undefined, "eve")]
  ) {
    await assert.rejects(
      login(s.address.port, o),
      /ERR_PERMISSION_DENIED|Permission denied|authenticat/i,
    );
  }
});

test("knownClientHosts @cert-authority trusts certified client hosts; the hook decides on the user", async () => {
  const cert = createCertificate({
    key: clientHost,
    caKey: hostCA,
    type: "host",
    keyId: "client",
    principals: ["client.example"],
  });
  const text = `@cert-authority *.example ${hostCA.exportPublicKey("openssh")}`;
  const asked: string[] = [];
  await using s = await server({
    knownClientHosts: { text },
    validateHostBasedUser: (user, client) => {
      asked.push(`${client.username}@${client.hostname} as ${user}`);
      return client.username === "alice";
    },
  });
  await using ok = await login(s.address.port, {
    hostBased: {
      hostKey: clientKeyFromSSHKey(clientHost, cert),
      localHostname: "client.example",
      localUsername: "alice",
    },
  });
  assert.ok(ok);
  // The client sends its name fully qualified, with the trailing dot (as OpenSSH).
  assert.deepEqual(asked, ["alice@client.example. as bob"]);
});

test("x509TrustedCerts: connect() trusts an X.509 host certificate, listen() an X.509 user", async () => {
  const rootKey = generatePrivateKey("ed25519");
  const root = generateX509CACertificate(rootKey, rootKey, "CN=Parity Root", { now: Date.now() });
  const strangerKey = generatePrivateKey("ed25519");
  const stranger = generateX509CACertificate(strangerKey, strangerKey, "CN=Other", {
    now: Date.now(),
  });
  const leafKey = generatePrivateKey("ed25519");
  const leaf = generateX509HostCertificate(rootKey, leafKey, "CN=host", {
    now: Date.now(),
    issuerCertificate: root,
    principals: ["127.0.0.1"],
  });
  const userKey = generatePrivateKey("ecdsa");
  const userCert = generateX509UserCertificate(rootKey, userKey, "CN=bob", {
    now: Date.now(),
    issuerCertificate: root,
    principals: ["bob"],
  });
  await using s = await server({
    hostKeys: [hostKeyFromX509(new X509KeyPair(leafKey, [leaf, root]))],
    x509TrustedCerts: [root.exportPem()],
  });
  const user = clientKeyFromX509(new X509KeyPair(userKey, [userCert]));
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "bob",
    knownHosts: { text: "" }, // nothing known: only the X.509 trust can vouch
    x509TrustedCerts: [root],
    agent: false,
    clientKeys: [user],
  });
  assert.equal(conn.getExtraInfo().algorithms?.hostKey, "x509v3-ssh-ed25519");
  assert.equal(s.getConnections().find((c) => c.username)?.authMethod, "publickey");
  // A client that trusts another root refuses the host certificate.
  await assert.rejects(
    connect("127.0.0.1", {
      port: s.address.port,
      username: "bob",
      knownHosts: { text: "" },
      x509TrustedCerts: [stranger],
      agent: false,
      clientKeys: [user],
    }),
    /not trusted/,
  );
  // A user certificate for another name, or from another root: refused.
  const eve = clientKeyFromX509(
    new X509KeyPair(userKey, [
      generateX509UserCertificate(rootKey, userKey, "CN=eve", {
        now: Date.now(),
        issuerCertificate: root,
        principals: ["eve"],
      }),
    ]),
  );
  const foreign = clientKeyFromX509(
    new X509KeyPair(userKey, [
      generateX509UserCertificate(strangerKey, userKey, "CN=bob", {
        now: Date.now(),
        issuerCertificate: stranger,
        principals: ["bob"],
      }),
    ]),
  );
  for (const key of [eve, foreign]) {
    await assert.rejects(
      connect("127.0.0.1", {
        port: s.address.port,
        username: "bob",
        knownHosts: null,
        serverHostKeyAlgs: ["x509v3-ssh-ed25519"],
        agent: false,
        clientKeys: [key],
      }),
      /ERR_PERMISSION_DENIED|Permission denied|authenticat/i,
    );
  }
});

test("connect() knownHosts takes a parsed KnownHosts or key lists", async () => {
  await using s = await server({ beginAuth: () => false });
  const port = s.address.port;
  const pub = hostKey.exportPublicKey("openssh");
  const base = { port, username: "bob", agent: false as const, clientKeys: [] };
  await (await connect("127.0.0.1", {
    ...base,
    knownHosts: parseKnownHosts(`[127.0.0.1]:${port} ${pub}`),
  })).close();
  await (await connect("127.0.0.1", { ...base, knownHosts: { trustedHostKeys: [hostKey] } }))
    .close();
  await assert.rejects(
    connect("127.0.0.1", { ...base, knownHosts: { trustedHostKeys: [otherHost] } }),
    /has changed/,
  );
  await assert.rejects(
    connect("127.0.0.1", {
      ...base,
      knownHosts: { trustedHostKeys: [hostKey], revokedKeys: [hostKey] },
    }),
    /revoked/,
  );
});

test("connect() ignoreEncrypted skips a client key it cannot decrypt", async () => {
  const good = generatePrivateKey("ed25519");
  const locked = generatePrivateKey("ed25519").exportPrivateKey("openssh", {
    passphrase: "secret",
    rounds: 2,
  });
  await using s = await server({ authorizedClientKeys: good.exportPublicKey("openssh") });
  const base = { port: s.address.port, username: "bob", knownHosts: null, agent: false as const };
  await assert.rejects(
    connect("127.0.0.1", { ...base, clientKeys: [locked, good] }),
    /encrypted and no passphrase/,
  );
  await assert.rejects(
    connect("127.0.0.1", { ...base, clientKeys: [locked, good], passphrase: "wrong" }),
    /incorrect passphrase/,
  );
  await (await connect("127.0.0.1", {
    ...base,
    clientKeys: [locked, good],
    passphrase: "wrong",
    ignoreEncrypted: true,
  })).close();
  await (await connect("127.0.0.1", { ...base, clientKeys: [locked, good], ignoreEncrypted: true }))
    .close();
});
