/**
 * Run by home_test.ts in a child process whose $HOME is a directory of the test's: connect()
 * with no options but the host, as a user calls it. Its ~/.ssh/config (port, user), default
 * key (~/.ssh/id_ed25519) and ~/.ssh/known_hosts must all come from that one home. Prints
 * the command's output, or the error's code and message.
 */
import { connect } from "../client/connect.ts";

try {
  await using conn = await connect("127.0.0.1", { agent: false });
  console.log(JSON.stringify({ out: (await conn.run("whoami")).stdout }));
} catch (e) {
  const err = e as { code?: string; message?: string };
  console.log(JSON.stringify({ code: err.code, message: err.message }));
}
