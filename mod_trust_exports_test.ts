/** mod.ts exports the key file readers, known_hosts editing and X.509 trust helpers (#20). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as mod from "./mod.ts";

test("mod.ts exports the key file readers, known_hosts editing and the trust helpers", () => {
  assert.equal(typeof mod.readPublicKey, "function");
  assert.equal(typeof mod.loadPublicKeys, "function");
  assert.equal(typeof mod.loadCertificates, "function");
  assert.equal(typeof mod.readKnownHosts, "function");
  assert.equal(typeof mod.removeKnownHost, "function");
  assert.equal(typeof mod.parseCertificateTime, "function");
  assert.equal(typeof mod.loadX509Certificates, "function");
  assert.equal(typeof mod.parseKRL, "function");
  assert.equal(typeof mod.isKRL, "function");
  assert.equal(typeof mod.KeyRevocationList, "function");
  assert.equal(typeof mod.loadRevokedKeys, "function");
  assert.equal(typeof mod.RevokedKeys, "function");
  assert.equal(mod.parseCertificateTime("+1d", 0), 86400n);
});
