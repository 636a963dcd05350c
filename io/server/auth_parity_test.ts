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
import { clientKeyFromSSHKey } from "../keys/signers.ts";

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
