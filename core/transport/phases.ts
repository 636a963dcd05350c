/**
 * Every rule of the transport's state machine, as data: the phases a connection
 * goes through, what each incoming message does in each phase ({@link INCOMING}), and
 * which event moves the transport from one phase to the next ({@link NEXT_PHASE}).
 * The transport looks both up; it holds no other rule about ordering.
 *
 * Strict kex (OpenSSH's Terrapin countermeasure, `kex-strict-*-v00@openssh.com`) is
 * part of the table: once both sides offered it, the initial exchange runs in the
 * `*Strict` phases, where anything but the exchange's own messages and DISCONNECT is
 * a strict-kex violation, IGNORE and DEBUG included. One strict rule needs the packet
 * count rather than the phase: the peer's KEXINIT must be its first packet; the
 * KEXINIT handler checks it. So does EXT_INFO's placement (RFC 8308 §2.4: the peer's first
 * packet after its first NEWKEYS, and a server's second before USERAUTH_SUCCESS): the
 * table lets EXT_INFO through outside an exchange, and the transport answers one out of
 * place with UNIMPLEMENTED, as OpenSSH does.
 *
 * During a rekey, connection-layer messages (80-127) that the peer sent under the old
 * keys after its KEXINIT are accepted and handled in order (AsyncSSH does that, and
 * OpenSSH accepts it); everything else from the layers above waits for the new keys.
 *
 * @module
 */

import { AUTH_FIRST, AUTH_LAST, CONNECTION_FIRST, CONNECTION_LAST, Msg } from "./messages.ts";

/** The phases of a transport, in the order a connection meets them. */
export const TRANSPORT_PHASES: readonly TransportPhase[] = [
  "awaitKexInit",
  "kex",
  "kexStrict",
  "kexWait",
  "kexWaitStrict",
  "hostKey",
  "hostKeyStrict",
  "awaitNewKeys",
  "awaitNewKeysStrict",
  "idle",
  "rekeyAwaitKexInit",
  "rekey",
  "rekeyWait",
  "rekeyAwaitNewKeys",
  "closed",
];

/**
 * Where the transport is:
 * - `awaitKexInit`: initial exchange; our KEXINIT is out, the peer's is not in
 *   (whether strict kex applies is not known yet);
 * - `kex` / `kexStrict`: initial exchange; both KEXINITs seen, the method's messages flow;
 * - `kexWait` / `kexWaitStrict` / `rekeyWait`: the method waits for asynchronous native
 *   crypto (WebCrypto's ML-KEM); input is not read meanwhile;
 * - `hostKey` / `hostKeyStrict`: client only; the caller decides on the host key and
 *   input is not read meanwhile;
 * - `awaitNewKeys` / `awaitNewKeysStrict`: initial exchange; our NEWKEYS is out;
 * - `idle`: no exchange running; everything flows;
 * - `rekeyAwaitKexInit`: we started a rekey; the peer's KEXINIT is not in;
 * - `rekey`: a rekey's KEXINITs are both seen; `rekeyAwaitNewKeys`: our NEWKEYS is out;
 * - `closed`: after a DISCONNECT either way, an error, or the end of the stream.
 */
export type TransportPhase =
  | "awaitKexInit"
  | "kex"
  | "kexStrict"
  | "kexWait"
  | "kexWaitStrict"
  | "hostKey"
  | "hostKeyStrict"
  | "awaitNewKeys"
  | "awaitNewKeysStrict"
  | "idle"
  | "rekeyAwaitKexInit"
  | "rekey"
  | "rekeyWait"
  | "rekeyAwaitNewKeys"
  | "closed";

/** Incoming messages, grouped by what the table needs to tell apart (RFC 4250 §4.1.2). */
export const MESSAGE_CLASSES = [
  "disconnect",
  "generic",
  "service",
  "extInfo",
  "transportOther",
  "kexinit",
  "newkeys",
  "algorithmOther",
  "kexMethod",
  "auth",
  "connection",
  "clientProtocols",
  "localExtensions",
] as const;

/**
 * A class of message numbers:
 * `disconnect` 1; `generic` 2-4 (IGNORE, UNIMPLEMENTED, DEBUG); `service` 5-6;
 * `extInfo` 7; `transportOther` 8-19 (unassigned, NEWCOMPRESS); `kexinit` 20;
 * `newkeys` 21; `algorithmOther` 22-29 (unassigned); `kexMethod` 30-49;
 * `auth` 50-79; `connection` 80-127; `clientProtocols` 128-191; `localExtensions` 192-255.
 */
export type MessageClass = (typeof MESSAGE_CLASSES)[number];

/**
 * What an incoming message does:
 * - `transport`: the transport handles it;
 * - `up`: it goes to the engine above (auth, connection; UNIMPLEMENTED for numbers
 *   nobody implements, as RFC 4253 §11.4 asks);
 * - `reject`: unexpected here, a protocol error (PROTOCOL_ERROR, `ERR_PROTOCOL`);
 * - `strict`: strict kex forbids it, a protocol error (`ERR_STRICT_KEX`);
 * - `hold`: not read until the caller answers the host key question, or the key
 *   exchange's asynchronous work is done;
 * - `drop`: the connection is closed, nothing more is read.
 */
export type Verdict = "transport" | "up" | "reject" | "strict" | "hold" | "drop";

/** The class of a message number (1-255). */
export function messageClass(type: number): MessageClass {
  if (type === Msg.DISCONNECT) return "disconnect";
  if (type >= Msg.IGNORE && type <= Msg.DEBUG) return "generic";
  if (type === Msg.SERVICE_REQUEST || type === Msg.SERVICE_ACCEPT) return "service";
  if (type === Msg.EXT_INFO) return "extInfo";
  if (type < Msg.KEXINIT) return "transportOther";
  if (type === Msg.KEXINIT) return "kexinit";
  if (type === Msg.NEWKEYS) return "newkeys";
  if (type < Msg.KEX_FIRST) return "algorithmOther";
  if (type <= Msg.KEX_LAST) return "kexMethod";
  if (type >= AUTH_FIRST && type <= AUTH_LAST) return "auth";
  if (type >= CONNECTION_FIRST && type <= CONNECTION_LAST) return "connection";
  if (type <= 191) return "clientProtocols";
  return "localExtensions";
}

type Row = Readonly<Record<MessageClass, Verdict>>;

/** A row where every class gets `v`, except those listed. */
function row(v: Verdict, except: Partial<Record<MessageClass, Verdict>> = {}): Row {
  const r = {} as Record<MessageClass, Verdict>;
  for (const c of MESSAGE_CLASSES) r[c] = except[c] ?? v;
  return r;
}

/** Outside an exchange (and before the peer's KEXINIT of a rekey we started). */
const FLOWING = row("up", {
  disconnect: "transport",
  generic: "transport",
  extInfo: "transport",
  kexinit: "transport",
  newkeys: "reject",
  kexMethod: "reject",
});

/** What each message class does in each phase. */
export const INCOMING: Readonly<Record<TransportPhase, Row>> = {
  awaitKexInit: row("reject", {
    disconnect: "transport",
    generic: "transport",
    kexinit: "transport",
  }),
  kex: row("reject", { disconnect: "transport", generic: "transport", kexMethod: "transport" }),
  kexStrict: row("strict", {
    disconnect: "transport",
    kexMethod: "transport",
    newkeys: "reject", // NEWKEYS before the exchange finished: a plain protocol error
  }),
  kexWait: row("hold"),
  kexWaitStrict: row("hold"),
  hostKey: row("hold"),
  hostKeyStrict: row("hold"),
  awaitNewKeys: row("reject", {
    disconnect: "transport",
    generic: "transport",
    newkeys: "transport",
  }),
  awaitNewKeysStrict: row("strict", {
    disconnect: "transport",
    newkeys: "transport",
    kexMethod: "reject", // a kex message after the exchange finished: a plain protocol error
  }),
  idle: FLOWING,
  rekeyAwaitKexInit: FLOWING,
  rekey: row("reject", {
    disconnect: "transport",
    generic: "transport",
    kexMethod: "transport",
    connection: "up",
  }),
  rekeyWait: row("hold"),
  rekeyAwaitNewKeys: row("reject", {
    disconnect: "transport",
    generic: "transport",
    newkeys: "transport",
    connection: "up",
  }),
  closed: row("drop"),
};

/** What the transport does that moves it to another phase. */
export const PHASE_EVENTS = [
  "peerKexInit",
  "peerKexInitStrict",
  "startRekey",
  "hostKeyCheck",
  "kexWait",
  "kexResume",
  "sentNewKeys",
  "peerNewKeys",
  "close",
] as const;

/**
 * An event of the transport:
 * `peerKexInit` / `peerKexInitStrict` the peer's KEXINIT was handled (strict: both
 * sides offered strict kex in the initial exchange); `startRekey` we sent a KEXINIT
 * outside an exchange; `hostKeyCheck` the client asks the caller about the host key;
 * `kexWait` the method waits for asynchronous work, `kexResume` it goes on;
 * `sentNewKeys` we sent NEWKEYS; `peerNewKeys` the peer's NEWKEYS was handled;
 * `close` the connection ended.
 */
export type PhaseEvent = (typeof PHASE_EVENTS)[number];

/** The next phase for each event in each phase; a missing entry is a bug in the transport. */
export const NEXT_PHASE: Readonly<
  Record<TransportPhase, Readonly<Partial<Record<PhaseEvent, TransportPhase>>>>
> = {
  awaitKexInit: { peerKexInit: "kex", peerKexInitStrict: "kexStrict", close: "closed" },
  kex: {
    hostKeyCheck: "hostKey",
    kexWait: "kexWait",
    sentNewKeys: "awaitNewKeys",
    close: "closed",
  },
  kexStrict: {
    hostKeyCheck: "hostKeyStrict",
    kexWait: "kexWaitStrict",
    sentNewKeys: "awaitNewKeysStrict",
    close: "closed",
  },
  kexWait: { kexResume: "kex", close: "closed" },
  kexWaitStrict: { kexResume: "kexStrict", close: "closed" },
  hostKey: { sentNewKeys: "awaitNewKeys", close: "closed" },
  hostKeyStrict: { sentNewKeys: "awaitNewKeysStrict", close: "closed" },
  awaitNewKeys: { peerNewKeys: "idle", close: "closed" },
  awaitNewKeysStrict: { peerNewKeys: "idle", close: "closed" },
  idle: { startRekey: "rekeyAwaitKexInit", peerKexInit: "rekey", close: "closed" },
  rekeyAwaitKexInit: { peerKexInit: "rekey", close: "closed" },
  rekey: { kexWait: "rekeyWait", sentNewKeys: "rekeyAwaitNewKeys", close: "closed" },
  rekeyWait: { kexResume: "rekey", close: "closed" },
  rekeyAwaitNewKeys: { peerNewKeys: "idle", close: "closed" },
  closed: { close: "closed" },
};

/** What a message of number `type` does in `phase`. */
export function verdict(type: number, phase: TransportPhase): Verdict {
  return INCOMING[phase][messageClass(type)];
}

/**
 * Whether a message may arrive in `phase`: the table says the transport or the
 * engine above handles it.
 *
 * @example
 * ```ts
 * import { allowedIncoming } from "./phases.ts";
 * console.log(allowedIncoming(94, "rekey"), allowedIncoming(94, "kexStrict")); // true false
 * ```
 */
export function allowedIncoming(type: number, phase: TransportPhase): boolean {
  const v = verdict(type, phase);
  return v === "transport" || v === "up";
}

/**
 * Whether the transport reads input in `phase` (not while the host key is being decided or
 * the key exchange waits, nor once closed).
 */
export function readsInput(phase: TransportPhase): boolean {
  const v = INCOMING[phase].disconnect;
  return v !== "hold" && v !== "drop";
}

/** Whether the client waits for the caller's decision on the host key in `phase`. */
export function awaitsHostKey(phase: TransportPhase): boolean {
  return phase === "hostKey" || phase === "hostKeyStrict";
}

/** Whether the key exchange waits for asynchronous work in `phase`. */
export function isKexWait(phase: TransportPhase): boolean {
  return phase === "kexWait" || phase === "kexWaitStrict" || phase === "rekeyWait";
}

/** The message classes `phase` accepts, for error reports (`expected`). */
export function expectedIn(phase: TransportPhase): string[] {
  return MESSAGE_CLASSES.filter((c) => {
    const v = INCOMING[phase][c];
    return v === "transport" || v === "up";
  });
}

/** Whether `phase` belongs to the initial key exchange. */
export function isInitialExchange(phase: TransportPhase): boolean {
  return phase === "awaitKexInit" || phase === "kex" || phase === "kexStrict" ||
    phase === "kexWait" || phase === "kexWaitStrict" || phase === "hostKey" ||
    phase === "hostKeyStrict" || phase === "awaitNewKeys" || phase === "awaitNewKeysStrict";
}
