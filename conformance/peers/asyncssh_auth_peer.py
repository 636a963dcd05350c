"""AsyncSSH driver for the authentication and trust parity tests (#20).

server mode: reads a JSON config on stdin ({hostKeys: [[key, cert-or-null]...],
  user}), listens on 127.0.0.1 (a free port), prints "LISTENING <port>" and
  serves until killed. begin_auth sends a dynamic banner; the password "old"
  has expired: change_password accepts "good-new", asks again for "retry" and
  refuses anything else. X.509 host keys come with their PEM chain.

client mode: reads a JSON plan on stdin ({port, user, cases: [...]}), runs
  each case as one connection and prints one JSON line per case:
  {id, ok, error?, banner?, events?, output?}.
  case.auth: "x509" (key, certs), "hostbased" (hostKey, clientHost,
  clientUser), "password-change" (new passwords to offer, in order).
"""
import asyncio
import json
import sys

import asyncssh


class Server(asyncssh.SSHServer):
    def __init__(self, config):
        self.config = config
        self.conn = None

    def connection_made(self, conn):
        self.conn = conn

    def begin_auth(self, username):
        self.conn.send_auth_banner("AsyncSSH banner for %s\n" % username)
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        if password == "old":
            raise asyncssh.PasswordChangeRequired("Password expired, choose a new one:")
        return password == "good-new"

    def change_password(self, username, old_password, new_password):
        if old_password != "old":
            return False
        if new_password == "retry":
            raise asyncssh.PasswordChangeRequired("Too weak, again:")
        return new_password == "good-new"


async def handle(process):
    process.stdout.write("%s\n" % process.get_extra_info("username"))
    process.exit(0)


async def server(config):
    keys = []
    for key, cert in config["hostKeys"]:
        keys.append(asyncssh.load_keypairs([(key, cert)] if cert else [key])[0])
    listener = await asyncssh.listen(
        "127.0.0.1", 0, server_factory=lambda: Server(config),
        server_host_keys=keys, process_factory=handle, encoding="utf-8")
    port = listener.sockets[0].getsockname()[1]
    print("LISTENING %d" % port, flush=True)
    await asyncio.Event().wait()


class Client(asyncssh.SSHClient):
    def __init__(self, offers, events):
        self.offers = list(offers)
        self.events = events

    def auth_banner_received(self, msg, lang):
        self.events.append("banner:" + msg.strip())

    def password_change_requested(self, prompt, lang):
        self.events.append("prompt:" + prompt)
        if not self.offers:
            return NotImplemented
        return "old", self.offers.pop(0)

    def password_changed(self):
        self.events.append("changed")

    def password_change_failed(self):
        self.events.append("failed")


async def run_case(plan, case):
    events = []
    opts = dict(port=plan["port"], username=plan["user"], known_hosts=None,
                agent_path=None, client_keys=None, password_auth=False,
                kbdint_auth=False, public_key_auth=False, host_based_auth=False)
    auth = case["auth"]
    if auth == "x509":
        opts.update(public_key_auth=True,
                    client_keys=asyncssh.load_keypairs([(case["key"], case["certs"])]))
    elif auth == "hostbased":
        opts.update(host_based_auth=True, client_host_keys=[case["hostKey"]],
                    client_host=case["clientHost"], client_username=case["clientUser"])
    elif auth == "password-change":
        opts.update(password_auth=True, password="old")
    result = {"id": case["id"]}
    try:
        conn, _ = await asyncssh.create_connection(
            lambda: Client(case.get("offers", []), events), "127.0.0.1", **opts)
        async with conn:
            r = await conn.run("whoami", check=True)
            result.update(ok=True, output=r.stdout)
    except Exception as e:  # noqa: BLE001 - the test wants the reason
        result.update(ok=False, error="%s: %s" % (type(e).__name__, e))
    result["events"] = events
    return result


async def client(plan):
    for case in plan["cases"]:
        print(json.dumps(await run_case(plan, case)), flush=True)


def main():
    config = json.loads(sys.stdin.read())
    if sys.argv[1] == "client":
        asyncio.run(client(config))
    else:
        asyncio.run(server(config))


if __name__ == "__main__":
    main()
