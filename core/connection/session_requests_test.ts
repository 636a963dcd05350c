/**
 * The session request encoders refuse numbers the wire cannot carry instead of wrapping them
 * into 32 bits (a size of -1 went out as 4294967295), and their output decodes back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeControls } from "../peer_text.ts";
import { SSHWriter } from "../wire.ts";
import {
  decodeBreak,
  decodeExitSignal,
  decodePtyRequest,
  decodeWindowChange,
  decodeX11Request,
  encodeBreak,
  encodePtyRequest,
  encodeWindowChange,
  encodeX11Request,
} from "./session_requests.ts";

const BAD = [-1, 1.5, 2 ** 32, NaN, Infinity];

test("encodeWindowChange and encodePtyRequest refuse sizes that are no uint32", () => {
  for (const v of BAD) {
    for (const key of ["columns", "rows", "widthPixels", "heightPixels"]) {
      const size = { columns: 80, rows: 24, [key]: v };
      assert.throws(() => encodeWindowChange(size), RangeError, `${key} ${v}`);
      assert.throws(() => encodePtyRequest({ term: "xterm", ...size }), RangeError);
    }
  }
  const max = { columns: 2 ** 32 - 1, rows: 0, widthPixels: 640, heightPixels: 480 };
  assert.deepEqual(decodeWindowChange(encodeWindowChange(max)), max);
});

test("encodePtyRequest refuses mode opcodes outside 1..159 and values that are no uint32", () => {
  for (const op of [0, 160, 1.5, NaN, -3]) {
    assert.throws(
      () => encodePtyRequest({ term: "xterm", columns: 80, rows: 24, modes: new Map([[op, 1]]) }),
      /opcode/,
    );
  }
  for (const v of BAD) {
    assert.throws(
      () => encodePtyRequest({ term: "xterm", columns: 80, rows: 24, modes: new Map([[53, v]]) }),
      RangeError,
    );
  }
  const p = decodePtyRequest(
    encodePtyRequest({ term: "vt100", columns: 1, rows: 2, modes: new Map([[53, 2 ** 32 - 1]]) }),
  );
  assert.equal(p.modes?.get(53), 2 ** 32 - 1);
});

test("encodeBreak and encodeX11Request refuse numbers that are no uint32", () => {
  for (const v of BAD) {
    assert.throws(() => encodeBreak(v), /Break length/);
    assert.throws(
      () =>
        encodeX11Request({
          singleConnection: false,
          authProtocol: "MIT-MAGIC-COOKIE-1",
          authCookie: "00",
          screen: v,
        }),
      /X11 screen/,
    );
  }
  assert.equal(decodeBreak(encodeBreak(500)), 500);
  assert.equal(
    decodeX11Request(
      encodeX11Request({
        singleConnection: true,
        authProtocol: "MIT-MAGIC-COOKIE-1",
        authCookie: "00",
        screen: 3,
      }),
    ).screen,
    3,
  );
});

test("decodeExitSignal keeps a message that is not UTF-8, escaped: the exit is not lost", () => {
  // sshd sends the message as bytes; a Latin-1 one made the whole exit-signal unreadable.
  const data = new SSHWriter().writeStringUtf8("TERM").writeBoolean(false)
    .writeString(new Uint8Array([0x61, 0xe9, 0x62])).writeString(new Uint8Array([0xe9]))
    .toBytes();
  const s = decodeExitSignal(data);
  assert.equal(s.signal, "TERM");
  assert.equal(escapeControls(s.message), "a\\xe9b");
  assert.equal(escapeControls(s.language), "\\xe9");
});
