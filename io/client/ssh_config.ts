/**
 * `connect()` with OpenSSH's client configuration: resolves `~/.ssh/config`
 * and `/etc/ssh/ssh_config` (or the files given) for the host and turns the
 * result into connect options — host name, port, user, keys, known_hosts
 * policy, algorithms, keepalive, rekeying, environment — opens the transport
 * the configuration asks for (an existing ControlMaster's socket, a ProxyJump
 * chain, a ProxyCommand, or TCP with AddressFamily/BindAddress), and sets up
 * LocalForward, RemoteForward and DynamicForward once connected. Options the
 * caller gives explicitly win over the configuration.
 *
 * Keywords that are not applied, and why, are listed in `config/README.md`.
 *
 * @module
 */

import * as net from "node:net";
import {
  ClientConnection,
  type ClientConnectionOptions,
} from "../../core/client/client_connection.ts";
import { SSHError } from "../../core/errors.ts";
import { DEFAULT_SSH_CONFIG_PROFILE } from "../../config/defaults.ts";
import { SSHConfigError } from "../../config/errors.ts";
import { MuxProxyEngine } from "../../config/mux_engine.ts";
import { parseProxyJump, type SSHJumpHop } from "../../config/proxy_jump.ts";
import type { ResolvedSSHConfig, SSHConfigForward } from "../../config/resolved.ts";
import { expandSSHConfigTokens } from "../../config/tokens.ts";
import { matchPattern } from "../../config/patterns.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { connectMuxProxy, MUX_HANDSHAKE_TIMEOUT_MS } from "../config/mux_client.ts";
import { resolveSSHConfig } from "../config/mod.ts";
import { spawnProxyCommand } from "../config/proxy_command.ts";
import { createSSHConfigSystem } from "../config/system.ts";
import {
  defaultIdentityKeys,
  identityClientKeys,
  loadIdentities,
  readCertificate,
} from "../keys/files.ts";
import { knownHostsVerifier } from "../keys/known_hosts.ts";
import type { ClientKeyPair, HostKeyInfo } from "../keys/types.ts";
import { environment, localAccount } from "../runtime/env.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "../limits.ts";
import { SSHClientConnection } from "./connection.ts";
import { abortWhenSignalled } from "./abort_link.ts";
import { timeoutOr } from "./auth.ts";
import { connectDeadline } from "./deadline.ts";
import {
  checkHostKeyPolicyOptions,
  hostKeyPolicy,
  type HostKeyVerdict,
} from "./host_key_policy.ts";
import { classifyConnectFailure, ConnectTimeoutError, markConnectPhase } from "./errors.ts";
import { abortError, ChannelOpenError } from "../engine/errors.ts";
import type { ConnectOptions, ResolvedConnectOptions } from "./options.ts";

/** The plain connect() this module builds on (no configuration). */
export type DirectConnect = (host: string, options: ConnectOptions) => Promise<SSHClientConnection>;

let systemPromise: ReturnType<typeof createSSHConfigSystem> | undefined;

/** Our default authentication order, as OpenSSH's (hostbased only when enabled). */
const DEFAULT_AUTH_ORDER = ["hostbased", "publickey", "keyboard-interactive", "password"];

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Loads the configured identity files (missing or unreadable ones are skipped, as ssh does).
 * A file whose private key is not loaded (encrypted, or a `.pub`) but whose public key can be
 * read gives its `publicIdentityKey()`: connect() uses the agent's copy of that key, as
 * ssh matches agent keys against identity files by their public halves.
 */
async function configuredKeys(
  c: ResolvedSSHConfig,
  options: ConnectOptions,
  env: Readonly<Record<string, string | undefined>>,
  homeDir: string,
  userHome: ((user: string) => string | undefined) | undefined,
): Promise<ClientKeyPair[] | undefined> {
  const defaults = DEFAULT_SSH_CONFIG_PROFILE.identityFiles;
  const userFiles = sameList(c.identityFiles, defaults) ? [] : c.identityFiles;
  if (userFiles.length === 0 && c.certificateFiles.length === 0) return undefined;
  // `~user/…` is that user's home, as ssh's tilde_expand_filename (a missing file is skipped).
  const expandPath = (p: string) => expandSSHConfigTokens(c, p, { env, homeDir, userHome });
  const files = (userFiles.length > 0 ? userFiles : defaults).map(expandPath);
  const passphrase = userFiles.length > 0 ? options.passphrase : undefined;
  const ids = await loadIdentities(files, passphrase !== undefined ? { passphrase } : {});
  const certs: SSHCertificate[] = [];
  for (const f of c.certificateFiles) {
    try {
      certs.push(await readCertificate(expandPath(f)));
    } catch { /* a missing certificate file is skipped, as ssh does */ }
  }
  // Configured certificates go first, beside each key they certify.
  return identityClientKeys(ids, certs);
}

/** Drops keys whose algorithm PubkeyAcceptedAlgorithms does not allow. */
function filterKeys(
  keys: readonly ClientKeyPair[],
  allowed: readonly string[] | undefined,
): ClientKeyPair[] {
  if (!allowed) return [...keys];
  return keys.filter((k) => {
    if (k.keyType === "ssh-rsa") {
      return allowed.some((a) => a === "ssh-rsa" || a.startsWith("rsa-sha2-"));
    }
    if (k.keyType === "ssh-rsa-cert-v01@openssh.com") {
      return allowed.some((a) => a === k.keyType || /^rsa-sha2-\d+-cert-v01@openssh\.com$/.test(a));
    }
    return allowed.includes(k.keyType);
  });
}

/** The authentication methods to try, after PreferredAuthentications and the *Authentication switches. */
function authMethods(c: ResolvedSSHConfig): readonly string[] | undefined {
  const base = c.preferredAuthentications?.split(",") ?? DEFAULT_AUTH_ORDER;
  const off = new Set<string>();
  if (!c.hostbasedAuthentication) off.add("hostbased");
  if (c.pubkeyAuthentication === "no") off.add("publickey");
  if (!c.kbdInteractiveAuthentication) off.add("keyboard-interactive");
  if (!c.passwordAuthentication) off.add("password");
  const list = base.filter((m) => !off.has(m));
  const defaultList = DEFAULT_AUTH_ORDER.filter((m) => m !== "hostbased");
  return c.preferredAuthentications === undefined && sameList(list, defaultList) ? undefined : list;
}

/** Caps password (and keyboard-interactive) callbacks at NumberOfPasswordPrompts. */
function capPrompts(options: ConnectOptions, max: number): Partial<ConnectOptions> {
  const out: { -readonly [K in keyof ConnectOptions]?: ConnectOptions[K] } = {};
  const pw = options.password;
  if (typeof pw === "function") out.password = (attempt) => (attempt > max ? null : pw(attempt));
  const kb = options.kbdintResponses;
  if (kb) {
    let n = 0;
    out.kbdintResponses = (
      name,
      instruction,
      prompts,
    ) => (++n > max ? null : kb(name, instruction, prompts));
  }
  return out;
}

/**
 * TCP with AddressFamily and BindAddress (node:net: every runtime has it), within
 * `timeoutMs` (the connect timeout, as a plain TCP connect has; undefined: no limit).
 * Fails as connect()'s own TCP connect does: a ConnectTimeoutError, a ConnectError for a
 * refused connection or an unknown name, the caller's abort reason.
 */
function tcpWith(
  host: string,
  port: number,
  family: 0 | 4 | 6,
  localAddress: string | undefined,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<ByteSocket> {
  const deadline = connectDeadline(signal, timeoutMs ?? 0);
  const failed = (e: unknown): unknown => {
    if (signal?.aborted) return abortError(signal);
    const err = deadline.timedOut
      ? new ConnectTimeoutError(host, port, "tcp", timeoutMs!, { cause: e })
      : classifyConnectFailure(e, host, port) ??
        timeoutOr(e, signal, `Cannot connect to ${host}:${port}: ${(e as Error).message}`);
    markConnectPhase(err, "tcp");
    return err;
  };
  return new Promise<ByteSocket>((resolve, reject) => {
    const abortable = deadline.signal;
    const sock = net.connect({
      host,
      port,
      family,
      noDelay: true,
      ...(localAddress !== undefined ? { localAddress } : {}),
    });
    const onAbort = () => {
      sock.destroy();
      reject(failed(abortable!.reason));
    };
    if (abortable?.aborted) return onAbort();
    abortable?.addEventListener("abort", onAbort, { once: true });
    sock.once("connect", () => {
      abortable?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      resolve(socketFromNodeSocket(sock));
    });
    sock.once("error", (e) => {
      abortable?.removeEventListener("abort", onAbort);
      reject(failed(e));
    });
  }).finally(deadline.clear);
}

/**
 * The environment SendEnv and SetEnv send with every session (SendEnv's part not when the
 * caller gave `sendEnv`, which replaces it and is sent by the connection).
 */
function sessionEnv(
  c: ResolvedSSHConfig,
  env: Readonly<Record<string, string | undefined>>,
  sendEnvGiven: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.sendEnv.length > 0 && !sendEnvGiven) {
    for (const [name, value] of Object.entries(env)) {
      if (value !== undefined && c.sendEnv.some((p) => matchPattern(name, p))) out[name] = value;
    }
  }
  for (const s of c.setEnv) {
    const eq = s.indexOf("=");
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

/** OpenSSH's listen address for a local forward or SOCKS listener. */
function localListenHost(h: string | undefined, gatewayPorts: boolean): string {
  if (h === undefined) return gatewayPorts ? "0.0.0.0" : "127.0.0.1";
  if (h === "" || h === "*") return "0.0.0.0";
  if (h === "localhost") return "127.0.0.1";
  return h;
}

/** Sets up the configured forwards; a failure closes the connection with ExitOnForwardFailure. */
async function setUpForwards(conn: SSHClientConnection, c: ResolvedSSHConfig): Promise<void> {
  const attempt = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      if (c.exitOnForwardFailure) {
        await conn.close();
        throw new Error(`Cannot set up ${what}: ${(e as Error).message}`, { cause: e });
      }
    }
  };
  const unsupported = (what: string) => () => Promise.reject(new Error(`${what} is not supported`));
  for (const f of c.localForwards) {
    const desc = `LocalForward ${describe(f)}`;
    if (f.listenPath !== undefined && f.connectPath !== undefined) {
      await attempt(
        desc,
        () => conn.forwardLocalPath({ listenPath: f.listenPath!, destPath: f.connectPath! }),
      );
    } else if (f.listenPath === undefined && f.connectPath === undefined) {
      await attempt(desc, () =>
        conn.forwardLocalPort({
          listenHost: localListenHost(f.listenHost, c.gatewayPorts),
          listenPort: f.listenPort ?? 0,
          destHost: f.connectHost ?? "localhost",
          destPort: f.connectPort ?? 0,
        }));
    } else await attempt(desc, unsupported("Forwarding between a TCP port and a UNIX socket"));
  }
  for (const f of c.dynamicForwards) {
    await attempt(
      `DynamicForward ${describe(f)}`,
      () =>
        f.listenPath !== undefined
          ? Promise.reject(new Error("a SOCKS listener on a UNIX socket is not supported"))
          : conn.forwardSocks({
            listenHost: localListenHost(f.listenHost, c.gatewayPorts),
            listenPort: f.listenPort ?? 0,
          }),
    );
  }
  for (const f of c.remoteForwards) {
    const desc = `RemoteForward ${describe(f)}`;
    if (f.connectHost === "socks" && f.connectPort === 0) {
      await attempt(desc, unsupported("A remote SOCKS forward"));
    } else if (f.listenPath !== undefined && f.connectPath !== undefined) {
      await attempt(
        desc,
        () => conn.forwardRemotePath({ listenPath: f.listenPath!, destPath: f.connectPath! }),
      );
    } else if (f.listenPath === undefined && f.connectPath === undefined) {
      await attempt(desc, () =>
        conn.forwardRemotePort({
          listenHost: f.listenHost === undefined
            ? "localhost"
            : f.listenHost === "*"
            ? ""
            : f.listenHost,
          listenPort: f.listenPort ?? 0,
          destHost: f.connectHost ?? "localhost",
          destPort: f.connectPort ?? 0,
        }));
    } else await attempt(desc, unsupported("Forwarding between a TCP port and a UNIX socket"));
  }
}

function describe(f: SSHConfigForward): string {
  const l = f.listenPath ?? `${f.listenHost ?? ""}:${f.listenPort}`;
  const t = f.connectPath ?? `${f.connectHost ?? ""}:${f.connectPort}`;
  return `${l} ${t}`;
}

/** How many ProxyJump hosts one connection may go through, nested hops included. */
const MAX_JUMP_DEPTH = 16;

/** A ProxyJump entry as written (`user@host:port`), to name the hop in its errors. */
function hopLabel(hop: SSHJumpHop): string {
  return `${hop.user !== undefined ? `${hop.user}@` : ""}${hop.host}${
    hop.port !== undefined ? `:${hop.port}` : ""
  }`;
}

/**
 * `e` with `what` in front of its message (its class, code and cause kept), so that an
 * error from a chain says which hop failed. The caller's own abort reason is not ours to
 * change, nor is an error whose message cannot be written (a DOMException's).
 */
function naming(e: unknown, what: string, signal: AbortSignal | undefined): unknown {
  if (!(e instanceof Error) || (signal?.aborted && e === signal.reason)) return e;
  try {
    e.message = `${what}: ${e.message}`;
  } catch { /* a read-only message stays as it is */ }
  return e;
}

/**
 * Connects to `host` as `ssh` would with the configuration: resolves it,
 * builds the options, opens the transport, authenticates and sets up the
 * configured forwards. `direct` is the configuration-free connect();
 * `jumpedFrom` the hosts of the ProxyJump chain that led here (a repeat, or
 * more than 16 hops, is an {@link SSHConfigError} before anything connects);
 * `deadline` (a `performance.now()` time) when the chain's connect time ends.
 *
 * @example
 * ```ts ignore
 * const conn = await connectWithConfig("prod", { config: "./ssh_config" }, connectDirect);
 * ```
 */
export async function connectWithConfig(
  host: string,
  options: ConnectOptions,
  direct: DirectConnect,
  jumpedFrom: readonly string[] = [],
  deadline?: number,
): Promise<SSHClientConnection> {
  // Before anything is read: a host key option connect() cannot honour is a TypeError.
  checkHostKeyPolicyOptions(options);
  const me = localAccount();
  if (me === undefined) {
    // The running user and home cannot be read (Deno without --allow-sys or --allow-env):
    // there is no ~/.ssh/config to find, so the default configuration is skipped, as with
    // `config: false`. Files given explicitly need them (%d, %u, ~): that is an error.
    if (options.config === undefined && options.configOptions === undefined) {
      return direct(host, options);
    }
    throw new SSHError(
      "ERR_LOCAL_ACCOUNT",
      "connect() cannot read the local user and home directory for ssh_config: on Deno, run " +
        "with --allow-sys=uid,gid,userInfo,homedir or --allow-env=USER,HOME (and where " +
        "$USER or $LOGNAME and $HOME are unset, as in some containers, set them), or pass " +
        "config: false",
    );
  }
  const env = environment();
  systemPromise ??= createSSHConfigSystem();
  const files = options.config === undefined || options.config === false
    ? undefined
    : typeof options.config === "string"
    ? [options.config]
    : options.config;
  const system = await systemPromise;
  const c = await resolveSSHConfig(host, {
    files,
    user: options.username,
    port: options.port,
    env,
    system,
    ...(options.configOptions !== undefined ? { options: options.configOptions } : {}),
  });
  const explicit = options;
  const profile = DEFAULT_SSH_CONFIG_PROFILE;
  const mapped: { -readonly [K in keyof ConnectOptions]?: ConnectOptions[K] } = {
    port: c.port,
    username: c.user,
    config: false,
  };
  const accepted = sameList(c.pubkeyAcceptedAlgorithms, profile.keys.defaults)
    ? undefined
    : c.pubkeyAcceptedAlgorithms;
  // PubkeyAcceptedAlgorithms limits what signs, not only which key files load: agent keys
  // and RSA's hash too (`+ssh-rsa` for an old server is what allows SHA-1 signatures).
  if (accepted !== undefined && explicit.clientSignatureAlgs === undefined) {
    mapped.clientSignatureAlgs = accepted;
  }
  if (explicit.clientKeys === undefined) {
    const keys = await configuredKeys(
      c,
      explicit,
      env,
      me.homeDir,
      system.userHome?.bind(system),
    );
    if (c.pubkeyAuthentication === "no") mapped.clientKeys = [];
    else if (keys !== undefined) mapped.clientKeys = filterKeys(keys, accepted);
    else if (accepted !== undefined && explicit.password === undefined) {
      mapped.clientKeys = filterKeys(await defaultIdentityKeys(), accepted);
    }
  }
  // The agent: IdentityAgent names it (none, SSH_AUTH_SOCK, $VAR or a path), ForwardAgent
  // forwards it (connect() forwards the agent it uses, so a ForwardAgent path names that agent
  // when IdentityAgent does not).
  const agentPath = (v: string): string | false | undefined => {
    if (v.toLowerCase() === "none") return false;
    if (v === "SSH_AUTH_SOCK") return undefined;
    if (v.startsWith("$")) {
      const name = v.slice(1);
      const value = Object.hasOwn(env, name) ? env[name] : undefined;
      return typeof value === "string" ? value : false;
    }
    return v;
  };
  if (c.identityAgent !== undefined) {
    const a = agentPath(c.identityAgent);
    if (a !== undefined) mapped.agent = a;
  }
  if (c.forwardAgent !== false) {
    mapped.agentForwarding = true;
    if (typeof c.forwardAgent === "string" && c.identityAgent === undefined) {
      const a = agentPath(c.forwardAgent);
      if (a !== undefined) mapped.agent = a;
    }
  }
  if (c.identitiesOnly) mapped.identitiesOnly = true;
  // ForwardX11: every session of the connection forwards X11 to the local display (ssh does
  // it for the one session it runs); a call's own x11Forwarding still wins.
  if (c.forwardX11) {
    // As ssh: no display, no cookie or a server that refuses is a warning, not a failure.
    mapped.sessionDefaults = { x11Forwarding: "ignoreFailure" };
    // ForwardX11Trusted no: `ssh -X`'s restricted, expiring cookie from XAuthLocation's xauth.
    if (!c.forwardX11Trusted) {
      mapped.x11Display = {
        trusted: false,
        timeout: c.forwardX11Timeout * 1000,
        xauthLocation: c.xauthLocation,
      };
    }
  }
  if (c.kbdInteractiveDevices) mapped.kbdintSubmethods = c.kbdInteractiveDevices;
  const methods = authMethods(c);
  if (methods) mapped.preferredAuth = methods;
  Object.assign(mapped, capPrompts(explicit, c.numberOfPasswordPrompts));
  if (c.ciphers && !sameList(c.ciphers, profile.ciphers.defaults)) {
    mapped.encryptionAlgs = c.ciphers;
  }
  if (c.macs && !sameList(c.macs, profile.macs.defaults)) mapped.macAlgs = c.macs;
  if (c.kexAlgorithms && !sameList(c.kexAlgorithms, profile.kex.defaults)) {
    mapped.kexAlgs = c.kexAlgorithms;
  }
  if (!sameList(c.hostKeyAlgorithms, profile.keys.defaults)) {
    mapped.serverHostKeyAlgs = c.hostKeyAlgorithms;
  }
  if (c.compression) mapped.compressionAlgs = ["zlib@openssh.com", "zlib", "none"];
  if (c.connectTimeout !== undefined && c.connectTimeout > 0) {
    mapped.connectTimeout = c.connectTimeout * 1000;
  }
  if (c.serverAliveInterval > 0) {
    mapped.keepaliveInterval = c.serverAliveInterval * 1000;
    mapped.keepaliveCountMax = c.serverAliveCountMax;
  }
  if (c.rekeyLimit > 0n) mapped.rekeyBytes = Number(c.rekeyLimit);
  if (c.rekeyInterval > 0) mapped.rekeyInterval = c.rekeyInterval * 1000;
  const envToSend = sessionEnv(c, env, explicit.sendEnv !== undefined);
  if (Object.keys(envToSend).length > 0) mapped.env = envToSend;

  // RevokedHostKeys (a key list or a KRL): connect() refuses those keys before known_hosts.
  if (c.revokedHostKeys !== undefined) mapped.revokedHostKeys = c.revokedHostKeys;

  let socket: ByteSocket | undefined;
  const verdict: HostKeyVerdict = {};
  // The host key check of StrictHostKeyChecking, UserKnownHostsFile, GlobalKnownHostsFile,
  // HostKeyAlias, CheckHostIP and HashKnownHosts (connect()'s strictHostKeyChecking and
  // hashKnownHosts win over the file's). An explicit knownHosts is connect()'s own to check.
  let given = stripUndefined(explicit);
  if (explicit.hostKeyVerifier === undefined && explicit.knownHosts === undefined) {
    const { strictHostKeyChecking, hashKnownHosts, ...rest } = given;
    given = rest;
    const alias = c.hostKeyAlias;
    const files = [...c.userKnownHostsFiles, ...c.globalKnownHostsFiles];
    mapped.hostKeyVerifier = hostKeyPolicy(await knownHostsVerifier({ files }), {
      mode: strictHostKeyChecking ?? c.strictHostKeyChecking,
      learnInto: c.userKnownHostsFiles[0],
      hashed: hashKnownHosts ?? c.hashKnownHosts,
      alias,
      address: (info: HostKeyInfo) =>
        c.checkHostIP && alias === undefined ? socket?.remoteAddress ?? info.address : undefined,
    }, verdict);
  }
  const opts: ConnectOptions = withConnectionNoted({ ...mapped, ...given, config: false }, verdict);

  // connectTimeout (ConnectTimeout) covers the whole connect, as connect()'s own does: the
  // TCP connect or the master's handshake, every ProxyJump hop, the handshake and
  // authentication. A hop gets what is left of the time of the connection it leads to (ssh's
  // wait for the banner starts before its jump hosts connect), or its own when shorter.
  const own = timeoutDelay(opts.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS, "connectTimeout");
  const until = own === undefined
    ? deadline
    : Math.min(deadline ?? Infinity, performance.now() + own);
  const left = (): number | undefined =>
    until === undefined ? undefined : Math.max(1, Math.ceil(until - performance.now()));
  const timed = (o: ConnectOptions): ConnectOptions =>
    until === undefined ? o : { ...o, connectTimeout: left()! };

  // The transport: an OpenSSH master, a jump chain, a proxy command, or TCP.
  if (
    explicit.sock === undefined && explicit.tunnel === undefined &&
    explicit.proxyCommand === undefined
  ) {
    if (
      c.controlPath !== undefined &&
      (c.controlMaster === "no" || c.controlMaster === "auto" || c.controlMaster === "autoask")
    ) {
      const mux = await connectMuxProxy(
        c.controlPath,
        explicit.signal,
        Math.min(MUX_HANDSHAKE_TIMEOUT_MS, left() ?? Infinity),
      );
      if (mux) return await overMaster(c, mux, opts);
    }
    if (c.proxyJump !== undefined) {
      const hops = parseProxyJump(c.proxyJump);
      // Each hop's own ProxyJump is resolved before anything connects: a loop of hosts
      // jumping through each other would recurse forever. ssh spawns a process per hop
      // and catches only a host jumping through itself; here every repeat is refused.
      // By the name asked for (aliases of one address may lead on differently).
      const here = `${c.user}@${c.host}:${c.port}`;
      const chain = [...jumpedFrom, here];
      if (jumpedFrom.includes(here) || chain.length > MAX_JUMP_DEPTH) {
        throw new SSHConfigError(
          "ERR_CONFIG_INVALID",
          `ProxyJump ${
            jumpedFrom.includes(here) ? "loop" : `chain longer than ${MAX_JUMP_DEPTH} hops`
          }: ${chain.join(" → ")}`,
        );
      }
      let tunnel: SSHClientConnection | undefined;
      const opened: SSHClientConnection[] = [];
      // The hop before: one that cannot open the channel to the next is the one that failed.
      let prev: SSHJumpHop | undefined;
      try {
        for (const hop of hops) {
          tunnel = await connectWithConfig(
            hop.host,
            {
              ...(files !== undefined ? { config: files } : {}),
              ...(hop.user !== undefined ? { username: hop.user } : {}),
              ...(hop.port !== undefined ? { port: hop.port } : {}),
              ...(tunnel ? { tunnel } : {}),
              ...(explicit.signal ? { signal: explicit.signal } : {}),
            },
            direct,
            chain,
            until,
          ).catch((e) => {
            const what = prev !== undefined && e instanceof ChannelOpenError
              ? `ProxyJump host ${hopLabel(prev)} cannot reach ${hopLabel(hop)}`
              : `ProxyJump host ${hopLabel(hop)}`;
            throw naming(e, what, explicit.signal);
          });
          opened.push(tunnel);
          prev = hop;
        }
        const last = prev;
        const conn = await direct(c.hostname, timed({ ...opts, tunnel: tunnel! })).catch((e) => {
          if (!(e instanceof ChannelOpenError) || last === undefined) throw e;
          const what = `ProxyJump host ${hopLabel(last)} cannot reach ${c.hostname}:${c.port}`;
          throw naming(e, what, explicit.signal);
        });
        // The jump connections we opened live as long as the connection through them.
        void conn.closed.then(async () => {
          for (const h of opened.reverse()) await h.close();
        });
        await setUpForwardsUnlessImpostor(conn, c);
        return conn;
      } catch (e) {
        for (const h of opened.reverse()) await h.close().catch(() => {});
        throw e;
      }
    }
    if (c.proxyCommand !== undefined) {
      if (c.proxyCommand === "-") {
        throw new Error("ProxyCommand - (ssh's own stdio) is not supported");
      }
      const cmd = expandSSHConfigTokens(c, c.proxyCommand, { only: ["h", "k", "n", "p", "r"] });
      socket = spawnProxyCommand(cmd, { env });
    } else if (c.addressFamily !== "any" || c.bindAddress !== undefined) {
      socket = await tcpWith(
        c.hostname,
        c.port,
        c.addressFamily === "inet" ? 4 : c.addressFamily === "inet6" ? 6 : 0,
        c.bindAddress,
        explicit.signal,
        left(),
      );
    }
  }
  let conn: SSHClientConnection;
  try {
    conn = await direct(c.hostname, timed(socket ? { ...opts, sock: socket } : opts));
  } catch (e) {
    // A connect that fails before its connection exists (an aborted signal, a key file that
    // cannot be read) never takes the socket over: the proxy command would outlive it.
    socket?.destroy();
    throw e;
  }
  await setUpForwardsUnlessImpostor(conn, c);
  return conn;
}

/**
 * connect()'s `connectionMade` hook (ConnectHooks there; written out here, as connect.ts
 * imports this module).
 */
interface WithConnectionMade {
  readonly connectionMade?: (conn: SSHClientConnection) => void;
}

/**
 * `o` with its `connectionMade` hook noting the connection in `verdict`, for the host key
 * check to mark untrusted; the connection itself then withholds what an impostor must
 * not get (see HostKeyVerdict).
 */
function withConnectionNoted(o: ConnectOptions, verdict: HostKeyVerdict): ConnectOptions {
  const made = (o as WithConnectionMade).connectionMade;
  const connectionMade = (conn: SSHClientConnection) => {
    verdict.conn = conn;
    made?.(conn);
  };
  return { ...o, connectionMade } as ConnectOptions & WithConnectionMade;
}

/** Configured forwards, unless the host key was a changed one let through (then none at all). */
async function setUpForwardsUnlessImpostor(
  conn: SSHClientConnection,
  c: ResolvedSSHConfig,
): Promise<void> {
  if (!conn.hostKeyUntrusted) return await setUpForwards(conn, c);
  // Passwords, agent and X11 channels the connection refuses itself (see
  // markHostKeyUntrusted; the host key check warned of those).
  conn.logger.warn(
    "the host key changed and StrictHostKeyChecking=no let it through: the configured " +
      "port forwards are not set up",
  );
}

/** A connection that runs over an OpenSSH master's socket in proxy mode. */
async function overMaster(
  c: ResolvedSSHConfig,
  sock: ByteSocket,
  options: ConnectOptions,
): Promise<SSHClientConnection> {
  const resolved: ResolvedConnectOptions = {
    ...options,
    clientKeys: [],
    engine: (o: ClientConnectionOptions): ClientConnection => new MuxProxyEngine(o),
    ...(c.controlPath !== undefined ? { controlPath: c.controlPath } : {}),
  };
  const conn = new SSHClientConnection(c.hostname, c.port, sock, resolved);
  try {
    // As over TCP: the caller's hook sees the connection before anything else happens.
    (options as WithConnectionMade).connectionMade?.(conn);
    await conn.whenAuthenticated(options.signal);
  } catch (e) {
    conn.abort();
    throw e;
  }
  abortWhenSignalled(conn, options.signal);
  await setUpForwards(conn, c);
  return conn;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
