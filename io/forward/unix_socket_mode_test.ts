/**
 * UNIX sockets the forwarding listeners make are private from the start, as ssh's and
 * sshd's StreamLocalBindMask 0177: `forwardLocalPath` (LocalListener) and the server's
 * streamlocal-forward listeners are mode 0600 whatever the umask, and closing a
 * streamlocal-forward listener leaves alone a file someone else has made at its path since.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalListener } from "./listener.ts";
import { RemoteListeners } from "./server_listeners.ts";
import { inTempDir } from "../runtime/_temp_dir_test_util.ts";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const noClient = () => Promise.reject(new Error("no client"));

test(
  "LocalListener.listen() makes a UNIX socket mode 0600",
  inTempDir("sshts-sockmode-", async (dir) => {
    const path = join(dir, "l.sock");
    await using _l = await LocalListener.listen({ path }, (s) => s.end());
    assert.equal(mode(path), "600");
  }),
);

test(
  "RemoteListeners.listenUnix() makes its socket mode 0600",
  inTempDir("sshts-sockmode-", async (dir) => {
    const path = join(dir, "r.sock");
    const listeners = new RemoteListeners(noClient, { gatewayPorts: false });
    try {
      await listeners.listenUnix(path);
      assert.equal(mode(path), "600");
    } finally {
      listeners.closeAll();
    }
  }),
);

test(
  "RemoteListeners.cancelUnix() removes its socket but not a file made at the path after",
  inTempDir("sshts-sockmode-", async (dir) => {
    const path = join(dir, "r.sock");
    const listeners = new RemoteListeners(noClient, { gatewayPorts: false });
    await listeners.listenUnix(path);
    assert.ok(listeners.cancelUnix(path));
    assert.equal(existsSync(path), false, "the runtime left the socket file");
    writeFileSync(path, "someone else's\n");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(path), true, "a file made after the close was removed");
  }),
);
