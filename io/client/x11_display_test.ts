/** DISPLAY parsing and the .Xauthority format: round trips, lookups, and fuzzed input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHError } from "../../core/errors.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import {
  encodeXauthority,
  findXauthCookie,
  parseDisplay,
  parseXauthority,
  swapX11Cookie,
  type XauthEntry,
  XauthFamily,
} from "./x11_display.ts";

test("parseDisplay: UNIX and TCP displays", () => {
  assert.deepEqual(parseDisplay(":0"), {
    kind: "unix",
    path: "/tmp/.X11-unix/X0",
    display: 0,
    screen: 0,
  });
  assert.deepEqual(parseDisplay("unix:3.1"), {
    kind: "unix",
    path: "/tmp/.X11-unix/X3",
    display: 3,
    screen: 1,
  });
  assert.deepEqual(parseDisplay("localhost:10.0"), {
    kind: "tcp",
    host: "localhost",
    port: 6010,
    display: 10,
    screen: 0,
  });
  assert.deepEqual(parseDisplay("[::1]:2"), {
    kind: "tcp",
    host: "::1",
    port: 6002,
    display: 2,
    screen: 0,
  });
  for (const bad of ["", "0", "host:", "host:x", "host:99999", "h st:1", ":1.x"]) {
    assert.throws(() => parseDisplay(bad), SSHError, bad);
  }
});

test("parseDisplay() takes a path as the socket itself: macOS launchd's, with its ':0'", () => {
  // The socket launchd makes is named "org.xquartz:0": ssh (is_path_to_xsocket) and xcb connect
  // to the whole value, or to it less a ".screen".
  assert.deepEqual(parseDisplay("/private/tmp/com.apple.launchd.AbC/org.xquartz:0"), {
    kind: "unix",
    path: "/private/tmp/com.apple.launchd.AbC/org.xquartz:0",
    display: 0,
    screen: 0,
  });
  assert.deepEqual(parseDisplay("/private/tmp/com.apple.launchd.AbC/org.xquartz:0.1"), {
    kind: "unix",
    path: "/private/tmp/com.apple.launchd.AbC/org.xquartz:0",
    display: 0,
    screen: 1,
  });
  assert.deepEqual(parseDisplay("/tmp/.X11-unix/X3"), {
    kind: "unix",
    path: "/tmp/.X11-unix/X3",
    display: 0,
    screen: 0,
  });
  assert.deepEqual(parseDisplay("/run/x.sock.2"), {
    kind: "unix",
    path: "/run/x.sock.2",
    display: 0,
    screen: 0,
  });
});

const enc = new TextEncoder();
const cookie = (n: number) => new Uint8Array(16).fill(n);
const entries: XauthEntry[] = [
  {
    family: XauthFamily.LOCAL,
    address: enc.encode("other"),
    number: "0",
    name: "MIT-MAGIC-COOKIE-1",
    data: cookie(1),
  },
  {
    family: XauthFamily.LOCAL,
    address: enc.encode("me"),
    number: "0",
    name: "MIT-MAGIC-COOKIE-1",
    data: cookie(2),
  },
  {
    family: XauthFamily.INTERNET,
    address: new Uint8Array([10, 0, 0, 5]),
    number: "10",
    name: "MIT-MAGIC-COOKIE-1",
    data: cookie(3),
  },
  {
    family: XauthFamily.LOCAL,
    address: enc.encode("me"),
    number: "11",
    name: "MIT-MAGIC-COOKIE-1",
    data: cookie(4),
  },
];

test(".Xauthority: encode/parse round trip and Xlib's lookup", () => {
  const file = encodeXauthority(entries);
  assert.deepEqual(parseXauthority(file), entries);
  assert.deepEqual(findXauthCookie(entries, parseDisplay(":0"), "me")?.data, cookie(2));
  assert.deepEqual(findXauthCookie(entries, parseDisplay("10.0.0.5:10"), "me")?.data, cookie(3));
  assert.deepEqual(findXauthCookie(entries, parseDisplay("localhost:11"), "me")?.data, cookie(4));
  assert.equal(findXauthCookie(entries, parseDisplay(":5"), "me"), undefined);
  const wild = [{ ...entries[0]!, family: XauthFamily.WILD, number: "" }];
  assert.deepEqual(findXauthCookie(wild, parseDisplay(":7"), "me")?.data, cookie(1));
});

test(".Xauthority: the host name is asked for only when a LOCAL entry of a local display needs it", () => {
  let asked = 0;
  const hostName = () => (asked++, "me");
  const refuse = () => {
    throw new Error("the host name cannot be read");
  };
  // A TCP display of another host, and a WILD entry, do without it (a Deno without
  // --allow-sys=hostname still forwards to them).
  assert.deepEqual(findXauthCookie(entries, parseDisplay("10.0.0.5:10"), refuse)?.data, cookie(3));
  const wild = [{ ...entries[0]!, family: XauthFamily.WILD, number: "" }];
  assert.deepEqual(findXauthCookie(wild, parseDisplay(":7"), refuse)?.data, cookie(1));
  assert.equal(findXauthCookie([], parseDisplay(":0"), refuse), undefined);
  // A local display with LOCAL entries asks, once.
  assert.deepEqual(
    findXauthCookie(entries, parseDisplay("localhost:11"), hostName)?.data,
    cookie(4),
  );
  assert.equal(asked, 1);
  assert.throws(() => findXauthCookie(entries, parseDisplay(":0"), refuse), /cannot be read/);
});

test(".Xauthority: truncated and mutated files give typed errors, never crashes", () => {
  const file = encodeXauthority(entries);
  for (let cut = 1; cut < file.length; cut++) {
    try {
      parseXauthority(file.subarray(0, cut));
    } catch (e) {
      assert.ok(e instanceof SSHError);
    }
  }
  let seed = fuzzSeed(12345);
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < fuzzRuns(2000); i++) {
    const m = file.slice();
    for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
      m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    }
    try {
      const out = parseXauthority(m);
      assert.ok(out.length <= m.length);
    } catch (e) {
      assert.ok(e instanceof SSHError, String(e));
    }
  }
});

function setup(be: boolean, name: string, data: Uint8Array, tail: number[] = []): Uint8Array {
  const n = enc.encode(name);
  const pad = (k: number) => (k + 3) & ~3;
  const out = new Uint8Array(12 + pad(n.length) + pad(data.length) + tail.length);
  const put16 = (at: number, v: number) => {
    out[at] = be ? v >> 8 : v & 0xff;
    out[at + 1] = be ? v & 0xff : v >> 8;
  };
  out[0] = be ? 0x42 : 0x6c;
  put16(2, 11);
  put16(6, n.length);
  put16(8, data.length);
  out.set(n, 12);
  out.set(data, 12 + pad(n.length));
  out.set(tail, 12 + pad(n.length) + pad(data.length));
  return out;
}

test("swapX11Cookie: the fake cookie is swapped for the real one; a wrong one is refused", () => {
  const fake = cookie(9), real = cookie(7);
  for (const be of [true, false]) {
    const s = setup(be, "MIT-MAGIC-COOKIE-1", fake, [1, 2, 3]);
    for (let cut = 0; cut < s.length - 3; cut++) {
      assert.equal(
        swapX11Cookie(s.subarray(0, cut), "MIT-MAGIC-COOKIE-1", fake, real).status,
        "more",
      );
    }
    const r = swapX11Cookie(s, "MIT-MAGIC-COOKIE-1", fake, real);
    assert.equal(r.status, "ok");
    if (r.status === "ok") {
      assert.deepEqual(r.bytes, setup(be, "MIT-MAGIC-COOKIE-1", real, [1, 2, 3]));
    }
    const wrong = swapX11Cookie(
      setup(be, "MIT-MAGIC-COOKIE-1", cookie(8)),
      "MIT-MAGIC-COOKIE-1",
      fake,
      real,
    );
    assert.equal(wrong.status, "refused");
    const proto = swapX11Cookie(
      setup(be, "XDM-AUTHORIZATION-1", fake),
      "MIT-MAGIC-COOKIE-1",
      fake,
      real,
    );
    assert.equal(proto.status, "refused");
  }
  assert.equal(swapX11Cookie(new Uint8Array(12).fill(0x41), "M", fake, real).status, "refused");
});

test("swapX11Cookie() compares the protocol name's bytes: one a decoder would read alike is refused", () => {
  const fake = cookie(9), real = cookie(7);
  const name = (bytes: number[]) => {
    const s = setup(true, "", fake);
    const n = new Uint8Array(bytes);
    const out = new Uint8Array(12 + ((n.length + 3) & ~3) + 16);
    out.set(s.subarray(0, 12));
    out[6] = n.length >> 8;
    out[7] = n.length & 0xff;
    out.set(n, 12);
    out.set(fake, 12 + ((n.length + 3) & ~3));
    return out;
  };
  const M = [...enc.encode("MIT-MAGIC-COOKIE-1")];
  assert.equal(swapX11Cookie(name(M), "MIT-MAGIC-COOKIE-1", fake, real).status, "ok");
  // A UTF-8 BOM before the name (TextDecoder drops it), and bad UTF-8 against a name holding
  // U+FFFD (the decoder's stand-in for it): other protocols, refused as OpenSSH does.
  const bom = swapX11Cookie(name([0xef, 0xbb, 0xbf, ...M]), "MIT-MAGIC-COOKIE-1", fake, real);
  assert.equal(bom.status, "refused");
  const bad = swapX11Cookie(name([0x58, 0xff]), "X\ufffd", fake, real);
  assert.equal(bad.status, "refused");
});
