/** mod.ts exports the helpers a user needs for connect()'s and listen()'s options as values. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as mod from "./mod.ts";

test("mod.ts exports the helpers as values", () => {
  assert.equal(typeof mod.knownHostsVerifier, "function");
  assert.equal(typeof mod.x509HostKeyVerifier, "function");
  assert.equal(typeof mod.loadKeyPairs, "function");
  assert.equal(typeof mod.readCertificate, "function");
  assert.equal(typeof mod.loadDefaultClientKeys, "function");
  assert.equal(typeof mod.loadAuthorizedKeys, "function");
  assert.equal(typeof mod.hostKeyFromX509, "function");
  assert.equal(typeof mod.getServerHostKey, "function");
  assert.equal(typeof mod.getServerAuthMethods, "function");
  assert.equal(mod.TerminalMode.ECHO, 53);
  assert.equal(mod.DEVNULL, "/dev/null");
  assert.equal(mod.ChannelOpenFailure.CONNECT_FAILED, 2);
  assert.equal(typeof mod.ProcessTimeoutError, "function");
  assert.equal(typeof mod.ProcessError, "function");
  assert.ok(mod.DEFAULT_KNOWN_HOSTS_FILES.length > 0);
  assert.ok(mod.DEFAULT_IDENTITY_FILES.length > 0);
  assert.ok(mod.DEFAULT_ALGORITHMS.kex.length > 0);
  assert.ok(mod.SUPPORTED_ALGORITHMS.mac.length > 0);
});
