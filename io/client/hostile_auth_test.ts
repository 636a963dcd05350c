/**
 * connect() against scripted hostile servers during user authentication: no SHA-1
 * downgrade.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHError } from "../../core/errors.ts";
import { seededRandom } from "../../core/random.ts";
import { Msg } from "../../core/transport/messages.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import { connect } from "./connect.ts";
import {
  authFailure,
  hostileAuthServer,
  hostileConnectOptions,
  serviceAccept,
} from "./_hostile_auth_test_util.ts";
import type { ConnectOptions } from "./options.ts";

/** connect() must reject with an SSHError of `code`; resolves with it. */
async function rejection(p: Promise<{ close(): Promise<void> }>): Promise<SSHError> {
  const r = await p.then(async (c) => {
    await c.close();
    return undefined;
  }, (e: unknown) => e);
  assert.ok(r instanceof SSHError, `connect() should have failed, got ${String(r)}`);
  return r;
}

test("server-sig-algs of only ssh-rsa gets no SHA-1 signature unless clientSignatureAlgs names it", async () => {
  const rsa = clientKeyFromSSHKey(
    generatePrivateKey("rsa", { keySize: 2048, random: seededRandom(3) }),
  );
  await using s = await hostileAuthServer((ctx, type) => {
    if (type === Msg.SERVICE_REQUEST) return ctx.send(serviceAccept());
    ctx.send(authFailure(["publickey"]));
  }, { serverSigAlgs: ["ssh-rsa"] });
  const publickeys = () => s.requests.filter((r) => r.method.startsWith("publickey"));
  const login = (options: ConnectOptions) =>
    rejection(connect("127.0.0.1", hostileConnectOptions(s, { clientKeys: [rsa], ...options })));
  assert.equal((await login({})).code, "ERR_PERMISSION_DENIED");
  assert.deepEqual(publickeys(), []);
  await login({ clientSignatureAlgs: ["rsa-sha2-512", "ssh-rsa"] });
  assert.deepEqual(publickeys().map((r) => r.algorithm), ["ssh-rsa"]);
});
