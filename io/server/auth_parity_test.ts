/**
 * Trust and key parity (#20), our client against listen() on loopback:
 * X.509 host and user certificates (`x509TrustedCerts` both sides,
 * `clientKeyFromX509`), `knownHosts` as a parsed object or key lists, and
 * `ignoreEncrypted`. (The banner, knownClientHosts and password-change tests
 * are parity2's: io/client/auth_parity_test.ts, io/server/trust_parity_test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import { clientKeyFromX509, hostKeyFromX509 } from "../keys/signers.ts";
import {
  generateX509CACertificate,
  generateX509HostCertificate,
  generateX509UserCertificate,
} from "../../keys/x509/generate.ts";
import { X509KeyPair } from "../../keys/x509/ssh.ts";
import { parseKnownHosts } from "../../keys/trust/known_hosts.ts";

const hostKey = generatePrivateKey("ed25519");
const otherHost = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions>) {
  return listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    ...options,
  });
}

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
