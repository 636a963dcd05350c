/**
 * Run by deno_permissions_test.ts under Deno with `--no-prompt --allow-net=127.0.0.1
 * --allow-read` (and whatever else the test adds): listen() on 127.0.0.1, then connect()
 * with default options to `Deno.args[0]` (a host name, maybe an ssh_config alias) and run
 * a command; then the calls that need the home directory. Prints one JSON line of what
 * each gave. Must not prompt (stdin is closed) and must not throw.
 */
import { generatePrivateKey } from "../../keys/generate.ts";
import { formatKnownHostsLine } from "../../keys/trust/known_hosts.ts";
import { connect } from "../client/connect.ts";
import { resolveSSHConfig } from "../config/mod.ts";
import { listen } from "../server/listen.ts";

const hostKey = generatePrivateKey("ed25519");
const server = await listen({
  host: "127.0.0.1",
  port: 0,
  hostKeys: [hostKey],
  authFailureDelay: 0,
  validatePassword: () => true,
  processFactory: (p) => p.write(`ran ${p.command}\n`),
});
const port = server.address.port;
const failure = (e: unknown) => {
  const err = e as { name?: string; code?: string; message?: string };
  return { error: err.name, code: err.code, message: err.message };
};
const out: Record<string, unknown> = {};
try {
  await using conn = await connect(Deno.args[0] ?? "127.0.0.1", {
    port,
    username: "u",
    password: "p",
    knownHosts: { text: formatKnownHostsLine("127.0.0.1", port, hostKey.publicKey()) },
  });
  out.run = (await conn.run("x")).stdout;
} catch (e) {
  out.run = failure(e);
}
try {
  // known_hosts defaults to ~/.ssh/known_hosts: the home directory is needed.
  await using conn = await connect("127.0.0.1", {
    port,
    username: "u",
    password: "p",
    config: false,
  });
  out.defaultKnownHosts = (await conn.run("y")).stdout;
} catch (e) {
  out.defaultKnownHosts = failure(e);
}
try {
  // Neither keys nor a password: connect() looks for ~/.ssh/id_* (a home it may not know).
  await using conn = await connect("127.0.0.1", {
    port,
    username: "u",
    config: false,
    knownHosts: { text: formatKnownHostsLine("127.0.0.1", port, hostKey.publicKey()) },
  });
  out.noCredentials = (await conn.run("z")).stdout;
} catch (e) {
  out.noCredentials = failure(e);
}
try {
  // Deno.args[1]: the configuration to resolve, when the test gives one.
  const text = Deno.args[1] ?? "Host db\n  HostName 10.0.0.5\n";
  out.resolve = (await resolveSSHConfig("db", { text })).hostname;
} catch (e) {
  out.resolve = failure(e);
}
await server.close();
console.log(JSON.stringify(out));
