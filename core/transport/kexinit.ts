/**
 * KEXINIT messages (RFC 4253 §7.1) and algorithm negotiation.
 *
 * @module
 */

import { NoCommonAlgorithmError } from "../errors.ts";
import type { RandomSource } from "../random.ts";
import { ownString, SSHReader, SSHWriter } from "../wire.ts";
import { Msg } from "./messages.ts";

/** The ten name-lists of a KEXINIT, plus its flag. */
export interface KexInitLists {
  /** Key exchange methods, most preferred first (pseudo-algorithms such as `ext-info-c` included). */
  readonly kex: readonly string[];
  /** Host key (signature) algorithms, most preferred first. */
  readonly hostKey: readonly string[];
  /** Ciphers for client-to-server packets, most preferred first. */
  readonly cipherC2S: readonly string[];
  /** Ciphers for server-to-client packets, most preferred first. */
  readonly cipherS2C: readonly string[];
  /** MACs for client-to-server packets, most preferred first. */
  readonly macC2S: readonly string[];
  /** MACs for server-to-client packets, most preferred first. */
  readonly macS2C: readonly string[];
  /** Compression methods for client-to-server packets, most preferred first. */
  readonly compressionC2S: readonly string[];
  /** Compression methods for server-to-client packets, most preferred first. */
  readonly compressionS2C: readonly string[];
  /** Language tags for client-to-server text; usually empty. */
  readonly languageC2S: readonly string[];
  /** Language tags for server-to-client text; usually empty. */
  readonly languageS2C: readonly string[];
  /** True when the sender guessed the kex method and sent its first kex packet already. */
  readonly firstKexPacketFollows: boolean;
}

/** A parsed KEXINIT with its raw payload (needed for the exchange hash). */
export interface KexInit extends KexInitLists {
  readonly cookie: Uint8Array;
  readonly payload: Uint8Array;
}

/** Pseudo-algorithm names that signal extensions rather than name a method. */
export const EXT_INFO_C = "ext-info-c";
export const EXT_INFO_S = "ext-info-s";
export const KEX_STRICT_C = "kex-strict-c-v00@openssh.com";
export const KEX_STRICT_S = "kex-strict-s-v00@openssh.com";
const PSEUDO_KEX = new Set([EXT_INFO_C, EXT_INFO_S, KEX_STRICT_C, KEX_STRICT_S]);

/** Is this kex name a pseudo-algorithm (extension marker)? */
export function isPseudoKex(name: string): boolean {
  return PSEUDO_KEX.has(name);
}

/** Encodes a KEXINIT payload with a fresh random cookie. */
export function encodeKexInit(lists: KexInitLists, random: RandomSource): Uint8Array {
  const w = new SSHWriter(1024).writeByte(Msg.KEXINIT).writeBytes(random(16));
  for (
    const l of [
      lists.kex,
      lists.hostKey,
      lists.cipherC2S,
      lists.cipherS2C,
      lists.macC2S,
      lists.macS2C,
      lists.compressionC2S,
      lists.compressionS2C,
      lists.languageC2S,
      lists.languageS2C,
    ]
  ) w.writeNameList(l);
  return w.writeBoolean(lists.firstKexPacketFollows).writeUint32(0).toBytes();
}

/** Parses a KEXINIT payload (message number included). Throws WireError when malformed. */
export function decodeKexInit(payload: Uint8Array): KexInit {
  const r = new SSHReader(payload);
  r.readByte();
  const cookie = r.readBytes(16, "KEXINIT cookie");
  const names = [
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
  ];
  // Empty names end a list here instead of failing the connection. libssh 0.10 sends its
  // cipher lists with a trailing comma ("...,aes128-ctr,"), and OpenSSH accepts that:
  // its match_list() walks a list with strsep(",") and stops at the first empty element,
  // so "a,,b" offers only "a" and "a," offers "a". We read a KEXINIT exactly that way, so
  // a peer tested against OpenSSH negotiates the same algorithms with us; dropping empty
  // names and going on ("a,,b" offering "b" too) could pick an algorithm OpenSSH would
  // not. Every other name-list (userauth methods, server-sig-algs, ...) stays strict.
  const l = names.map((n) => r.readNameList(n, { emptyName: "endOfList" }));
  const firstKexPacketFollows = r.readBoolean("first_kex_packet_follows");
  r.readUint32("reserved");
  // Trailing bytes are tolerated: RFC 4253 leaves room for future fields.
  return {
    cookie: cookie.slice(),
    payload: payload.slice(),
    kex: l[0]!,
    hostKey: l[1]!,
    cipherC2S: l[2]!,
    cipherS2C: l[3]!,
    macC2S: l[4]!,
    macS2C: l[5]!,
    compressionC2S: l[6]!,
    compressionS2C: l[7]!,
    languageC2S: l[8]!,
    languageS2C: l[9]!,
    firstKexPacketFollows,
  };
}

/** What one key exchange agreed on. */
export interface NegotiatedAlgorithms {
  /** The key exchange method, e.g. "curve25519-sha256". */
  readonly kex: string;
  /** The host key signature algorithm, e.g. "ssh-ed25519" or "rsa-sha2-512". */
  readonly hostKey: string;
  /** The cipher for client-to-server packets. */
  readonly cipherC2S: string;
  /** The cipher for server-to-client packets. */
  readonly cipherS2C: string;
  /** The client-to-server MAC; "" when the cipher is AEAD (no MAC is used). */
  readonly macC2S: string;
  /** The server-to-client MAC; "" when the cipher is AEAD (no MAC is used). */
  readonly macS2C: string;
  /** Compression for client-to-server packets ("none", "zlib" or "zlib@openssh.com"). */
  readonly compressionC2S: string;
  /** Compression for server-to-client packets ("none", "zlib" or "zlib@openssh.com"). */
  readonly compressionS2C: string;
}

/**
 * One shared string per negotiated name: the names come from our own lists (a finite set),
 * and a name read from a KEXINIT would otherwise keep its whole name-list alive (see
 * `ownString`) for the connection's life.
 */
const NEGOTIATED_NAMES = new Map<string, string>();
const MAX_NEGOTIATED_NAMES = 256;

function sharedName(name: string): string {
  let s = NEGOTIATED_NAMES.get(name);
  if (s === undefined) {
    s = ownString(name);
    if (NEGOTIATED_NAMES.size < MAX_NEGOTIATED_NAMES) NEGOTIATED_NAMES.set(s, s);
  }
  return s;
}

/** First entry of the client's list that the server also lists (RFC 4253 §7.1). */
export function chooseAlgorithm(
  kind: string,
  client: readonly string[],
  server: readonly string[],
  ours: "client" | "server",
): string {
  for (const c of client) if (server.includes(c)) return sharedName(c);
  const [mine, theirs] = ours === "client" ? [client, server] : [server, client];
  throw new NoCommonAlgorithmError(kind, mine, theirs);
}

/**
 * Negotiates every algorithm. `isAead(cipher)` tells which ciphers make the MAC moot.
 * `hostKeyFits(kex, hostKeyAlg)` can veto pairs (all current methods accept any
 * signature-capable host key).
 */
export function negotiate(
  client: KexInitLists,
  server: KexInitLists,
  ours: "client" | "server",
  isAead: (cipher: string) => boolean,
): NegotiatedAlgorithms {
  const kex = chooseAlgorithm(
    "key exchange",
    client.kex.filter((n) => !isPseudoKex(n)),
    server.kex.filter((n) => !isPseudoKex(n)),
    ours,
  );
  const hostKey = chooseAlgorithm("host key", client.hostKey, server.hostKey, ours);
  const cipherC2S = chooseAlgorithm(
    "cipher (client to server)",
    client.cipherC2S,
    server.cipherC2S,
    ours,
  );
  const cipherS2C = chooseAlgorithm(
    "cipher (server to client)",
    client.cipherS2C,
    server.cipherS2C,
    ours,
  );
  const macC2S = isAead(cipherC2S)
    ? ""
    : chooseAlgorithm("MAC (client to server)", client.macC2S, server.macC2S, ours);
  const macS2C = isAead(cipherS2C)
    ? ""
    : chooseAlgorithm("MAC (server to client)", client.macS2C, server.macS2C, ours);
  const compressionC2S = chooseAlgorithm(
    "compression (client to server)",
    client.compressionC2S,
    server.compressionC2S,
    ours,
  );
  const compressionS2C = chooseAlgorithm(
    "compression (server to client)",
    client.compressionS2C,
    server.compressionS2C,
    ours,
  );
  return { kex, hostKey, cipherC2S, cipherS2C, macC2S, macS2C, compressionC2S, compressionS2C };
}

/**
 * Did the peer guess right? (RFC 4253 §7: the guess is right when both sides' first
 * kex and host key algorithms are the same as the negotiated ones.)
 */
export function guessWasRight(
  client: KexInitLists,
  server: KexInitLists,
  n: NegotiatedAlgorithms,
): boolean {
  const firstReal = (l: readonly string[]) => l.find((x) => !isPseudoKex(x));
  return firstReal(client.kex) === firstReal(server.kex) &&
    client.hostKey[0] === server.hostKey[0] &&
    firstReal(client.kex) === n.kex;
}
