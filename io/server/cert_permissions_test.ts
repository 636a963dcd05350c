/**
 * listen()'s default certificate login (a `cert-authority` line in authorized_keys): the
 * connection may do what the line AND the certificate allow, as with sshd. A certificate
 * without `permit-pty` or `permit-port-forwarding` gets neither, however permissive its
 * line; a restrictive line still restricts a permissive certificate.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import {
  generateUserCertificate,
  type GenerateUserCertificateOptions,
} from "../../keys/certificates/certificate.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import { connect } from "../client/connect.ts";
import { listen, type SSHServer } from "./listen.ts";

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
