/**
 * Deterministic engines for tests: a client and a server with fixed keys, seeded
 * randomness and handlers that answer host key and authentication events.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import type { ClientAuthOptions } from "../auth/client_auth.ts";
import type { AuthVerdict } from "../auth/server_auth.ts";
import {
  ClientConnection,
  type ClientConnectionOptions,
  type ClientEvent,
} from "../client/client_connection.ts";
import {
  createDefaultSuite,
  defaultAlgorithmPreferences,
  defaultServerSigAlgs,
} from "../suite/default_suite.ts";
import { createHostKeySigner } from "../kex/host_key_signer.ts";
import type { HostKeySigner } from "../kex/types.ts";
import {
  encodePublicKeyBlob,
  publicKeyTypeName,
  signatureAlgorithmsForKey,
} from "../publickey/mod.ts";
import { signData } from "../publickey/sign.ts";
import type { KeyMaterial, SkKeyMaterial } from "../publickey/types.ts";
import { skSignedMessage } from "../publickey/verify.ts";
import { seededRandom } from "../random.ts";
import {
  ServerConnection,
  type ServerConnectionOptions,
  type ServerEvent,
} from "../server/server_connection.ts";
import type { AlgorithmPreferences } from "../transport/transport.ts";
import { equalBytes, SSHWriter } from "../wire.ts";
import { EnginePair } from "./pair.ts";

/** A fixed Ed25519 key from a one-byte seed. */
export function ed25519Key(fill: number): KeyMaterial {
  const seed = new Uint8Array(32).fill(fill);
  return { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed };
}

/** A fixed ECDSA P-256 key from a one-byte fill of its scalar. */
export function p256Key(fill: number): KeyMaterial {
  const privateKey = new Uint8Array(32).fill(fill);
  return {
    type: "ecdsa",
    curve: "nistp256",
    publicKey: p256.getPublicKey(privateKey, false),
    privateKey,
  };
}

/** A software stand-in for a FIDO authenticator holding one `sk-ssh-ed25519@openssh.com` key. */
export interface FakeSecurityKey {
  /** The key. */
  readonly key: SkKeyMaterial;
  /** Its public key blob. */
  readonly publicBlob: Uint8Array;
  /** Signs `data` as an authenticator would, attesting `flags` (0x01 touched, 0x04 verified). */
  sign(data: Uint8Array, flags: number, counter?: number): Uint8Array;
}

/** A fixed {@link FakeSecurityKey} from a one-byte seed. */
export function fakeSecurityKey(fill: number, application = "ssh:"): FakeSecurityKey {
  const secret = new Uint8Array(32).fill(fill);
  const key: SkKeyMaterial = {
    type: "sk-ed25519",
    publicKey: ed25519.getPublicKey(secret),
    application,
  };
  return {
    key,
    publicBlob: encodePublicKeyBlob(key),
    sign: (data, flags, counter = 1) =>
      new SSHWriter().writeStringUtf8("sk-ssh-ed25519@openssh.com")
        .writeString(ed25519.sign(skSignedMessage(application, flags, counter, data), secret))
        .writeByte(flags).writeUint32(counter).toBytes(),
  };
}

/** Host key signers for each algorithm of each key. */
export function hostKeyMap(keys: readonly KeyMaterial[]): Map<string, HostKeySigner> {
  const m = new Map<string, HostKeySigner>();
  for (const k of keys) {
    for (const alg of signatureAlgorithmsForKey(k)) m.set(alg, createHostKeySigner(k, alg));
  }
  return m;
}

/** Options for {@link makePair}. */
export interface PairOptions {
  /** Seed of the client's randomness (the server's is seed + 1000). Default 1. */
  seed?: number;
  /** Client algorithm preferences over the defaults. */
  clientAlgorithms?: Partial<AlgorithmPreferences>;
  /** Server algorithm preferences over the defaults. */
  serverAlgorithms?: Partial<AlgorithmPreferences>;
  /** The server's host keys. Default one Ed25519 key. */
  hostKeys?: readonly KeyMaterial[];
  /** The client's user keys. Default none. */
  clientKeys?: readonly KeyMaterial[];
  /** The password the client gives (and offers password auth). */
  password?: string;
  /** What the server accepts. */
  serverPassword?: string;
  /** The methods the server offers. */
  serverMethods?: readonly string[];
  /** More client engine options. */
  client?: Partial<ClientConnectionOptions>;
  /** More server engine options. */
  server?: Partial<ServerConnectionOptions>;
  /** More client authentication options. */
  clientAuth?: Partial<ClientAuthOptions>;
  /** Override the server's answer to auth events. */
  serverVerdict?: (e: ServerEvent & { id: number }) => AuthVerdict | undefined;
  /** Handles a client event first; return true to skip the default answer. */ onClient?: (
    e: ClientEvent,
    pair: EnginePair,
  ) => boolean | void;
  /** Sees each server event after the default answer. */
  onServer?: (e: ServerEvent, pair: EnginePair) => void;
}

/** A client and server engine pair with answering handlers; call `run()` to handshake. */
export function makePair(o: PairOptions = {}): EnginePair {
  const seed = o.seed ?? 1;
  const suite = createDefaultSuite({ provider: "noble" });
  const defaults = defaultAlgorithmPreferences();
  const hostKeys = o.hostKeys ?? [ed25519Key(7)];
  const clientKeys = o.clientKeys ?? [];
  const serverPassword = o.serverPassword ?? "secret";
  const client = new ClientConnection({
    username: "tester",
    suite,
    algorithms: { ...defaults, ...o.clientAlgorithms },
    random: seededRandom(seed),
    publicKeys: clientKeys.map((k) => ({
      keyType: publicKeyTypeName(k),
      publicKeyBlob: encodePublicKeyBlob(k),
    })),
    password: o.password !== undefined,
    ...o.clientAuth,
    ...o.client,
  });
  const server = new ServerConnection({
    suite,
    algorithms: { ...defaults, ...o.serverAlgorithms },
    random: seededRandom(seed + 1000),
    hostKeys: hostKeyMap(hostKeys),
    serverSigAlgs: defaultServerSigAlgs(),
    methods: o.serverMethods ?? ["publickey", "keyboard-interactive", "password"],
    failureDelayMs: 0,
    ...o.server,
  });
  const pair: EnginePair = new EnginePair(
    client,
    server,
    (e) => {
      if (o.onClient?.(e, pair)) return;
      switch (e.type) {
        case "hostKey":
          client.acceptHostKey(e.id);
          break;
        case "authPasswordRequest":
          client.providePassword(e.id, e.attempt === 1 ? o.password ?? null : null);
          break;
        case "authSignRequest": {
          const key = clientKeys[e.keyIndex]!;
          client.provideSignature(e.id, signData(key, e.algorithm, e.data));
          break;
        }
        case "authKbdintRequest":
          client.provideKbdintResponses(e.id, e.prompts.map(() => o.password ?? ""));
          break;
      }
    },
    (e) => {
      if ("id" in e && e.type.startsWith("auth")) {
        const custom = o.serverVerdict?.(e as ServerEvent & { id: number });
        const ok: AuthVerdict = { result: "success" };
        const no: AuthVerdict = { result: "failure" };
        let v: AuthVerdict = custom ?? no;
        if (!custom) {
          if (e.type === "authPassword") v = e.password === serverPassword ? ok : no;
          if (e.type === "authPublicKey") {
            v = clientKeys.some((k) => equalBytes(encodePublicKeyBlob(k), e.keyBlob)) ? ok : no;
          }
          if (e.type === "authKbdint") {
            v = e.responses ? (e.responses[0] === serverPassword ? ok : no) : {
              result: "challenge",
              challenge: { prompts: [{ prompt: "Password: ", echo: false }] },
            };
          }
        }
        server.answerAuth(e.id, v);
      }
      o.onServer?.(e, pair);
    },
  );
  return pair;
}

/**
 * `size` pseudo-random bytes from `seed` (a linear congruential generator, so every runtime
 * makes the same bytes): test payloads that are not all alike and cost nothing to make.
 */
export function lcgBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
