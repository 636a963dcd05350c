/**
 * The engines refuse numeric options that would otherwise quietly do something else (a NaN
 * rekey limit never rekeyed, -1 rekeyed after every packet, a NaN keepalive interval turned
 * keepalives off), and channels refuse windows that are no uint32 (NaN passed before).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair } from "../testing/fixtures.ts";
import { checkChannelSizes, checkEngineLimits } from "./option_checks.ts";

const BAD: readonly [string, number][] = [
  ["rekeyBytes", NaN],
  ["rekeyBytes", -1],
  ["rekeyBytes", 15],
  ["rekeyBytes", 1.5e3 + 0.5],
  ["rekeyPackets", 0],
  ["rekeyIntervalMs", -1],
  ["rekeyIntervalMs", NaN],
  ["keepaliveIntervalMs", NaN],
  ["keepaliveIntervalMs", -5],
  ["keepaliveCountMax", -1],
  ["keepaliveCountMax", 2.5],
  ["maxChannels", 0],
];

test("checkEngineLimits() refuses each bad number with a RangeError naming the option", () => {
  for (const [key, v] of BAD) {
    assert.throws(() => checkEngineLimits({ [key]: v }), { name: "RangeError" }, `${key} ${v}`);
    assert.throws(() => checkEngineLimits({ [key]: v }), new RegExp(`^RangeError: ${key} must be`));
  }
  assert.throws(
    () => checkEngineLimits({ rekeyIntervalMs: -1 }, { rekeyIntervalMs: "rekeyInterval" }),
    /^RangeError: rekeyInterval must be/,
  );
  checkEngineLimits({
    rekeyBytes: 16,
    rekeyPackets: 1,
    rekeyIntervalMs: 0,
    keepaliveIntervalMs: Infinity,
    keepaliveCountMax: 0,
    maxChannels: 1,
  });
});

test("both engines refuse bad numeric options when made", () => {
  for (const [key, v] of BAD) {
    assert.throws(() => makePair({ client: { [key]: v } }), RangeError, `client ${key} ${v}`);
    assert.throws(() => makePair({ server: { [key]: v } }), RangeError, `server ${key} ${v}`);
  }
});

test("checkChannelSizes() and channel opens refuse windows and packet sizes that are no integers", () => {
  for (const window of [0, -1, NaN, 1.5, 2 ** 32]) {
    assert.throws(
      () => checkChannelSizes({ window }, { window: "windowSize" }),
      /^RangeError: windowSize/,
    );
  }
  for (const maxPacket of [0, NaN, 2.5]) {
    assert.throws(() => checkChannelSizes({ maxPacket }), RangeError);
  }
  checkChannelSizes({ window: 2 ** 32 - 1, maxPacket: 1e9 });
  const pair = makePair({ password: "secret" });
  pair.run();
  for (const window of [NaN, 1.5, -1]) {
    assert.throws(
      () => pair.client.openChannel("session", undefined, { window }),
      /Invalid channel window/,
    );
  }
});

test("acceptChannel() with a bad window throws before the channel moves: it can still be refused", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  pair.client.openChannel("session");
  pair.run();
  const open = pair.serverEvents.find((e) => e.type === "channelOpenRequest");
  assert.ok(open?.type === "channelOpenRequest");
  assert.throws(() => pair.server.acceptChannel(open.channelId, { window: NaN }), /window/);
  assert.throws(() => pair.server.acceptChannel(open.channelId, { maxPacket: 0 }), /packet/);
  pair.server.rejectChannel(open.channelId, 2, "no");
  pair.run();
  assert.ok(pair.clientEvents.some((e) => e.type === "channelOpenFailure"));
});
