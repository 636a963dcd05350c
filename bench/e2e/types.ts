/**
 * The shapes the end-to-end benchmark passes around: what a subject (a client implementation
 * on a runtime) is asked to do, what it answers, and the job a worker process receives.
 *
 * A new client joins the benchmark by providing a {@link Subject}; the runner, the table and
 * the JSON report need nothing else.
 *
 * @module
 */

/** Which way bulk data flows: client→server (`upload`) or server→client (`download`). */
export type Direction = "upload" | "download";

/** Every direction, in table order. */
export const DIRECTIONS: readonly Direction[] = ["upload", "download"];

/** One cipher setting the bulk test runs with. */
export interface CipherSetting {
  /** Short name for table headers: `gcm`, `chacha`, `ctr`. */
  readonly short: string;
  /** Cipher name as on the wire. */
  readonly cipher: string;
  /** MAC name as on the wire, for ciphers without their own integrity. */
  readonly mac?: string;
}

/** The cipher settings measured, in table order. */
export const CIPHER_SETTINGS: readonly CipherSetting[] = [
  { short: "gcm", cipher: "aes128-gcm@openssh.com" },
  { short: "chacha", cipher: "chacha20-poly1305@openssh.com" },
  { short: "ctr", cipher: "aes128-ctr", mac: "hmac-sha2-256-etm@openssh.com" },
];

/**
 * Settings measured only when asked for by name (`--cipher ctr-umac`): AES-CTR with
 * OpenSSH's first MAC, UMAC-64, which the `ctr` cells (HMAC-SHA-256) do not exercise.
 */
export const EXTRA_CIPHER_SETTINGS: readonly CipherSetting[] = [
  { short: "ctr-umac", cipher: "aes128-ctr", mac: "umac-64-etm@openssh.com" },
];

/** Where and as whom every subject logs in: one running sshd fixture. */
export interface Target {
  /** Server address. */
  readonly host: string;
  /** Server port. */
  readonly port: number;
  /** Account name. */
  readonly user: string;
  /** Client private key file (OpenSSH format, unencrypted). */
  readonly keyPath: string;
  /** A `known_hosts` file naming the server's host keys. */
  readonly knownHostsPath: string;
  /** The server's host key blobs, base64, for clients that compare blobs themselves. */
  readonly hostKeyBlobs: readonly string[];
  /** Key exchange methods to offer; `undefined` keeps each client's own defaults. */
  readonly kex: readonly string[] | undefined;
}

/** A bulk transfer measurement request. */
export interface BulkSpec {
  readonly target: Target;
  readonly setting: CipherSetting;
  readonly direction: Direction;
  /** Bytes to move per run. */
  readonly bytes: number;
  /** How many runs (each on a fresh connection). */
  readonly runs: number;
  /** Give up (and kill whatever runs) after this long. */
  readonly timeoutMs: number;
}

/** What the remote command writes to standard error once it has started. */
export const START_MARKER = "bench-start";

/**
 * The remote command of a bulk run. It first writes {@link START_MARKER} to standard error, so
 * every subject can start its clock when the command is running (server-side fork and PAM
 * session set-up excluded) and stop it when the channel closes.
 *
 * @example
 * ```ts
 * import { remoteCommand } from "./types.ts";
 * console.log(remoteCommand("download", 1024)); // echo bench-start >&2; exec head -c 1024 /dev/zero
 * ```
 */
export function remoteCommand(direction: Direction, bytes: number): string {
  const body = direction === "upload" ? "cat > /dev/null" : `head -c ${bytes} /dev/zero`;
  return `echo ${START_MARKER} >&2; exec ${body}`;
}

/** What a bulk measurement produced: the time each run took to move `bytes`. */
export interface BulkOutcome {
  /**
   * Milliseconds per run, from the remote command's start marker arriving to the channel's
   * close (the `ssh` process's exit for OpenSSH).
   */
  readonly runsMs: readonly number[];
  /** Facts worth keeping with the numbers (negotiated algorithms, crypto providers). */
  readonly info?: Readonly<Record<string, unknown>>;
}

/** A handshake measurement request. */
export interface HandshakeSpec {
  readonly target: Target;
  /** Timed rounds. */
  readonly rounds: number;
  /** Untimed rounds first (JIT warm-up, caches). */
  readonly warmup: number;
  /** Set TCP_NODELAY (where the subject lets us choose). */
  readonly noDelay: boolean;
  /** Give up (and kill whatever runs) after this long. */
  readonly timeoutMs: number;
}

/** What a handshake measurement produced. */
export interface HandshakeOutcome {
  /** Milliseconds per round: connect, authenticate, `exec true`, close. */
  readonly roundsMs: readonly number[];
  /** Facts worth keeping with the numbers. */
  readonly info?: Readonly<Record<string, unknown>>;
}

/** A client implementation on one runtime. */
export interface Subject {
  /** Implementation: `openssh`, `ssh2`, `sshts`. Used by `--only`. */
  readonly name: string;
  /**
   * Runtime key, used to pair a subject with the `ssh2` row of the same runtime:
   * `native`, `node`, `node20`, `deno`, `bun`.
   */
  readonly runtime: string;
  /** Runtime as printed, with its version: `deno 2.9.6`. */
  readonly runtimeLabel: string;
  /** Whether handshakes can be measured with Nagle's algorithm on (TCP_NODELAY off). */
  readonly canDisableNoDelay: boolean;
  /** Measures bulk throughput; rejects when the subject cannot do it. */
  bulk(spec: BulkSpec): Promise<BulkOutcome>;
  /** Measures handshakes; rejects when the subject cannot do it. */
  handshakes(spec: HandshakeSpec): Promise<HandshakeOutcome>;
}

/**
 * The job a worker script receives as its one command-line argument (JSON). Workers print one
 * line of JSON, a {@link WorkerAnswer}, as the last line of their standard output.
 */
export type WorkerJob =
  | {
    readonly op: "bulk";
    readonly target: Target;
    readonly cipher: string;
    readonly mac: string | undefined;
    readonly direction: Direction;
    readonly bytes: number;
    /** The remote command: {@link remoteCommand} of `direction` and `bytes`. */
    readonly command: string;
    readonly runs: number;
    /** Size of each write for uploads. */
    readonly chunkSize: number;
  }
  | {
    readonly op: "handshake";
    readonly target: Target;
    readonly rounds: number;
    readonly warmup: number;
    readonly noDelay: boolean;
  };

/** What a worker prints. */
export type WorkerAnswer =
  | { readonly ok: true; readonly ms: readonly number[]; readonly info?: Record<string, unknown> }
  | { readonly ok: false; readonly error: string };
