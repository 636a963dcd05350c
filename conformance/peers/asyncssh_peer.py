"""AsyncSSH as an interop peer for sshts's conformance tests.

client mode: reads a JSON plan on stdin ({host, port, user, password, knownHosts,
  cases: [...]}) and runs each case as one connection to the server under test,
  printing one JSON result per line.
server mode: reads a JSON config on stdin, listens on 127.0.0.1 (a free port),
  prints "LISTENING <port>" and serves until killed: password, keyboard-
  interactive (one "Password:" prompt) and public key authentication, the
  commands echo/exit/sha256/cat/rekeys, direct-tcpip to anywhere.

Written for these tests; AsyncSSH is Debian's python3-asyncssh (2.10).
"""

import asyncio
import hashlib
import json
import sys

import asyncssh


def test_data(size, seed):
    """The same bytes as testData() in conformance/interop_peers.ts."""
    out = bytearray()
    state = hashlib.sha256(b"sshts-interop-%d" % seed).digest()
    while len(out) < size:
        out += state
        state = hashlib.sha256(state).digest()
    return bytes(out[:size])


def algorithm_options(case):
    opts = {}
    for key, option in (("kex", "kex_algs"), ("ciphers", "encryption_algs"),
                        ("macs", "mac_algs")):
        if case.get(key):
            opts[option] = case[key]
    if case.get("rekeyBytes"):
        opts["rekey_bytes"] = case["rekeyBytes"]
    return opts


async def read_until(stream, needle, timeout=20):
    data = ""
    while needle not in data:
        chunk = await asyncio.wait_for(stream.read(4096), timeout)
        if not chunk:
            break
        data += chunk
    return data


async def run_case(plan, case):
    result = {"id": case["id"], "ok": False}
    auth = case.get("auth", "password")
    opts = dict(username=plan["user"], known_hosts=plan.get("knownHosts"),
                agent_path=None, client_keys=None, password_auth=False,
                kbdint_auth=False, public_key_auth=False)
    if auth == "password":
        opts.update(password=plan["password"], password_auth=True)
    elif auth == "kbdint":
        opts.update(password=plan["password"], kbdint_auth=True)
    elif auth == "key":
        opts.update(client_keys=[case["key"]], public_key_auth=True)
        if case.get("sigAlgs"):
            opts["signature_algs"] = case["sigAlgs"]
    opts.update(algorithm_options(case))
    async with asyncssh.connect(plan["host"], plan["port"], **opts) as conn:
        result["cipher"] = conn.get_extra_info("send_cipher")
        result["mac"] = conn.get_extra_info("send_mac")
        if case.get("ptyLines") is not None:
            proc = await conn.create_process(term_type="xterm", term_size=(80, 24))
            out = await read_until(proc.stdout, "$ ")
            for line in case["ptyLines"]:
                proc.stdin.write(line + "\r")
                out += await read_until(proc.stdout, "$ ")
            proc.stdin.write("exit\r")
            rest = await asyncio.wait_for(proc.stdout.read(), 20)
            await proc.wait()
            result.update(stdout=out + rest, exitStatus=proc.exit_status)
        elif case.get("forwardPort"):
            reader, writer = await conn.open_connection("127.0.0.1", case["forwardPort"])
            text = case.get("forwardText", "hello")
            writer.write(text.encode())
            got = await asyncio.wait_for(reader.readexactly(len(text.encode())), 20)
            writer.close()
            result["forwarded"] = got.decode()
        if case.get("command"):
            proc = await conn.create_process(case["command"], encoding=None)
            if case.get("stdinSize"):
                data = test_data(case["stdinSize"], case.get("seed", 1))
                result["sentHash"] = hashlib.sha256(data).hexdigest()
                for i in range(0, len(data), 65536):
                    proc.stdin.write(data[i:i + 65536])
                    await proc.stdin.drain()
            proc.stdin.write_eof()
            stdout = await asyncio.wait_for(proc.stdout.read(), 120)
            stderr = await asyncio.wait_for(proc.stderr.read(), 20)
            await proc.wait()
            result.update(stdout=stdout.decode("utf-8", "replace"),
                          stderr=stderr.decode("utf-8", "replace"),
                          exitStatus=proc.exit_status)
        if case.get("sftp"):
            data = test_data(case["sftp"], case.get("seed", 1))
            async with conn.start_sftp_client() as sftp:
                await sftp.mkdir("d")
                async with sftp.open("d/a.bin", "wb") as f:
                    await f.write(data)
                await sftp.rename("d/a.bin", "d/b.bin")
                # A relative link, read back through: AsyncSSH sends the draft's order
                # to a server that is not OpenSSH or paramiko.
                await sftp.symlink("b.bin", "d/l")
                names = [n for n in await sftp.listdir("d") if n not in (".", "..")]
                async with sftp.open("d/l", "rb") as f:
                    back = await f.read()
                link_target = await sftp.readlink("d/l")
                await sftp.remove("d/l")
                await sftp.remove("d/b.bin")
                await sftp.rmdir("d")
            result["sftp"] = {"names": sorted(names), "sentHash": hashlib.sha256(data).hexdigest(),
                              "backHash": hashlib.sha256(back).hexdigest(),
                              "linkTarget": link_target}
        if case.get("then"):
            # A second command on the same connection (e.g. "algorithms" after a transfer).
            done = await conn.run(case["then"])
            result["then"] = done.stdout
    result["ok"] = True
    return result


async def client(plan):
    for case in plan["cases"]:
        try:
            result = await asyncio.wait_for(run_case(plan, case), case.get("timeout", 180))
        except BaseException as e:  # report, then go on with the next case
            result = {"id": case["id"], "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(result), flush=True)


class Server(asyncssh.SSHServer):
    def __init__(self, config):
        self.config = config

    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return username == self.config["user"] and password == self.config["password"]

    def kbdint_auth_supported(self):
        return True

    def get_kbdint_challenge(self, username, lang, submethods):
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username, responses):
        return username == self.config["user"] and list(responses) == [self.config["password"]]

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
        return True


async def handle(process):
    """Runs one session; stdin and stdout carry bytes (encoding=None)."""
    command = process.command or ""
    words = command.split()
    out = process.stdout
    try:
        if not words:
            out.write(b"$ ")
            async for line in process.stdin:
                line = line.rstrip(b"\r\n")
                if line == b"exit":
                    break
                out.write(line + b"\n$ ")
            process.exit(0)
        elif words[0] == "echo":
            out.write((" ".join(words[1:]) + "\n").encode())
            process.exit(0)
        elif words[0] == "exit":
            process.exit(int(words[1]))
        elif words[0] == "sha256":
            h = hashlib.sha256()
            while True:
                chunk = await process.stdin.read(65536)
                if not chunk:
                    break
                h.update(chunk)
            out.write((h.hexdigest() + "\n").encode())
            process.exit(0)
        elif words[0] == "cat":
            while True:
                chunk = await process.stdin.read(65536)
                if not chunk:
                    break
                out.write(chunk)
                await out.drain()
            process.exit(0)
        else:
            process.stderr.write(("%s: command not found\n" % words[0]).encode())
            process.exit(127)
    except Exception as e:  # the test sees it on stderr
        process.stderr.write(("error: %s\n" % e).encode())
        process.exit(1)


async def server(config):
    opts = dict(server_host_keys=config["hostKeys"],
                authorized_client_keys=config.get("authorizedKeys"),
                process_factory=handle, encoding=None,
                line_editor=False)
    opts.update(algorithm_options(config))
    if config.get("sigAlgs"):
        opts["signature_algs"] = config["sigAlgs"]
    if config.get("sftpRoot"):
        root = config["sftpRoot"]
        opts["sftp_factory"] = lambda chan: asyncssh.SFTPServer(chan, chroot=root)
    listener = await asyncssh.listen("127.0.0.1", 0, server_factory=lambda: Server(config),
                                     **opts)
    port = listener.sockets[0].getsockname()[1]
    print("LISTENING %d" % port, flush=True)
    await asyncio.Event().wait()


def main():
    config = json.loads(sys.stdin.read())
    if sys.argv[1] == "client":
        asyncio.run(client(config))
    else:
        asyncio.run(server(config))


if __name__ == "__main__":
    main()
