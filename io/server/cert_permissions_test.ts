/**
 * listen()'s certificate logins: the connection may do what the line AND the
 * certificate allow, as with sshd. A certificate without `permit-pty` or
 * `permit-port-forwarding` gets neither, however permissive its line; a restrictive
 * line still restricts a permissive certificate. The same holds when a
 * `validateCertificate` hook vouches for the certificate instead of a
 * `cert-authority` line, whatever it answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import {
  parseAuthorizedKeyOptions,
  parseAuthorizedKeys,
} from "../../keys/trust/authorized_keys.ts";
import { parseAuthorizedPrincipals } from "../../keys/trust/authorized_principals.ts";
import { checkAuthorizedKey } from "../../keys/trust/certificate_policy.ts";
import {
  generateUserCertificate,
  type GenerateUserCertificateOptions,
} from "../../keys/certificates/certificate.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import { connect } from "../client/connect.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ServerHooks } from "./options.ts";

const hostKey = generatePrivateKey("ed25519");
const ca = generatePrivateKey("ed25519");
const user = generatePrivateKey("ed25519");

interface Seen {
  /** The terminal type of each session (undefined: no pty). */
  readonly terminals: (string | undefined)[];
  /** How often the application was asked about a direct-tcpip channel. */
  forwardsAsked: number;
}

async function server(lineOptions: string, seen: Seen): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authorizedClientKeys: `${
      lineOptions ? lineOptions + "," : ""
    }cert-authority ${ca.exportPublicKey()}\n`,
    processFactory: (p) => {
      seen.terminals.push(p.terminal?.term);
      p.exit(0);
    },
    // Asked only when the permissions allow forwarding; refuses (nothing to connect to).
    connectionRequested: () => (seen.forwardsAsked++, false),
  });
}

function login(s: SSHServer, cert: GenerateUserCertificateOptions) {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [
      clientKeyFromSSHKey(
        user,
        generateUserCertificate(ca, user, "alice@test", { principals: ["alice"], ...cert }),
      ),
    ],
    connectTimeout: 10_000,
  });
}

test("a certificate without permit-pty and permit-port-forwarding gets neither", async () => {
  const seen: Seen = { terminals: [], forwardsAsked: 0 };
  await using s = await server("", seen);
  await using conn = await login(s, { permitPty: false, permitPortForwarding: false });
  const p = s.getConnections()[0]!.permissions;
  assert.deepEqual(
    [p.pty, p.portForwarding, p.agentForwarding, p.x11Forwarding],
    [false, false, true, true],
  );
  await assert.rejects(conn.createProcess("x", { term: "xterm" }), /pseudo-terminal/);
  await assert.rejects(conn.openConnection("127.0.0.1", 9));
  assert.equal(seen.forwardsAsked, 0); // refused before the application is asked
  // Without a pty the same session runs.
  await (await conn.createProcess("x")).wait();
  assert.deepEqual(seen.terminals, [undefined]);
});

test("a certificate with every permission is still held to its line's no-pty", async () => {
  const seen: Seen = { terminals: [], forwardsAsked: 0 };
  await using s = await server("no-pty", seen);
  await using conn = await login(s, {});
  const p = s.getConnections()[0]!.permissions;
  assert.deepEqual([p.pty, p.portForwarding], [false, true]);
  await assert.rejects(conn.createProcess("x", { term: "xterm" }), /pseudo-terminal/);
});

test("a permissive certificate on a permissive line gets a pty and forwarding; its force-command applies", async () => {
  const seen: Seen = { terminals: [], forwardsAsked: 0 };
  await using s = await server("", seen);
  await using conn = await login(s, { forceCommand: "uptime" });
  const p = s.getConnections()[0]!.permissions;
  assert.equal(p.pty, true);
  assert.equal(p.forcedCommand, "uptime");
  await (await conn.createProcess("x", { term: "vt100" })).wait();
  assert.deepEqual(seen.terminals, ["vt100"]);
  await assert.rejects(conn.openConnection("127.0.0.1", 9));
  assert.equal(seen.forwardsAsked, 1);
});

/** A server whose validateCertificate hook vouches for every certificate with `answer`. */
async function hookServer(
  answer: NonNullable<ServerHooks["validateCertificate"]>,
  seen: Seen & { commands: (string | undefined)[] },
): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validateCertificate: answer,
    processFactory: (p) => {
      seen.terminals.push(p.terminal?.term);
      seen.commands.push(p.command);
      p.exit(0);
    },
    connectionRequested: () => (seen.forwardsAsked++, false),
  });
}

test("validateCertificate answering true still applies the certificate's force-command, permit-* and source-address", async () => {
  const seen = { terminals: [], commands: [], forwardsAsked: 0 };
  await using s = await hookServer(() => true, seen);
  await using conn = await login(s, {
    forceCommand: "backup-only",
    permitPty: false,
    permitPortForwarding: false,
  });
  const p = s.getConnections()[0]!.permissions;
  assert.deepEqual([p.forcedCommand, p.pty, p.portForwarding], ["backup-only", false, false]);
  await assert.rejects(conn.createProcess("rm -rf /data", { term: "xterm" }), /pseudo-terminal/);
  await (await conn.createProcess("rm -rf /data")).wait();
  assert.deepEqual(seen.commands, ["backup-only"]);
  await assert.rejects(conn.openConnection("127.0.0.1", 9));
  assert.equal(seen.forwardsAsked, 0);
  // A certificate for other addresses is refused, whatever the hook says.
  await assert.rejects(login(s, { sourceAddress: "192.0.2.0/24" }), /Permission denied/);
});

test("validateCertificate answering a line's options or a checkAuthorizedKey() verdict gets both limits", async () => {
  const seen = { terminals: [], commands: [], forwardsAsked: 0 };
  const options = parseAuthorizedKeyOptions('command="backup-only",permitopen="db:5432"');
  {
    await using s = await hookServer(() => options, seen);
    await using _conn = await login(s, { permitPty: false });
    const p = s.getConnections()[0]!.permissions;
    assert.deepEqual([p.forcedCommand, p.pty, p.permitOpen], ["backup-only", false, [{
      host: "db",
      port: 5432,
    }]]);
    // The certificate's forced command must agree with the line's.
    await assert.rejects(login(s, { forceCommand: "rm -rf /" }), /Permission denied/);
  }
  const authorities = parseAuthorizedKeys(
    `cert-authority,no-port-forwarding ${ca.exportPublicKey()}`,
  );
  await using s = await hookServer(
    (username, c) =>
      checkAuthorizedKey(c.certificateBlob, {
        username,
        authorizedKeys: authorities,
        client: { host: "127.0.0.1", addr: "127.0.0.1", now: Date.now() },
      }),
    seen,
  );
  await using _conn = await login(s, { forceCommand: "uptime", permitPty: false });
  const p = s.getConnections()[0]!.permissions;
  assert.deepEqual([p.forcedCommand, p.pty, p.portForwarding, p.agentForwarding], [
    "uptime",
    false,
    false,
    true,
  ]);
  // A refused verdict refuses.
  await assert.rejects(
    login(s, { principals: ["nobody"] }),
    /Permission denied/,
  );
});

test("validateCertificate answering a trustedUserCAKeys verdict keeps its principals line's permitopen and environment", async () => {
  const seen = { terminals: [], commands: [], forwardsAsked: 0 };
  const principals = parseAuthorizedPrincipals(
    'permitopen="127.0.0.1:7",environment="LIMITED=1" alice\n',
  ).entries;
  await using s = await hookServer(
    (username, c) =>
      checkAuthorizedKey(c.certificateBlob, {
        username,
        trustedUserCAKeys: [ca.publicKey()],
        authorizedPrincipals: principals,
        client: { host: "127.0.0.1", addr: "127.0.0.1", now: Date.now() },
      }),
    seen,
  );
  await using conn = await login(s, {});
  const p = s.getConnections()[0]!.permissions;
  assert.deepEqual(p.permitOpen, [{ host: "127.0.0.1", port: 7 }]);
  assert.deepEqual(p.environment, [{ name: "LIMITED", value: "1" }]);
  // Not a port the line permits: refused before the application is asked.
  await assert.rejects(conn.openConnection("127.0.0.1", 9));
  assert.equal(seen.forwardsAsked, 0);
});

test("validateCertificate answering a line's options is held to the line's from= and expiry-time", async () => {
  const seen = { terminals: [], commands: [], forwardsAsked: 0 };
  for (const line of ['from="10.9.9.9"', 'expiry-time="20000101Z"']) {
    const options = parseAuthorizedKeyOptions(line);
    await using s = await hookServer(() => options, seen);
    await assert.rejects(login(s, {}), /Permission denied/, line);
  }
  // The same options for this client, and not expired, let it in.
  const options = parseAuthorizedKeyOptions('from="127.0.0.1",expiry-time="29990101Z"');
  await using s = await hookServer(() => options, seen);
  await using _conn = await login(s, {});
  assert.equal(s.getConnections().length, 1);
});
