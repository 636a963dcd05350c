// The `ssh2` npm package (1.x, a devDependency) as an interop peer for sshts's
// conformance tests. Always run with Node 24 from node_modules, whichever runtime
// runs the tests.
//
// client mode: reads a JSON plan on stdin ({host, port, user, password, knownHosts,
//   cases: [...]}) and runs each case as one connection, printing one JSON result
//   per line. A case may ask for a rekey started by ssh2 (rekeyAfter: bytes sent).
// server mode: reads a JSON config on stdin, listens on 127.0.0.1, prints
//   "LISTENING <port>" and serves: password, keyboard-interactive (one "Password:"
//   prompt) and public key authentication; echo/exit/sha256/cat; direct-tcpip;
//   a rekey started by ssh2 after `rekeyAfter` bytes of a session's input.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import process from "node:process";
import ssh2 from "ssh2";

const { Client, Server, utils } = ssh2;

function testData(size, seed) {
  const out = Buffer.alloc(size);
  let state = createHash("sha256").update(`sshts-interop-${seed}`).digest();
  for (let o = 0; o < size; o += 32) {
    state.copy(out, o, 0, Math.min(32, size - o));
    state = createHash("sha256").update(state).digest();
  }
  return out;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function algorithms(spec) {
  const a = {};
  if (spec.kex) a.kex = spec.kex;
  if (spec.ciphers) a.cipher = spec.ciphers;
  if (spec.macs) a.hmac = spec.macs;
  return a;
}

/** Runs `command`, writing `input` (rekeying after `rekeyAfter` bytes); resolves with output. */
function exec(conn, command, input, rekeyAfter) {
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, stream) => {
      if (err) return reject(err);
      const out = [], errOut = [];
      let status = null;
      stream.on("data", (d) => out.push(d));
      stream.stderr.on("data", (d) => errOut.push(d));
      stream.on("exit", (code) => (status = code));
      stream.on("close", () =>
        resolve({
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(errOut).toString("utf8"),
          exitStatus: status,
        }));
      if (!input) return stream.end();
      let offset = 0, rekeyed = false;
      const pump = () => {
        while (offset < input.length) {
          const chunk = input.subarray(offset, offset + 32768);
          offset += chunk.length;
          if (rekeyAfter && !rekeyed && offset >= rekeyAfter) {
            rekeyed = true;
            // ssh2 1.x's Client has no rekey(); its protocol object does.
            conn._protocol.rekey();
          }
          if (!stream.write(chunk)) return stream.once("drain", pump);
        }
        stream.end();
      };
      pump();
    });
  });
}

function readUntil(stream, state, needle, timeoutMs = 20000) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stream.off("data", check);
      resolve();
    };
    const check = () => {
      if (state.text.slice(state.mark).includes(needle)) {
        state.mark = state.text.length;
        done();
      }
    };
    const timer = setTimeout(done, timeoutMs);
    stream.on("data", check);
    check();
  });
}

async function runCase(plan, c) {
  const result = { id: c.id, ok: false };
  const known = readFileSync(plan.knownHosts, "utf8").split("\n").map((l) => l.split(" ")[2]);
  const conn = new Client();
  const options = {
    host: plan.host,
    port: plan.port,
    username: plan.user,
    readyTimeout: 60000,
    algorithms: algorithms(c),
    hostVerifier: (key) => known.includes(key.toString("base64")),
    ...(plan.debug ? { debug: (m) => process.stderr.write(m + "\n") } : {}),
  };
  const auth = c.auth ?? "password";
  if (auth === "password") {
    options.authHandler = [{ type: "password", username: plan.user, password: plan.password }];
  } else if (auth === "kbdint") {
    options.authHandler = [{
      type: "keyboard-interactive",
      username: plan.user,
      prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => plan.password)),
    }];
  } else if (auth === "key") {
    options.authHandler = [{
      type: "publickey",
      username: plan.user,
      key: readFileSync(c.key, "utf8"),
    }];
  }
  let lastError;
  await new Promise((resolve, reject) => {
    conn.once("ready", resolve);
    conn.once("error", reject);
    conn.connect(options);
  });
  conn.on("error", (e) => (lastError = e));
  try {
    if (c.ptyLines) {
      const stream = await new Promise((res, rej) =>
        conn.shell({ term: "xterm", cols: 80, rows: 24 }, (e, s) => (e ? rej(e) : res(s)))
      );
      const state = { text: "", mark: 0 };
      stream.on("data", (d) => (state.text += d.toString("utf8")));
      await readUntil(stream, state, "$ ");
      for (const line of c.ptyLines) {
        stream.write(line + "\r");
        await readUntil(stream, state, "$ ");
      }
      const closed = new Promise((res) => stream.on("close", (code) => res(code)));
      stream.write("exit\r");
      result.exitStatus = await closed;
      result.stdout = state.text;
    }
    if (c.forwardPort) {
      const stream = await new Promise((res, rej) =>
        conn.forwardOut("127.0.0.1", 0, "127.0.0.1", c.forwardPort, (e, s) => (e ? rej(e) : res(s)))
      );
      const text = c.forwardText ?? "hello";
      let got = "";
      await new Promise((res) => {
        stream.on("data", (d) => {
          got += d.toString("utf8");
          if (got.length >= text.length) res();
        });
        stream.write(text);
      });
      stream.end();
      result.forwarded = got;
    }
    if (c.command) {
      let input;
      if (c.stdinSize) {
        input = testData(c.stdinSize, c.seed ?? 1);
        result.sentHash = createHash("sha256").update(input).digest("hex");
      }
      Object.assign(result, await exec(conn, c.command, input, c.rekeyAfter));
    }
    if (c.sftp) {
      const data = testData(c.sftp, c.seed ?? 1);
      const sftp = await new Promise((res, rej) => conn.sftp((e, s) => (e ? rej(e) : res(s))));
      const call = (name, ...args) =>
        new Promise((res, rej) => sftp[name](...args, (e, v) => (e ? rej(e) : res(v))));
      await call("mkdir", "d");
      await call("writeFile", "d/a.bin", data);
      await call("rename", "d/a.bin", "d/b.bin");
      // A relative link, read back through: ssh2 sends the draft's order to a server
      // that is not OpenSSH.
      await call("symlink", "b.bin", "d/l");
      const names = (await call("readdir", "d")).map((e) => e.filename).sort();
      const back = await call("readFile", "d/l");
      const linkTarget = await call("readlink", "d/l");
      await call("unlink", "d/l");
      await call("unlink", "d/b.bin");
      await call("rmdir", "d");
      sftp.end();
      const hash = (b) => createHash("sha256").update(b).digest("hex");
      result.sftp = { names, sentHash: hash(data), backHash: hash(back), linkTarget };
    }
    if (c.then) result.then = (await exec(conn, c.then)).stdout;
    result.ok = true;
  } catch (e) {
    throw lastError ? new Error(`${e.message} (after: ${lastError.message})`) : e;
  } finally {
    conn.end();
  }
  return result;
}

async function client(plan) {
  for (const c of plan.cases) {
    let result;
    try {
      result = await runCase(plan, c);
    } catch (e) {
      result = { id: c.id, ok: false, error: `${e.name}: ${e.message}` };
    }
    process.stdout.write(JSON.stringify(result) + "\n");
  }
}

function server(config) {
  const authorized = readFileSync(config.authorizedKeys, "utf8").split("\n").filter(Boolean)
    .map((l) => utils.parseKey(l));
  const srv = new Server({
    hostKeys: config.hostKeys.map((p) => readFileSync(p)),
    algorithms: algorithms(config),
  }, (conn) => {
    conn.on("error", () => {});
    conn.on("authentication", (ctx) => {
      if (ctx.username !== config.user) return ctx.reject();
      if (ctx.method === "password") {
        return ctx.password === config.password ? ctx.accept() : ctx.reject();
      }
      if (ctx.method === "keyboard-interactive") {
        return ctx.prompt(
          [{ prompt: "Password: ", echo: false }],
          (answers) => answers[0] === config.password ? ctx.accept() : ctx.reject(),
        );
      }
      if (ctx.method === "publickey") {
        const key = authorized.find((k) =>
          k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data)
        );
        if (!key) return ctx.reject();
        // ssh2 reports RSA requests as ssh-rsa plus the hash of the signature algorithm.
        const sigAlg = ctx.key.algo !== "ssh-rsa"
          ? ctx.key.algo
          : { sha256: "rsa-sha2-256", sha512: "rsa-sha2-512" }[ctx.hashAlgo] ?? "ssh-rsa";
        if (config.sigAlgs && !config.sigAlgs.includes(sigAlg)) return ctx.reject();
        if (!ctx.signature) return ctx.accept();
        return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true
          ? ctx.accept()
          : ctx.reject();
      }
      ctx.reject(["password", "publickey", "keyboard-interactive"]);
    });
    conn.on("ready", () => {
      conn.on("tcpip", (accept, reject, info) => {
        const sock = tcpConnect(info.destPort, info.destIP, () => {
          const stream = accept();
          stream.pipe(sock).pipe(stream);
        });
        sock.on("error", () => reject());
      });
      conn.on("session", (accept) => {
        const session = accept();
        session.on("exec", (acceptExec, _reject, info) => {
          const stream = acceptExec();
          const words = info.command.split(/\s+/);
          const finish = (code) => {
            stream.exit(code);
            stream.end();
          };
          if (words[0] === "echo") {
            stream.write(words.slice(1).join(" ") + "\n");
            finish(0);
          } else if (words[0] === "exit") {
            finish(Number(words[1]));
          } else if (words[0] === "sha256" || words[0] === "cat") {
            const h = createHash("sha256");
            let seen = 0, rekeyed = false;
            stream.on("data", (d) => {
              seen += d.length;
              if (config.rekeyAfter && !rekeyed && seen >= config.rekeyAfter) {
                rekeyed = true;
                conn.rekey();
              }
              if (words[0] === "cat") stream.write(d);
              else h.update(d);
            });
            stream.on("end", () => {
              if (words[0] === "sha256") stream.write(h.digest("hex") + "\n");
              finish(0);
            });
          } else {
            stream.stderr.write(`${words[0]}: command not found\n`);
            finish(127);
          }
        });
      });
    });
  });
  srv.listen(0, "127.0.0.1", () => {
    process.stdout.write(`LISTENING ${srv.address().port}\n`);
  });
}

const config = await readStdin();
if (process.argv[2] === "client") await client(config);
else server(config);
