/**
 * Run by deno_optional_reads_test.ts under Deno in a terminal, with read access to the key
 * file only (not its directory) and write access to one download target: connect() with
 * the key (a `-cert.pub` beside it is looked for), an SFTP get into the target (whether it
 * is a directory is looked at), and a put of a file it may not read. Prints one JSON line.
 * Deno args: the key file, the download target, the file to put.
 */
import { connect } from "../client/connect.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { formatKnownHostsLine } from "../../keys/trust/known_hosts.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { listen } from "../server/listen.ts";

const [keyFile, target, unreadable] = Deno.args as [string, string, string];
const hostKey = generatePrivateKey("ed25519");
const backend = new MemoryBackend();
const h = await backend.open("/remote.txt", 0x1a, {}); // WRITE | CREAT | TRUNC
await backend.write(h, 0, new TextEncoder().encode("from the server\n"));
await backend.close(h);
const out: Record<string, unknown> = {};
{
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePublicKey: () => true,
    sftp: { backend },
  });
  const port = server.address.port;
  await using conn = await connect("127.0.0.1", {
    port,
    username: "u",
    clientKeys: [keyFile],
    agent: false,
    config: false,
    knownHosts: { text: formatKnownHostsLine("127.0.0.1", port, hostKey.publicKey()) },
  });
  out.connected = true;
  await using sftp = await conn.startSftp();
  await sftp.get("/remote.txt", target); // the test reads it: this process may not
  out.got = true;
  out.put = await sftp.put(unreadable, "/up.txt").then(
    () => "put",
    (e) => ({ name: e.name, code: e.code, message: e.message }),
  );
}
console.log(JSON.stringify(out));
