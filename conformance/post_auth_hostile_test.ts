/**
 * Garbage after authentication, at `listen()`: a peer that speaks real encrypted SSH (a core
 * ClientConnection engine driven over a TCP socket here) logs in and then sends hostile but
 * well-formed channel traffic: window overruns, data after EOF and after CLOSE, unknown channel
 * ids, window adjusts past 2^32, confirmations of channels never opened, huge requests and more
 * channels than allowed. Each case must end with a typed outcome (the connection closed with an
 * SSHError code, or the request or channel refused), while a second, well-behaved connection on
 * the same server keeps working through all of it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RAW_WINDOW as WINDOW, RawClient } from "./post_auth_hostile_client.ts";
import { encodeEnv, encodeStringArg } from "../core/connection/session_requests.ts";
import { SSHError } from "../core/errors.ts";
import { Msg } from "../core/transport/messages.ts";
import { SSHWriter } from "../core/wire.ts";
import { connect } from "../io/client/connect.ts";
import type { SSHServerConnection } from "../io/server/connection.ts";
import { listen, type SSHServer } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";

const USER = "tester";
const PASSWORD = "hostile-test-pw";

function msg(type: number, build: (w: SSHWriter) => void = () => {}): Uint8Array {
  const w = new SSHWriter().writeByte(type);
  build(w);
  return w.toBytes();
}

const data = (remote: number, n: number) =>
  msg(Msg.CHANNEL_DATA, (w) => w.writeUint32(remote).writeString(new Uint8Array(n)));

interface Outcome {
  /** The server's error for the hostile connection, when it closed it. */
  serverError?: string;
  /** What the hostile client saw (failure replies, channel closes, disconnect). */
  clientSaw: string[];
}

let server: SSHServer;
const lostErrors = new Map<number, Error | undefined>();

async function hostile(
  name: string,
  script: (c: RawClient) => Promise<void> | void,
): Promise<Outcome> {
  const c = new RawClient(server.address.port, USER, PASSWORD);
  await c.until((ev) => ev.some((e) => e.type === "authSuccess"));
  assert.ok(c.engine.authenticated, `${name}: logged in`);
  await script(c);
  // Let the server answer; it either closes us or replies.
  await Promise.race([c.closed, new Promise((r) => setTimeout(r, 300))]);
  const saw = c.events
    .filter((e) =>
      [
        "disconnect",
        "channelClose",
        "channelOpenFailure",
        "channelRequestReply",
        "globalRequestReply",
      ]
        .includes(e.type)
    )
    .map((e) =>
      e.type === "disconnect"
        ? `disconnect ${(e.error as SSHError).code}`
        : e.type === "channelRequestReply" || e.type === "globalRequestReply"
        ? `${e.type} ${(e as { success?: boolean }).success}`
        : e.type
    );
  c.destroy();
  await c.closed;
  // The server's view of the hostile connection, by its client port.
  await new Promise((r) => setTimeout(r, 50));
  const errs = [...lostErrors.values()];
  lostErrors.clear();
  const e = errs.find((x) => x !== undefined);
  return {
    ...(e ? { serverError: `${(e as SSHError).code ?? "untyped"}: ${e.message}` } : {}),
    clientSaw: saw,
  };
}

function assertTyped(o: Outcome, expect: RegExp, what: string): void {
  const all = [o.serverError ?? "", ...o.clientSaw].join(" | ");
  assert.match(all, expect, `${what}: ${all}`);
  if (o.serverError !== undefined) {
    assert.match(o.serverError, /^ERR_[A-Z_]+: /, `${what}: the server's error is typed`);
  }
}

test("listen() closes hostile post-auth channel traffic with typed errors and keeps other connections working", async () => {
  const hostKey = generatePrivateKey("ssh-ed25519");
  server = await listen({
    port: 0,
    hostKeys: [hostKey],
    validatePassword: (u, p) => (u === USER || u === "good") && p === PASSWORD,
    authFailureDelay: 0,
    windowSize: WINDOW,
    maxChannels: 8,
    processFactory: async (p) => {
      if (p.command === "echo") return void (await p.write("ok\n"));
      for await (const _ of p.stdin) { /* until EOF */ }
    },
    connectionLost: (conn: SSHServerConnection, error) => {
      if (conn.username === USER) lostErrors.set(conn.remotePort ?? 0, error);
    },
  });
  // The well-behaved connection, open throughout.
  await using good = await connect("127.0.0.1", {
    port: server.address.port,
    username: "good",
    password: PASSWORD,
    hostKeyVerifier: () => true,
    kexAlgs: ["curve25519-sha256"],
  });
  const stillGood = async (what: string) => {
    const r = await good.run("echo");
    assert.equal(r.stdout, "ok\n", `the other connection works after: ${what}`);
  };
  lostErrors.clear();

  const cases: [string, RegExp, (c: RawClient) => Promise<void> | void][] = [
    ["data past the window", /ERR_CHANNEL: .*past the window/, async (c) => {
      const { remote } = await c.session();
      for (let sent = 0; sent <= WINDOW; sent += 16 * 1024) c.raw(data(remote, 16 * 1024));
    }],
    ["a packet larger than the channel's maximum", /ERR_CHANNEL: .*maximum is 32768/, async (c) => {
      const { remote } = await c.session();
      c.raw(data(remote, 40 * 1024));
    }],
    ["data after EOF", /ERR_CHANNEL: Data after EOF on channel 0/, async (c) => {
      const { remote } = await c.session();
      c.raw(msg(Msg.CHANNEL_EOF, (w) => w.writeUint32(remote)));
      c.raw(data(remote, 10));
    }],
    ["data after CLOSE", /ERR_CHANNEL: .*(unknown channel 0|after its CLOSE)/, async (c) => {
      const { remote } = await c.session();
      c.raw(msg(Msg.CHANNEL_CLOSE, (w) => w.writeUint32(remote)));
      c.raw(data(remote, 10));
    }],
    ["data to an unknown channel", /ERR_CHANNEL: .*unknown channel 4242/, (c) => {
      c.raw(data(4242, 10));
    }],
    ["a window adjust for an unknown channel", /ERR_CHANNEL: .*unknown channel 99/, (c) => {
      c.raw(msg(Msg.CHANNEL_WINDOW_ADJUST, (w) => w.writeUint32(99).writeUint32(1)));
    }],
    ["a request on an unknown channel", /ERR_CHANNEL: .*unknown channel 7777/, (c) => {
      c.raw(
        msg(
          Msg.CHANNEL_REQUEST,
          (w) => w.writeUint32(7777).writeStringUtf8("exec").writeBoolean(true),
        ),
      );
    }],
    ["a close for an unknown channel", /ERR_CHANNEL: .*unknown channel 4294967295/, (c) => {
      c.raw(msg(Msg.CHANNEL_CLOSE, (w) => w.writeUint32(0xffffffff)));
    }],
    ["a window adjust past 2^32 - 1", /ERR_CHANNEL: .*past 2\^32-1/, async (c) => {
      const { remote } = await c.session();
      c.raw(msg(Msg.CHANNEL_WINDOW_ADJUST, (w) => w.writeUint32(remote).writeUint32(0xffffffff)));
      c.raw(msg(Msg.CHANNEL_WINDOW_ADJUST, (w) => w.writeUint32(remote).writeUint32(0xffffffff)));
    }],
    [
      "a confirmation of a channel the server never opened",
      /ERR_CHANNEL: .*unknown channel 3/,
      (c) => {
        c.raw(
          msg(
            Msg.CHANNEL_OPEN_CONFIRMATION,
            (w) => w.writeUint32(3).writeUint32(3).writeUint32(1024).writeUint32(1024),
          ),
        );
      },
    ],
    [
      // Within the 256 KiB packet limit, as OpenSSH: the hook decides; either answer is typed.
      "a 200 KiB exec command",
      /channelRequestReply (true|false)/,
      async (c) => {
        const { id } = await c.session();
        c.engine.sendChannelRequest(id, "exec", true, encodeStringArg("x".repeat(200 * 1024)));
        c.pump();
      },
    ],
    [
      "a 200 KiB environment variable",
      /channelRequestReply false/,
      async (c) => {
        const { id } = await c.session();
        c.engine.sendChannelRequest(id, "env", true, encodeEnv("BIG", "v".repeat(200 * 1024)));
        c.pump();
      },
    ],
    ["a 200 KiB global request", /globalRequestReply false/, (c) => {
      c.engine.sendGlobalRequest("tcpip-forward", true, new Uint8Array(200 * 1024));
      c.pump();
    }],
    ["a channel type name of 100 KiB", /ERR_WIRE_LIMIT: .*exceeds 256/, (c) => {
      c.raw(
        msg(
          Msg.CHANNEL_OPEN,
          (w) =>
            w.writeStringUtf8("s".repeat(100 * 1024)).writeUint32(5).writeUint32(WINDOW)
              .writeUint32(
                32768,
              ),
        ),
      );
    }],
    ["more channels than maxChannels", /(channelOpenFailure( \| |$)){4}/, async (c) => {
      for (let i = 0; i < 12; i++) c.engine.openChannel("session");
      c.pump();
      await c.until((ev) =>
        ev.filter((e) => e.type === "channelOpen" || e.type === "channelOpenFailure").length >= 12
      );
    }],
  ];

  try {
    const results: string[] = [];
    for (const [name, expect, script] of cases) {
      const o = await hostile(name, script);
      assertTyped(o, expect, name);
      results.push(`${name}: ${o.serverError ?? "-"} / ${o.clientSaw.join(",")}`);
      await stillGood(name);
    }
    console.error(results.join("\n"));
    // Every hostile connection is gone; the good one remains.
    for (let i = 0; i < 40 && server.connections > 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(server.connections, 1);
  } finally {
    await good.close();
    await server.close();
  }
});
