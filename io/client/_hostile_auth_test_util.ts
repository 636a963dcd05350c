/**
 * Test helper: an SSH server on 127.0.0.1 whose transport is our ServerConnection but whose
 * user authentication is a script: each SERVICE_REQUEST, USERAUTH_REQUEST and INFO_RESPONSE
 * goes to the script, which answers with whatever messages it likes (a hostile server).
 *
 * @module
 */
import * as net from "node:net";
import { ServerConnection } from "../../core/server/server_connection.ts";
import {
  createDefaultSuite,
  defaultAlgorithmPreferences,
  defaultServerSigAlgs,
} from "../../core/suite/default_suite.ts";
import { ed25519Key, hostKeyMap } from "../../core/testing/fixtures.ts";
import { Msg } from "../../core/transport/messages.ts";
import { SSHReader, SSHWriter } from "../../core/wire.ts";
import type { ConnectOptions } from "./options.ts";

/** What a script can do on its connection. */
export interface HostileAuthContext {
  /** Sends the payloads in one TCP write (so the client reads them together). */
  send(...payloads: Uint8Array[]): void;
  /** Marks authentication done on the server side (after sending SUCCESS). */
  setAuthed(): void;
}

/** Answers one client message of the authentication phase (`type` is its message number). */
export type AuthScript = (ctx: HostileAuthContext, type: number, payload: Uint8Array) => void;

/** A running hostile server. */
export interface HostileAuthServer extends AsyncDisposable {
  readonly port: number;
  /** Every USERAUTH_REQUEST received, parsed. */
  readonly requests: AuthRequest[];
}

/** A parsed USERAUTH_REQUEST: the method and, for password and publickey, what it carried. */
export interface AuthRequest {
  readonly method: string;
  /** password: the password (and the new one for a change request). */
  readonly password?: string;
  readonly newPassword?: string;
  /** publickey: the algorithm, and whether a signature came with it. */
  readonly algorithm?: string;
  readonly signed?: boolean;
}

/** Parses a USERAUTH_REQUEST payload. */
export function parseAuthRequest(payload: Uint8Array): AuthRequest {
  const r = new SSHReader(payload, 1);
  r.readStringUtf8();
  r.readStringUtf8();
  const method = r.readStringUtf8();
  if (method === "password") {
    const change = r.readBoolean();
    const password = r.readStringUtf8();
    return change ? { method, password, newPassword: r.readStringUtf8() } : { method, password };
  }
  if (method.startsWith("publickey")) {
    const signed = r.readBoolean();
    return { method, signed, algorithm: r.readStringUtf8() };
  }
  return { method };
}

/** USERAUTH_FAILURE listing `methods`. */
export const authFailure = (methods: string[], partialSuccess = false): Uint8Array =>
  new SSHWriter().writeByte(Msg.USERAUTH_FAILURE).writeNameList(methods).writeBoolean(
    partialSuccess,
  ).toBytes();
/** USERAUTH_SUCCESS. */
export const authSuccess = (): Uint8Array => Uint8Array.of(Msg.USERAUTH_SUCCESS);
/** SERVICE_ACCEPT for ssh-userauth. */
export const serviceAccept = (): Uint8Array =>
  new SSHWriter().writeByte(Msg.SERVICE_ACCEPT).writeStringUtf8("ssh-userauth").toBytes();
/** USERAUTH_PASSWD_CHANGEREQ. */
export const changeRequest = (prompt: string): Uint8Array =>
  new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8(prompt).writeStringUtf8("")
    .toBytes();
/** USERAUTH_INFO_REQUEST with hidden `prompts`. */
export const infoRequest = (...prompts: string[]): Uint8Array => {
  const w = new SSHWriter().writeByte(Msg.USERAUTH_60).writeStringUtf8("").writeStringUtf8("")
    .writeStringUtf8("").writeUint32(prompts.length);
  for (const p of prompts) w.writeStringUtf8(p).writeBoolean(false);
  return w.toBytes();
};

/** connect() options for `server`: no config, agent, default keys or known_hosts. */
export function hostileConnectOptions(
  server: HostileAuthServer,
  options: ConnectOptions = {},
): ConnectOptions {
  return {
    port: server.port,
    username: "u",
    knownHosts: null,
    config: false,
    agent: false,
    clientKeys: [],
    connectTimeout: 10_000,
    ...options,
  };
}

/** A scripted server on a free port; SERVICE_REQUEST is answered by the script too. */
export async function hostileAuthServer(
  script: AuthScript,
  options: { serverSigAlgs?: readonly string[] } = {},
): Promise<HostileAuthServer> {
  const suite = createDefaultSuite({ provider: "noble" });
  const sockets = new Set<net.Socket>();
  const requests: AuthRequest[] = [];
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => sockets.delete(sock));
    let authed = false;
    // Authentication is the script's: the engine keeps only the transport.
    class Scripted extends ServerConnection {
      protected override authDone(): boolean {
        return authed;
      }
      protected override handleAuthMessage(type: number, payload: Uint8Array): boolean {
        if (type === Msg.USERAUTH_REQUEST) requests.push(parseAuthRequest(payload));
        script(ctx, type, payload.slice()); // ctx is set before any message can arrive
        return true;
      }
    }
    const engine = new Scripted({
      suite,
      algorithms: defaultAlgorithmPreferences(),
      hostKeys: hostKeyMap([ed25519Key(7)]),
      serverSigAlgs: options.serverSigAlgs ?? defaultServerSigAlgs(),
      methods: ["publickey", "password", "keyboard-interactive"],
      failureDelayMs: 0,
    });
    const flush = () => {
      while (engine.pollEvent()) { /* the script answers; events are not needed */ }
      const chunks = engine.takeOutgoing();
      if (chunks.length === 0 || sock.destroyed) return;
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      sock.write(all);
    };
    const ctx: HostileAuthContext = {
      send: (...payloads) => {
        for (const p of payloads) engine.transport.send(p);
        flush();
      },
      setAuthed: () => void (authed = true),
    };
    sock.on("data", (d: Uint8Array) => {
      try {
        engine.receiveData(new Uint8Array(d));
      } catch {
        sock.destroy(); // the client broke the protocol: the test sees the client's error
        return;
      }
      flush();
    });
    flush();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    requests,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}
