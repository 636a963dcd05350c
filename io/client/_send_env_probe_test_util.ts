/**
 * Run by send_env_test.ts under Deno with `--allow-env` for one variable only: connect() to
 * the port in Deno.args[0] with `sendEnv` naming that variable, and print what the server
 * saw, as one JSON line.
 */
import { connect } from "./connect.ts";

await using conn = await connect("127.0.0.1", {
  port: Number(Deno.args[0]),
  username: "u",
  password: "p",
  knownHosts: null,
  config: false,
  agent: false,
  sendEnv: ["SSHTS_ONE"],
});
console.log(JSON.stringify({ out: (await conn.run("x")).stdout }));
