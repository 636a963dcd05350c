import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "./connect.ts";
import { loopback } from "../server/_loopback_test_util.ts";

test("conn.isClosed: false while up, true after close() and after the server went away", async () => {
  const t = await loopback({});
  assert.equal(t.conn.isClosed, false);
  await t.conn.close();
  assert.equal(t.conn.isClosed, true);
  const other = await connect("127.0.0.1", {
    port: t.server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    config: false,
  });
  assert.equal(other.isClosed, false);
  await t.server.close();
  await other.closed.catch(() => {});
  assert.equal(other.isClosed, true);
});
