/**
 * `listen()`: an embeddable SSH server. Each accepted socket gets a server
 * engine and an {@link SSHServerConnection}; authentication, sessions and
 * forwarding go to the caller's hooks, each with a safe default (deny).
 *
 * @module
 */

import { abortError } from "../engine/errors.ts";
import { Log } from "../engine/logger.ts";
import { DEFAULT_SERVER_KEX } from "../../core/kex/registry.ts";
import { INSECURE_SIGNATURE_ALGORITHMS } from "../../core/publickey/algorithms.ts";
import { type ServerSetup, SSHServerConnection } from "./connection.ts";
import { hostKeySigners, resolveHostKeys } from "./host_keys.ts";
import type { ServerHostKey } from "../keys/types.ts";
import type { ListenOptions } from "./options.ts";
import { formatVersionLine } from "../../core/transport/version.ts";
import { checkListenNames, checkListenNumbers } from "./option_checks.ts";
import { listenTcp } from "../runtime/tcp_server.ts";
import { defaultAlgorithms, defaultServerSigAlgs, defaultSuite } from "../crypto/suite.ts";
import { X509_ALGORITHMS } from "../../core/publickey/x509_blob.ts";
import { loadX509Certificates } from "../keys/x509_verifier.ts";
import { loadPublicKeysSource, principalsPath } from "./user_trust.ts";
import { loadRevokedKeys } from "../keys/revoked_keys.ts";
import { authorizedKeyEntries } from "../keys/authorized_keys.ts";
import {
  checkAuthenticationMethods,
  checkChainsOffered,
  type ClientTrustOptions,
  offeredMethods,
} from "./auth_hooks.ts";
import type { X509Certificate } from "../../keys/x509/certificate.ts";
import { DisconnectReason } from "../../core/errors.ts";

/** A listening server. */
export interface SSHServer extends AsyncDisposable {
  /** The bound address; `port` is the real one when 0 was asked. */
  readonly address: { readonly host: string; readonly port: number };
  /** Number of open connections. */
  readonly connections: number;
  /** The open connections. */
  getConnections(): SSHServerConnection[];
  /**
   * Stops listening and closes every connection (a DISCONNECT, "Server shutting down"),
   * resolving once they are closed: a client that takes the DISCONNECT closes its side at
   * once; one that reads nothing more has its socket cut after `SOCKET_CLOSE_GRACE_MS`
   * (2 s), the time the DISCONNECT is given to arrive.
   * With `drain` (ms, `Infinity` for no limit), a graceful stop as a restarting sshd's:
   * no new connection is taken, the open ones go on until they end on their own or `drain`
   * has passed, and only those left are then closed. A `close()` without `drain` meanwhile
   * closes them at once.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * const server = await listen({ port: 0, hostKeys: [generatePrivateKey("ed25519")] });
   * // On SIGTERM: let sessions finish for up to 30 s.
   * await server.close({ drain: 30_000 });
   * ```
   */
  close(options?: { readonly drain?: number }): Promise<void>;
}

/**
 * Host key algorithms offered by default: every one the keys serve, in our
 * preference order, except SHA-1 RSA and DSA (list them in `serverHostKeyAlgs` to offer them).
 */
function defaultHostKeyAlgorithms(keys: readonly ServerHostKey[]): string[] {
  const preferred = defaultAlgorithms().hostKey;
  const served = new Set(keys.flatMap((k) => k.hostKeyAlgorithms));
  const extra = [...served].filter((a) =>
    !preferred.includes(a) && !INSECURE_SIGNATURE_ALGORITHMS.includes(a) &&
    !INSECURE_SIGNATURE_ALGORITHMS.some((i) => a.startsWith(`${i}-cert-`))
  );
  return [...preferred.filter((a) => served.has(a)), ...extra];
}

/** OpenSSH's default MaxStartups, 10:30:100. */
const DEFAULT_MAX_STARTUPS = { start: 10, rate: 30, full: 100 } as const;

/**
 * Whether to drop a new connection with `pending` unauthenticated ones already open: over a
 * hard limit, or by OpenSSH's random early drop between `start` and `full`.
 *
 * @example
 * ```ts
 * import { dropStartup } from "./listen.ts";
 * console.log(dropStartup(9), dropStartup(100), dropStartup(3, 3)); // false true true
 * ```
 */
export function dropStartup(
  pending: number,
  limit: ListenOptions["maxStartups"] = DEFAULT_MAX_STARTUPS,
  random: () => number = Math.random,
): boolean {
  if (typeof limit === "number") return pending >= limit;
  if (pending >= limit.full) return true;
  if (pending < limit.start) return false;
  const p = limit.rate / 100 +
    (1 - limit.rate / 100) * (pending - limit.start) / Math.max(1, limit.full - limit.start);
  return random() < p;
}

/**
 * The listener's trust settings for its connections' authentication: getters, so an option
 * changed on the options object still counts for the next login, as it did when each
 * connection copied them.
 */
function trustSettings(
  o: ListenOptions,
  x509TrustedCerts: readonly X509Certificate[] | undefined,
): ClientTrustOptions {
  return {
    get knownClientHosts() {
      return o.knownClientHosts;
    },
    get trustClientHost() {
      return o.trustClientHost;
    },
    x509TrustedCerts,
    get x509Purposes() {
      return o.x509Purposes;
    },
    get trustedUserCAKeys() {
      return o.trustedUserCAKeys;
    },
    get authorizedPrincipals() {
      return o.authorizedPrincipals;
    },
    get revokedKeys() {
      return o.revokedKeys;
    },
  };
}

/**
 * Resolves the options once for every connection (host keys loaded, algorithms chosen).
 *
 * @example
 * ```ts ignore
 * const setup = await setupServer({ hostKeys: ["./ssh_host_ed25519_key"] });
 * ```
 */
export async function setupServer(o: ListenOptions): Promise<ServerSetup> {
  checkListenNames(o);
  checkListenNumbers(o);
  // A RangeError here, not a reset of every connection that comes.
  if (o.serverVersion !== undefined) formatVersionLine(o.serverVersion);
  const hostKeys = await resolveHostKeys(
    o.hostKeys,
    o.passphrase,
    (m) => Log.from(o, "[sshts server]").warn(m),
  );
  const signers = hostKeySigners(
    hostKeys,
    o.serverHostKeyAlgs ?? defaultHostKeyAlgorithms(hostKeys),
  );
  const algs = defaultAlgorithms();
  const x509TrustedCerts = o.x509TrustedCerts || o.x509TrustedCertPaths
    ? await loadX509Certificates(o.x509TrustedCerts, o.x509TrustedCertPaths)
    : undefined;
  // Read once now so that a missing or malformed file fails listen(); each connection reads them again.
  if (o.trustedUserCAKeys !== undefined) {
    await loadPublicKeysSource(o.trustedUserCAKeys, "trustedUserCAKeys");
  }
  if (o.revokedKeys !== undefined) await loadRevokedKeys(o.revokedKeys, "revokedKeys");
  // A list that holds something else (plain JavaScript) is a TypeError now, not a server
  // that refuses every key.
  if (Array.isArray(o.authorizedClientKeys)) authorizedKeyEntries(o.authorizedClientKeys);
  if (typeof o.authorizedPrincipals === "string") principalsPath(o.authorizedPrincipals, "");
  const announced = o.signatureAlgs ?? defaultServerSigAlgs();
  // Trusted X.509 certificates make the x509v3-* user algorithms acceptable (not announced:
  // server-sig-algs names plain algorithms).
  const signatureAlgorithms = x509TrustedCerts && !o.signatureAlgs
    ? [...announced, ...X509_ALGORITHMS]
    : announced;
  const trust = trustSettings(o, x509TrustedCerts);
  if (o.authenticationMethods !== undefined) {
    checkAuthenticationMethods(o.authenticationMethods);
    // With the shared hooks (a serverFactory's own may add methods per connection).
    if (!o.serverFactory) {
      checkChainsOffered(
        o.authenticationMethods,
        offeredMethods({
          hook: (name) => o[name],
          authorizedKeys: () => o.authorizedClientKeys,
          trust,
        }, { ...o, authenticationMethods: undefined }),
      );
    }
  }
  const opt = <K extends string, V>(key: K, v: V | undefined) =>
    (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
  return {
    options: o,
    hostKeys,
    signatureAlgorithms,
    ...(x509TrustedCerts ? { x509TrustedCerts } : {}),
    trust,
    engine: {
      suite: defaultSuite(),
      algorithms: {
        kex: o.kexAlgs ?? DEFAULT_SERVER_KEX,
        hostKey: [...signers.keys()],
        cipher: o.encryptionAlgs ?? algs.cipher,
        mac: o.macAlgs ?? algs.mac,
        compression: o.compressionAlgs ?? algs.compression,
      },
      hostKeys: signers,
      serverSigAlgs: announced,
      // ChannelIO copies lent data where it keeps it (see ChannelIO's #deliver).
      borrowChannelData: true,
      // The driver answers kexWait events (WebCrypto's ML-KEM on Deno and Bun).
      asyncKex: true,
      ...opt("moduli", o.moduli),
      ...opt("random", o.random),
      ...opt("softwareVersion", o.serverVersion),
      ...opt("banner", o.banner),
      ...opt("loginTimeoutMs", o.loginTimeout),
      ...opt("maxAuthTries", o.maxAuthTries),
      ...opt("failureDelayMs", o.authFailureDelay),
      ...opt("keepaliveIntervalMs", o.keepaliveInterval),
      // 0 probes without ever giving up, as sshd's ClientAliveCountMax 0: the engine's 0 (ssh's
      // ServerAliveCountMax 0) drops the client at the first silent interval, unprobed.
      ...opt(
        "keepaliveCountMax",
        o.keepaliveCountMax === 0 ? Number.MAX_SAFE_INTEGER : o.keepaliveCountMax,
      ),
      ...opt("rekeyBytes", o.rekeyBytes),
      ...opt("rekeyIntervalMs", o.rekeyInterval),
      ...opt("maxChannels", o.maxChannels),
      ...opt("announceHostKeys", o.sendHostKeys),
    },
  };
}

/**
 * Starts an SSH server.
 *
 * @example A server on a free port that greets password users
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
 * const dir = await mkdtemp(join(tmpdir(), "sshd-")); // a real server has its files already
 * await writeFile(join(dir, "ssh_host_ed25519_key"), generatePrivateKey("ed25519").exportPrivateKey(), {
 *   mode: 0o600,
 * });
 * const userKey = generatePrivateKey("ed25519");
 * await writeFile(join(dir, "authorized_keys"), userKey.exportPublicKey() + "\n");
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [join(dir, "ssh_host_ed25519_key")],
 *   authorizedClientKeys: join(dir, "authorized_keys"),
 *   validatePassword: (user, pw) => user === "demo" && pw === "demo",
 *   processFactory: async (p) => { await p.write(`you ran: ${p.command}\n`); },
 * });
 * console.log(server.address.port);
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "demo",
 *   clientKeys: [userKey],
 *   knownHosts: null, // a server in this process
 * });
 * console.log((await conn.run("date")).stdout); // you ran: date
 * ```
 */
export async function listen(options: ListenOptions): Promise<SSHServer> {
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  const setup = await setupServer(options);
  const log = Log.from(options, "[sshts server]");
  const live = new Set<SSHServerConnection>();
  let startups = 0;
  const maxConnections = options.maxConnections ?? Infinity;
  const host = options.host ?? "127.0.0.1";
  const srv = await listenTcp({
    host,
    port: options.port ?? 22,
    backlog: options.backlog,
    ipv6Only: options.ipv6Only,
    reusePort: options.reusePort,
  }, (sock) => {
    // As OpenSSH's MaxStartups: drop new connections while too many are unauthenticated.
    if (dropStartup(startups, options.maxStartups) || live.size >= maxConnections) {
      log.warn(`dropped a connection from ${sock.remoteAddress}: too many connections`);
      sock.destroy();
      return;
    }
    startups++;
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        startups--;
      }
    };
    let conn: SSHServerConnection;
    try {
      conn = new SSHServerConnection(sock, setup, done);
    } catch {
      done();
      sock.destroy();
      return;
    }
    live.add(conn);
    void conn.closed.then(() => {
      live.delete(conn);
      done();
    });
  }, (e) => log.warn(`could not accept a connection: ${e.message}`));
  log.info(`listening on ${host}:${srv.port}`);
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let listening: Promise<void> | undefined;
  /** Stops watching the caller's signal (once the server closes). */
  let unwatch: (() => void) | undefined;
  const stopListening = () =>
    listening ??= (() => {
      unwatch?.();
      return srv.close();
    })();
  let endDrain: (() => void) | undefined;
  const closeAll = () =>
    closing ??= (async () => {
      endDrain?.();
      const stopped = stopListening();
      await Promise.all(
        [...live].map((c) => c.disconnect(DisconnectReason.BY_APPLICATION, "Server shutting down")),
      );
      await stopped;
    })();
  const server: SSHServer = {
    address: { host, port: srv.port },
    get connections() {
      return live.size;
    },
    getConnections: () => [...live],
    close(options = {}) {
      const drain = options.drain ?? 0;
      if (typeof drain !== "number" || !(drain >= 0)) {
        return Promise.reject(
          new RangeError(`drain must be a number of ms from 0 (or Infinity), not ${drain}`),
        );
      }
      if (drain === 0 || closing) return closeAll();
      return draining ??= (async () => {
        void stopListening();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const ended = Promise.all([...live].map((c) => c.closed));
        await Promise.race([
          ended,
          drain === Infinity ? ended : new Promise((r) => (timer = setTimeout(r, drain))),
          // A close() without drain meanwhile ends the wait.
          new Promise<void>((r) => (endDrain = r)),
        ]);
        clearTimeout(timer);
        await closeAll();
      })();
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  if (signal) {
    if (signal.aborted) {
      await server.close();
      throw abortError(signal);
    }
    const stop = () => void server.close();
    signal.addEventListener("abort", stop, { once: true });
    unwatch = () => signal.removeEventListener("abort", stop);
  }
  return server;
}
