import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIPv6, SocksHandshake, type SocksStep } from "./socks_codec.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Feeds `bytes` one at a time and returns the steps that did something. */
function byteByByte(h: SocksHandshake, bytes: Uint8Array): SocksStep[] {
  const out: SocksStep[] = [];
  for (const b of bytes) {
    const s = h.receive(new Uint8Array([b]));
    if (Object.keys(s).length) out.push(s);
  }
  return out;
}

test("SocksHandshake reads a SOCKS 4 CONNECT split into single bytes", () => {
  const h = new SocksHandshake();
  const steps = byteByByte(h, new Uint8Array([4, 1, 0, 80, 10, 1, 2, 3, ...enc("user"), 0]));
  assert.deepEqual(steps, [{ request: { version: 4, host: "10.1.2.3", port: 80 } }]);
  assert.deepEqual([...h.successReply()], [0, 90, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...h.failureReply("refused")], [0, 91, 0, 0, 0, 0, 0, 0]);
});

test("SocksHandshake reads a SOCKS 4a host name and keeps bytes after the request", () => {
  const h = new SocksHandshake();
  const step = h.receive(
    new Uint8Array([4, 1, 1, 187, 0, 0, 0, 9, 0, ...enc("example.org"), 0, ...enc("GET")]),
  );
  assert.deepEqual(step.request, { version: 4, host: "example.org", port: 443 });
  assert.equal(new TextDecoder().decode(step.rest), "GET");
  assert.equal(new TextDecoder().decode(h.receive(enc("more")).rest), "more");
});

test("SocksHandshake answers a SOCKS 5 greeting and reads each address type", () => {
  const cases: [number[], string][] = [
    [[1, 192, 168, 0, 1], "192.168.0.1"],
    [[3, 4, ...enc("host")], "host"],
    [[4, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1], "2001:db8::1"],
  ];
  for (const [addr, host] of cases) {
    const h = new SocksHandshake();
    assert.deepEqual([...h.receive(new Uint8Array([5, 2, 2, 0])).reply!], [5, 0]);
    const steps = byteByByte(h, new Uint8Array([5, 1, 0, ...addr, 0x1f, 0x90]));
    assert.deepEqual(steps, [{ request: { version: 5, host, port: 8080 } }]);
    assert.deepEqual([...h.successReply()], [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(h.failureReply("refused")[1], 5);
    assert.equal(h.failureReply("not-allowed")[1], 2);
    assert.equal(h.failureReply("unreachable")[1], 4);
  }
});

test("formatIPv6() writes what inet_ntop writes (sshd matches PermitOpen against it)", () => {
  const ip = (...words: number[]) => new Uint8Array(words.flatMap((w) => [w >> 8, w & 255]));
  const cases: [Uint8Array, string][] = [
    [ip(0, 0, 0, 0, 0, 0, 0, 1), "::1"],
    [ip(0, 0, 0, 0, 0, 0, 0, 0), "::"],
    [ip(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), "2001:db8::1"],
    [ip(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1), "2001:db8:0:1::1"], // the longer run
    [ip(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1"], // the first of equal runs
    [ip(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), "2001:db8:0:1:1:1:1:1"], // one zero group stays
    [ip(0xfe80, 0, 0, 0, 0, 0, 0, 0), "fe80::"],
    [ip(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), "::ffff:192.0.2.1"],
    [ip(0, 0, 0, 0, 0, 0, 0xc000, 0x0201), "::192.0.2.1"],
    [ip(1, 2, 3, 4, 5, 6, 7, 0xabcd), "1:2:3:4:5:6:7:abcd"],
  ];
  for (const [bytes, text] of cases) assert.equal(formatIPv6(bytes), text);
});

test("SocksHandshake takes a SOCKS 5 greeting and request in one read", () => {
  const h = new SocksHandshake();
  const s = h.receive(new Uint8Array([5, 1, 0, 5, 1, 0, 3, 1, 104, 0, 22, 9, 9]));
  assert.deepEqual([...s.reply!], [5, 0]);
  assert.deepEqual(s.request, { version: 5, host: "h", port: 22 });
  assert.deepEqual([...s.rest!], [9, 9]);
});

test("SocksHandshake refuses what it does not support, with the right reply", () => {
  const noMethod = new SocksHandshake().receive(new Uint8Array([5, 1, 2]));
  assert.deepEqual([...noMethod.reply!], [5, 0xff]);
  assert.match(noMethod.error!, /no method/);

  const bind = new SocksHandshake();
  bind.receive(new Uint8Array([5, 1, 0]));
  const b = bind.receive(new Uint8Array([5, 2, 0, 1, 1, 2, 3, 4, 0, 80]));
  assert.equal(b.reply![1], 7, "command not supported");

  const atyp = new SocksHandshake();
  atyp.receive(new Uint8Array([5, 1, 0]));
  assert.equal(atyp.receive(new Uint8Array([5, 1, 0, 9, 0, 0])).reply![1], 8);

  // RFC 1928's reserved byte must be 0; ssh -D refuses the request otherwise.
  const rsv = new SocksHandshake();
  rsv.receive(new Uint8Array([5, 1, 0]));
  const r = rsv.receive(new Uint8Array([5, 1, 7, 1, 1, 2, 3, 4, 0, 80]));
  assert.match(r.error!, /reserved byte/);
  assert.equal(r.reply![1], 1, "general failure");

  const v4bind = new SocksHandshake().receive(new Uint8Array([4, 2, 0, 80, 1, 2, 3, 4, 0]));
  assert.deepEqual([v4bind.reply![0], v4bind.reply![1]], [0, 91]);

  const bad = new SocksHandshake().receive(new Uint8Array([6, 1]));
  assert.match(bad.error!, /Unsupported SOCKS version 6/);
  assert.equal(bad.reply, undefined);

  const longUser = new SocksHandshake().receive(
    new Uint8Array([4, 1, 0, 80, 1, 2, 3, 4, ...new Array(300).fill(65)]),
  );
  assert.match(longUser.error!, /too long/);
});

test("SocksHandshake refuses a SOCKS 5 host name with a NUL or another control character", () => {
  for (const name of [[...enc("127.0.0.1"), 0, ...enc("A")], [...enc("a\nb")], [0x7f], [0]]) {
    const h = new SocksHandshake();
    const s = h.receive(new Uint8Array([5, 1, 0, 5, 1, 0, 3, name.length, ...name, 0, 80]));
    assert.equal(s.request, undefined, `no request for ${JSON.stringify(name)}`);
    assert.match(s.error!, /not valid text/);
    // The method choice, then a general failure.
    assert.deepEqual([...s.reply!], [5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
  }
  // Split into single bytes the same.
  const h = new SocksHandshake();
  const steps = byteByByte(h, new Uint8Array([5, 1, 0, 5, 1, 0, 3, 3, 104, 0, 104, 0, 80]));
  assert.equal(steps.some((s) => s.request), false);
  assert.deepEqual([...steps.at(-1)!.reply!], [5, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
});

test("SocksHandshake refuses a SOCKS 5 host name that is not valid UTF-8", () => {
  // A lone continuation byte, a truncated sequence, an overlong "/", a UTF-16 surrogate.
  for (const name of [[0x68, 0x80], [0x68, 0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
    const h = new SocksHandshake();
    h.receive(new Uint8Array([5, 1, 0]));
    const s = h.receive(new Uint8Array([5, 1, 0, 3, name.length, ...name, 0, 80]));
    assert.equal(s.request, undefined, `no request for ${JSON.stringify(name)}`);
    assert.deepEqual([...s.reply!], [5, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
  }
  // Valid UTF-8 beyond ASCII still passes, unchanged.
  const h = new SocksHandshake();
  h.receive(new Uint8Array([5, 1, 0]));
  const name = enc("bücher.example");
  const s = h.receive(new Uint8Array([5, 1, 0, 3, name.length, ...name, 0, 80]));
  assert.deepEqual(s.request, { version: 5, host: "bücher.example", port: 80 });
});

test("SocksHandshake refuses a SOCKS 4a host name with a control character or bad UTF-8", () => {
  for (const name of [[...enc("a\tb")], [0x68, 0x80], [0x1b]]) {
    const s = new SocksHandshake().receive(
      new Uint8Array([4, 1, 0, 80, 0, 0, 0, 1, ...enc("u"), 0, ...name, 0]),
    );
    assert.equal(s.request, undefined, `no request for ${JSON.stringify(name)}`);
    assert.deepEqual([...s.reply!], [0, 91, 0, 0, 0, 0, 0, 0]);
  }
});

test("SocksHandshake never throws on random input", () => {
  let s = fuzzSeed(1);
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  };
  for (let i = 0; i < fuzzRuns(2000); i++) {
    const h = new SocksHandshake();
    const first = [4, 5][i % 2]!;
    for (let j = 0; j < 4; j++) {
      const chunk = new Uint8Array(1 + (rand() % 12)).map(rand);
      if (j === 0) chunk[0] = first;
      const step = h.receive(chunk);
      if (step.error || step.request) break;
    }
  }
});
