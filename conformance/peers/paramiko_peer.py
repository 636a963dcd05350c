"""paramiko as an interop peer for sshts's conformance tests.

client mode: reads a JSON plan on stdin ({host, port, user, password, knownHosts,
  cases: [...]}) and runs each case as one connection to the server under test,
  printing one JSON result per line.
server mode: reads a JSON config on stdin, listens on 127.0.0.1 (a free port),
  prints "LISTENING <port>" and serves until killed: password, keyboard-
  interactive (one "Password:" prompt) and public key authentication, the
  commands echo/exit/sha256/cat, a line-echoing shell, direct-tcpip.

Written for these tests; paramiko is Debian's python3-paramiko (2.12).
"""

import hashlib
import json
import socket
import sys
import threading
import time

import paramiko


def test_data(size, seed):
    """The same bytes as testData() in conformance/interop_peers.ts."""
    out = bytearray()
    state = hashlib.sha256(b"sshts-interop-%d" % seed).digest()
    while len(out) < size:
        out += state
        state = hashlib.sha256(state).digest()
    return bytes(out[:size])


def load_key(path):
    text = open(path).read()
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except Exception:
            continue
    raise ValueError("cannot load key %s (%d bytes)" % (path, len(text)))


def apply_algorithms(transport, spec):
    opts = transport.get_security_options()
    if spec.get("kex"):
        opts.kex = spec["kex"]
    if spec.get("ciphers"):
        opts.ciphers = spec["ciphers"]
    if spec.get("macs"):
        opts.digests = spec["macs"]
    if spec.get("rekeyBytes"):
        transport.packetizer.REKEY_BYTES = spec["rekeyBytes"]


def recv_until(channel, needle, timeout=20):
    data = b""
    deadline = time.time() + timeout
    while needle not in data and time.time() < deadline:
        if channel.recv_ready():
            data += channel.recv(65536)
        elif channel.exit_status_ready() or channel.closed:
            break
        else:
            time.sleep(0.01)
    return data


def settle_rekey(transport, timeout=30):
    """Waits until a rekey the last data triggered has finished.

    paramiko 2.12 deadlocks when a channel closes while its own rekey is in
    flight: its transport thread answers the peer's CHANNEL_CLOSE through
    _send_user_message(), which waits for the key exchange that only that thread
    can finish. A quick server (ours answers in microseconds) closes the channel
    right after our EOF; if the last data packets set need_rekey, the KEXINIT goes
    out after that EOF and the close lands in the middle of the exchange. So the
    EOF waits for any rekey the data started.
    """
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not transport.packetizer.need_rekey() and transport.clear_to_send.is_set():
            return
        time.sleep(0.01)


def run_command(transport, command, stdin=None):
    ch = transport.open_session()
    ch.exec_command(command)
    out = bytearray()
    err = bytearray()

    def reader():
        while True:
            chunk = ch.recv(65536)
            if not chunk:
                break
            out.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    if stdin is not None:
        for i in range(0, len(stdin), 32768):
            ch.sendall(stdin[i:i + 32768])
        settle_rekey(transport)
    ch.shutdown_write()
    t.join(180)
    status = ch.recv_exit_status()
    while ch.recv_stderr_ready():
        err.extend(ch.recv_stderr(65536))
    ch.close()
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), status


def run_case(plan, case):
    result = {"id": case["id"], "ok": False}
    disabled = {}
    if case.get("sigAlgs"):
        all_rsa = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
        disabled["pubkeys"] = [a for a in all_rsa if a not in case["sigAlgs"]]
    sock = socket.create_connection((plan["host"], plan["port"]), timeout=30)
    t = paramiko.Transport(sock, disabled_algorithms=disabled)
    # paramiko gives up on a rekey after 30 s; a loaded CI machine can take longer.
    t.clear_to_send_timeout = 120
    try:
        apply_algorithms(t, case)
        t.start_client(timeout=30)
        key = t.get_remote_server_key()
        known = paramiko.HostKeys(plan["knownHosts"])
        entry = known.lookup("[%s]:%d" % (plan["host"], plan["port"]))
        if entry is None or entry.get(key.get_name()) != key:
            raise Exception("host key %s not in known_hosts" % key.get_name())
        auth = case.get("auth", "password")
        if auth == "password":
            t.auth_password(plan["user"], plan["password"])
        elif auth == "kbdint":
            t.auth_interactive(plan["user"], lambda title, instr, prompts:
                               [plan["password"] for _ in prompts])
        elif auth == "key":
            t.auth_publickey(plan["user"], load_key(case["key"]))
        result["cipher"] = t.local_cipher
        result["mac"] = t.local_mac
        if case.get("ptyLines") is not None:
            ch = t.open_session()
            ch.get_pty("xterm", 80, 24)
            ch.invoke_shell()
            out = recv_until(ch, b"$ ")
            for line in case["ptyLines"]:
                ch.sendall((line + "\r").encode())
                out += recv_until(ch, b"$ ")
            ch.sendall(b"exit\r")
            out += recv_until(ch, b"\x00", 5)
            result.update(stdout=out.decode("utf-8", "replace"),
                          exitStatus=ch.recv_exit_status())
        if case.get("forwardPort"):
            ch = t.open_channel("direct-tcpip", ("127.0.0.1", case["forwardPort"]),
                                ("127.0.0.1", 0))
            text = case.get("forwardText", "hello").encode()
            ch.sendall(text)
            got = b""
            while len(got) < len(text):
                chunk = ch.recv(4096)
                if not chunk:
                    break
                got += chunk
            ch.close()
            result["forwarded"] = got.decode()
        if case.get("command"):
            data = None
            if case.get("stdinSize"):
                data = test_data(case["stdinSize"], case.get("seed", 1))
                result["sentHash"] = hashlib.sha256(data).hexdigest()
            stdout, stderr, status = run_command(t, case["command"], data)
            result.update(stdout=stdout, stderr=stderr, exitStatus=status)
        if case.get("sftp"):
            data = test_data(case["sftp"], case.get("seed", 1))
            sftp = paramiko.SFTPClient.from_transport(t)
            sftp.mkdir("d")
            with sftp.open("d/a.bin", "wb") as f:
                f.set_pipelined(True)
                f.write(data)
            sftp.rename("d/a.bin", "d/b.bin")
            # A relative link, read back through (paramiko always sends OpenSSH's order).
            sftp.symlink("b.bin", "d/l")
            names = sftp.listdir("d")
            with sftp.open("d/l", "rb") as f:
                f.prefetch()
                back = f.read()
            link_target = sftp.readlink("d/l")
            sftp.remove("d/l")
            sftp.remove("d/b.bin")
            sftp.rmdir("d")
            sftp.close()
            result["sftp"] = {"names": sorted(names), "sentHash": hashlib.sha256(data).hexdigest(),
                              "backHash": hashlib.sha256(back).hexdigest(),
                              "linkTarget": link_target}
        if case.get("then"):
            result["then"] = run_command(t, case["then"])[0]
        result["ok"] = True
    finally:
        t.close()
    return result


def client(plan):
    if plan.get("debug"):
        import logging
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    for case in plan["cases"]:
        try:
            result = run_case(plan, case)
        except BaseException as e:  # report, then go on with the next case
            result = {"id": case["id"], "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(result), flush=True)


class Server(paramiko.ServerInterface):
    def __init__(self, config, authorized):
        self.config = config
        self.authorized = authorized

    def get_allowed_auths(self, username):
        return "password,publickey,keyboard-interactive"

    def check_auth_password(self, username, password):
        ok = username == self.config["user"] and password == self.config["password"]
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        ok = username == self.config["user"] and \
            (key.get_name(), key.get_base64()) in self.authorized
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_interactive(self, username, submethods):
        query = paramiko.InteractiveQuery("", "")
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses):
        ok = list(responses) == [self.config["password"]]
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, *args):
        return True

    # paramiko sends the reply to a shell or exec request after these methods return:
    # the work starts a little later so a quick command cannot close the channel first.
    def check_channel_shell_request(self, channel):
        threading.Timer(0.2, shell, args=(channel,)).start()
        return True

    def check_channel_exec_request(self, channel, command):
        threading.Timer(0.2, execute, args=(channel, command.decode())).start()
        return True

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        try:
            self.pending = socket.create_connection(destination, timeout=10)
        except OSError:
            return paramiko.OPEN_FAILED_CONNECT_FAILED
        return paramiko.OPEN_SUCCEEDED


def shell(channel):
    channel.sendall(b"$ ")
    buf = b""
    while True:
        chunk = channel.recv(4096)
        if not chunk:
            break
        buf += chunk
        while b"\r" in buf or b"\n" in buf:
            cut = min(i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0)
            line, buf = buf[:cut], buf[cut + 1:]
            if line == b"exit":
                channel.send_exit_status(0)
                channel.close()
                return
            channel.sendall(line + b"\r\n$ ")
    channel.close()


def execute(channel, command):
    words = command.split()
    try:
        if words and words[0] == "echo":
            channel.sendall((" ".join(words[1:]) + "\n").encode())
            status = 0
        elif words and words[0] == "exit":
            status = int(words[1])
        elif words and words[0] in ("sha256", "cat"):
            h = hashlib.sha256()
            while True:
                chunk = channel.recv(65536)
                if not chunk:
                    break
                if words[0] == "cat":
                    channel.sendall(chunk)
                else:
                    h.update(chunk)
            if words[0] == "sha256":
                channel.sendall((h.hexdigest() + "\n").encode())
            status = 0
        else:
            channel.sendall_stderr(("%s: command not found\n" % command).encode())
            status = 127
    except Exception as e:  # the test sees it on stderr
        channel.sendall_stderr(("error: %s\n" % e).encode())
        status = 1
    channel.send_exit_status(status)
    channel.close()


def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except Exception:
        pass
    for s in (a, b):
        try:
            s.close()
        except Exception:
            pass


def serve_connection(sock, config, host_keys, authorized):
    disabled = {}
    if config.get("sigAlgs"):
        all_rsa = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
        disabled["pubkeys"] = [a for a in all_rsa if a not in config["sigAlgs"]]
    t = paramiko.Transport(sock, disabled_algorithms=disabled)
    t.clear_to_send_timeout = 120
    for k in host_keys:
        t.add_server_key(k)
    t.load_server_moduli()
    apply_algorithms(t, config)
    server = Server(config, authorized)
    t.start_server(server=server)
    while t.is_active():
        ch = t.accept(1)
        if ch is None:
            continue
        if ch.get_name() == "direct-tcpip" or getattr(server, "pending", None) is not None:
            target = getattr(server, "pending", None)
            server.pending = None
            if target is not None:
                threading.Thread(target=pump, args=(ch, target), daemon=True).start()
                threading.Thread(target=pump, args=(target, ch), daemon=True).start()


def server(config):
    if config.get("debug"):
        import logging
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    host_keys = [load_key(p) for p in config["hostKeys"]]
    authorized = set()
    for line in open(config["authorizedKeys"]):
        parts = line.split()
        if len(parts) >= 2:
            authorized.add((parts[0], parts[1]))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    print("LISTENING %d" % listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(sock, config, host_keys, authorized),
                         daemon=True).start()


def main():
    config = json.loads(sys.stdin.read())
    if sys.argv[1] == "client":
        client(config)
    else:
        server(config)


if __name__ == "__main__":
    main()
