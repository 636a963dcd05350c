/**
 * {@link AgentClient}: talks to an SSH agent — OpenSSH's `ssh-agent`, a
 * forwarded agent, or our own `SSHAgent` — over a UNIX socket
 * ({@link connectAgent}, default `SSH_AUTH_SOCK`), an SSH channel, or any
 * duplex. Requests go one at a time, in order.
 *
 * @module
 */

import { isCertificateAlgorithm, plainAlgorithm } from "../../core/publickey/certificate.ts";
import { SSHReader } from "../../core/wire.ts";
import type { KeyConstraint } from "../../agent/constraints.ts";
import type { DestinationConstraint } from "../../agent/constraints.ts";
import { AgentError } from "../../agent/errors.ts";
import {
  decodeQueryReply,
  encodeSessionBind,
  QUERY_EXTENSION,
  SESSION_BIND_EXTENSION,
  type SessionBind,
} from "../../agent/extensions.ts";
import {
  type AgentReply,
  type AgentRequest,
  decodeAgentReply,
  encodeAgentRequest,
} from "../../agent/messages.ts";
import { AgentFrameReader, AgentSignFlag, encodeAgentFrame } from "../../agent/protocol.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { parseKeyOrCertificate } from "../../keys/trust/certificate_policy.ts";
import { SSHKeyPair } from "../../keys/key_pair.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { envVar } from "../runtime/env.ts";
import { connectUnix } from "../runtime/local_socket.ts";
import type { ByteSocket, SocketHandlers, WebDuplex } from "../runtime/socket.ts";
import type { ClientKeyPair } from "../keys/types.ts";
import { byteSocketOf } from "../runtime/web_duplex.ts";
import { timeoutDelay } from "../runtime/timer.ts";

/** A key the agent holds, as it lists it. */
export interface AgentKey {
  /** The public key or certificate blob. */
  readonly keyBlob: Uint8Array;
  /** The comment the agent lists. */
  readonly comment: string;
  /** The key type from the blob, e.g. "ssh-ed25519" or "ssh-rsa-cert-v01@openssh.com". */
  readonly keyType: string;
  /** The public key (the certified key for a certificate); undefined for types we cannot parse. */
  readonly key: SSHKey | undefined;
  /** The certificate, when the identity is one. */
  readonly certificate: SSHCertificate | undefined;
}

/**
 * An agent key that signs through its agent (AsyncSSH's `SSHAgentKeyPair`): pass the ones
 * you choose as `connect({ clientKeys })`, e.g. with `agent: false` so that no other agent
 * key is tried. The server is asked whether it takes the key before the agent signs (an
 * agent may prompt for each signature).
 */
export interface AgentKeyPair extends AgentKey, ClientKeyPair {}

/** Options of {@link AgentClient.addIdentity}. */
export interface AgentAddIdentityOptions {
  /** Comment the agent lists (default the key's or certificate's comment). */
  readonly comment?: string;
  /** Seconds until the agent forgets the key (`ssh-add -t`). */
  readonly lifetime?: number;
  /** The agent asks before each use (`ssh-add -c`). */
  readonly confirm?: boolean;
  /** Where the key may be used (`ssh-add -h`). */
  readonly destinations?: readonly DestinationConstraint[];
  /** Further constraints, sent after the ones above. */
  readonly constraints?: readonly KeyConstraint[];
}

/** Options of {@link AgentClient.sign}. */
export interface AgentSignOptions {
  /**
   * The signature algorithm wanted: for RSA `rsa-sha2-512` (default),
   * `rsa-sha2-256` or `ssh-rsa`, certificate forms accepted. The agent's answer
   * must use it, or the signature is refused with {@link AgentError}.
   */
  readonly algorithm?: string;
}

/** What {@link AgentClient.extension} got back. */
export interface AgentExtensionReply {
  /** SSH_AGENT_SUCCESS or SSH_AGENT_EXTENSION_RESPONSE. */
  readonly type: "success" | "response";
  /** The reply contents after the extension name (empty for a bare success). */
  readonly contents: Uint8Array;
}

/**
 * How long an {@link AgentClient} waits for each reply by default: 30 s, as
 * `connect()`'s `connectTimeout`. An agent that accepted the connection and
 * then never answers would otherwise hang every request (and every `connect()`
 * that authenticates with it).
 */
export const DEFAULT_AGENT_TIMEOUT_MS = 30_000;

/** Options of an {@link AgentClient} (and {@link connectAgent}). */
export interface AgentClientOptions {
  /**
   * Gives up on a request when the agent has not answered it after this many
   * ms: the request rejects with {@link AgentError} (`"timeout"`), the
   * connection is closed (its replies would be out of step) and requests queued
   * behind it reject too. Default 30 000 (`DEFAULT_AGENT_TIMEOUT_MS`); 0 (or
   * `Infinity`, or anything above 2^31 − 1, about 24.8 days, the longest a
   * timer waits) waits without limit; a negative or NaN value is a
   * `RangeError` when the client is made. An agent asks a human before each use of
   * a key added with `confirm` (`ssh-add -c`) and answers only then: raise
   * the timeout, or disable it, when signing with such keys.
   */
  readonly timeout?: number;
}

/** A connector: opens the stream on first use (e.g. an agent channel of an SSH connection). */
export type AgentStreamOpener = () => Promise<ByteSocket | WebDuplex>;

function blobOf(key: SSHKey | SSHCertificate | SSHKeyPair | AgentKey | Uint8Array): Uint8Array {
  if (key instanceof Uint8Array) return key;
  if (key instanceof SSHKeyPair) return key.publicKeyBlob;
  if (key instanceof SSHCertificate) return key.blob;
  if (key instanceof SSHKey) return key.publicBlob;
  return key.keyBlob;
}

/** The environment variable OpenSSH reads the agent socket from. */
export const AGENT_SOCKET_ENV = "SSH_AUTH_SOCK";

/** The agent socket path from `SSH_AUTH_SOCK`, if set. */
export function agentSocketFromEnv(): string | undefined {
  return envVar(AGENT_SOCKET_ENV) || undefined;
}

/**
 * Connects to an agent's UNIX socket: `path`, or `SSH_AUTH_SOCK` when omitted.
 * Rejects with {@link AgentError} (`"unavailable"`) when there is no path or
 * nothing listens there. Each request then waits at most `options.timeout` ms
 * for its reply (default 30 s; see {@link AgentClientOptions}).
 *
 * @example List the keys of the running agent
 * ```ts
 * import { mkdtemp } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { connectAgent } from "./client.ts";
 * import { SSHAgent } from "./ssh_agent.ts";
 * // connectAgent() alone uses SSH_AUTH_SOCK; here an agent of our own on a temp socket.
 * const path = join(await mkdtemp(join(tmpdir(), "agent-")), "agent.sock");
 * await using _listening = await new SSHAgent().listen(path);
 * await using agent = await connectAgent(path, { timeout: 10_000 });
 * for (const k of await agent.listIdentities()) console.log(k.keyType, k.comment);
 * ```
 */
export async function connectAgent(
  path?: string,
  options: AgentClientOptions = {},
): Promise<AgentClient> {
  // A bad timeout is the caller's error, not an unavailable agent (and no socket is opened).
  timeoutDelay(options.timeout ?? DEFAULT_AGENT_TIMEOUT_MS, "The agent timeout");
  const p = path ?? agentSocketFromEnv();
  if (!p) {
    throw new AgentError("unavailable", `No agent: ${AGENT_SOCKET_ENV} is not set`);
  }
  try {
    return new AgentClient(await connectUnix(p), options);
  } catch (e) {
    throw new AgentError(
      "unavailable",
      `Cannot connect to the agent at ${p}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * A connection to an SSH agent. Methods reject with {@link AgentError}: kind
 * `"failure"` when the agent refuses, `"closed"` when the connection ends,
 * `"timeout"` when the agent does not answer within `timeout` ms (see
 * {@link AgentClientOptions}), others when a reply is malformed (the
 * connection is closed after a timeout or a malformed reply).
 *
 * @example Add a key with constraints, sign, and clean up
 * ```ts
 * import { mkdtemp } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { generatePrivateKey } from "../../keys/generate.ts";
 * import { connectAgent } from "./client.ts";
 * import { SSHAgent } from "./ssh_agent.ts";
 * const path = join(await mkdtemp(join(tmpdir(), "agent-")), "agent.sock");
 * await using _listening = await new SSHAgent().listen(path);
 * await using agent = await connectAgent(path);
 * const key = generatePrivateKey("ed25519");
 * await agent.addIdentity(key, { lifetime: 60, comment: "ci" });
 * const sig = await agent.sign(key.publicBlob, new TextEncoder().encode("hello"));
 * await agent.removeIdentity(key);
 * ```
 */
export class AgentClient implements AsyncDisposable {
  #socket: ByteSocket | undefined;
  #opener: AgentStreamOpener | undefined;
  #opening: Promise<ByteSocket> | undefined;
  readonly #reader = new AgentFrameReader();
  #waiters: { resolve: (body: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #closed: AgentError | undefined;
  #detached: SocketHandlers | undefined;
  #detachedBuffered: Uint8Array[] | undefined;
  /** The reply timeout in ms; undefined for none. */
  readonly #timeout: number | undefined;
  /** Rejects (with the error that closed the client) when the client fails. */
  readonly #failed: Promise<never>;
  #rejectFailed!: (e: AgentError) => void;

  /**
   * Talks over an open stream, or one `open` creates on first use (an SSH
   * server's agent channel, for instance). `options.timeout` bounds the wait
   * for each reply (default 30 s; see {@link AgentClientOptions}).
   */
  constructor(
    stream: ByteSocket | WebDuplex | AgentStreamOpener,
    options: AgentClientOptions = {},
  ) {
    this.#timeout = timeoutDelay(options.timeout ?? DEFAULT_AGENT_TIMEOUT_MS, "The agent timeout");
    this.#failed = new Promise<never>((_, reject) => this.#rejectFailed = reject);
    this.#failed.catch(() => {}); // only awaited while a stream is being opened
    if (typeof stream === "function") this.#opener = stream;
    else this.#attach(byteSocketOf(stream));
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  #attach(socket: ByteSocket): ByteSocket {
    this.#socket = socket;
    socket.setHandlers({
      data: (chunk) => {
        if (this.#detached) return this.#detached.data(chunk);
        this.#onData(chunk);
      },
      end: () => {
        if (this.#detached) return this.#detached.end();
        this.#fail(new AgentError("closed", "The agent closed the connection"));
        socket.end();
      },
      error: (e) => {
        if (this.#detached) return this.#detached.error(e);
        this.#fail(new AgentError("closed", `Agent connection failed: ${e.message}`, { cause: e }));
      },
      drain: () => this.#detached?.drain(),
      close: () => {
        if (this.#detached) return this.#detached.close();
        this.#fail(new AgentError("closed", "The agent connection is closed"));
      },
    });
    return socket;
  }

  #onData(chunk: Uint8Array): void {
    try {
      this.#reader.push(chunk);
      for (let body; (body = this.#reader.next());) {
        const w = this.#waiters.shift();
        if (!w) throw new AgentError("unexpected", "The agent sent a reply nobody asked for");
        w.resolve(body);
      }
    } catch (e) {
      this.#fail(e as AgentError);
      this.#socket?.destroy();
    }
  }

  #fail(e: AgentError): void {
    this.#closed ??= e;
    this.#rejectFailed(this.#closed);
    for (const w of this.#waiters.splice(0)) w.reject(this.#closed);
  }

  async #ensureSocket(): Promise<ByteSocket> {
    if (this.#socket) return this.#socket;
    if (this.#closed) throw this.#closed;
    this.#opening ??= (async () => {
      try {
        const socket = byteSocketOf(await this.#opener!());
        if (this.#closed) {
          // Closed (or timed out) while opening: the late stream is not used.
          socket.destroy();
          throw this.#closed;
        }
        return this.#attach(socket);
      } catch (e) {
        const err = e instanceof AgentError
          ? e
          : new AgentError("unavailable", `Cannot open the agent: ${(e as Error).message}`, {
            cause: e,
          });
        this.#fail(err);
        throw err;
      }
    })();
    // A client closed or timed out while its stream opens stops waiting for it.
    return await Promise.race([this.#opening, this.#failed]);
  }

  /**
   * Sends one request and resolves with the agent's reply (any type: failure
   * is a reply here, not an error).
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const reply = await agent.request({ type: "requestIdentities" });
   * console.log(reply.type); // "identities"
   * ```
   */
  request(req: AgentRequest): Promise<AgentReply> {
    const run = this.#queue.then(() => this.#request(req));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #request(req: AgentRequest): Promise<AgentReply> {
    const frame = encodeAgentFrame(encodeAgentRequest(req));
    const timer = this.#startTimer(req);
    try {
      const socket = await this.#ensureSocket();
      if (this.#closed) throw this.#closed;
      if (this.#detached) throw new AgentError("closed", "The agent connection was handed over");
      const body = await new Promise<Uint8Array>((resolve, reject) => {
        this.#waiters.push({ resolve, reject });
        socket.write(frame);
      });
      try {
        return decodeAgentReply(body);
      } catch (e) {
        this.#fail(e as AgentError);
        socket.destroy();
        throw e;
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /**
   * The timer of one request (opening the stream included): when it fires, the
   * request and every request queued behind it reject with the timeout, and the
   * connection is closed, since a late reply would answer the next request.
   */
  #startTimer(req: AgentRequest): ReturnType<typeof setTimeout> | undefined {
    const ms = this.#timeout;
    if (ms === undefined) return undefined;
    const timer = setTimeout(() => {
      this.#fail(
        new AgentError(
          "timeout",
          `The agent did not answer the ${requestName(req)} request within ${ms} ms; ` +
            "the connection is closed",
        ),
      );
      this.#socket?.destroy();
    }, ms);
    // Not unref'd, as connect()'s and run()'s timeouts: a request someone awaits settles
    // rather than the process quitting under it. Cleared once it settles (close() included).
    return timer;
  }

  async #expectSuccess(req: AgentRequest, what: string): Promise<void> {
    const r = await this.request(req);
    if (r.type === "success") return;
    throw refusal(r, what);
  }

  /**
   * The keys the agent offers (a locked agent lists none).
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const keys = await agent.listIdentities();
   * console.log(keys.map((k) => `${k.keyType} ${k.comment}`)); // []
   * ```
   */
  async listIdentities(): Promise<AgentKey[]> {
    const r = await this.request({ type: "requestIdentities" });
    if (r.type !== "identities") throw refusal(r, "list keys");
    return r.identities.map(({ keyBlob, comment }) => {
      let keyType = "";
      try {
        keyType = new SSHReader(keyBlob).readStringAscii("key type", 256);
      } catch { /* an unparseable blob stays listed with an empty type */ }
      let key: SSHKey | undefined;
      let certificate: SSHCertificate | undefined;
      try {
        const k = parseKeyOrCertificate(keyBlob);
        if (k instanceof SSHCertificate) {
          certificate = k;
          key = k.key;
        } else key = k;
        key.setComment(comment);
      } catch { /* a key type we do not know (e.g. from a newer agent): still listed */ }
      return { keyBlob, comment, keyType, key, certificate };
    });
  }

  /**
   * The agent's keys as key pairs that sign through this client (see {@link AgentKeyPair}),
   * usable in `connect({ clientKeys })` while this client is open.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../../keys/generate.ts";
   * import { SSHAgent } from "./ssh_agent.ts";
   * const agent = new SSHAgent();
   * agent.add(generatePrivateKey("ed25519"), { comment: "deploy" }); // or connectAgent()
   * await using client = agent.connect();
   * const deploy = (await client.getKeys()).filter((k) => k.comment === "deploy");
   * console.log(deploy.length); // 1: connect(host, { clientKeys: deploy, agent: false })
   * ```
   */
  async getKeys(): Promise<AgentKeyPair[]> {
    return (await this.listIdentities()).map((k) => ({
      ...k,
      publicKeyBlob: k.keyBlob,
      query: true,
      sign: (data: Uint8Array, algorithm: string) => this.sign(k.keyBlob, data, { algorithm }),
    }));
  }

  /**
   * Signs `data` with a key the agent holds. For RSA keys the hash is chosen by
   * `options.algorithm` (default rsa-sha2-512); the agent's signature must use
   * the algorithm asked for, or this rejects with {@link AgentError} (`"signature"`).
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../../keys/generate.ts";
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const key = generatePrivateKey("ed25519");
   * await agent.addIdentity(key);
   * const sig = await agent.sign(key.publicBlob, new TextEncoder().encode("data"));
   * // RSA keys take { algorithm: "rsa-sha2-256" } or "rsa-sha2-512".
   * ```
   */
  async sign(
    key: SSHKey | SSHCertificate | SSHKeyPair | AgentKey | Uint8Array,
    data: Uint8Array,
    options: AgentSignOptions = {},
  ): Promise<Uint8Array> {
    const keyBlob = blobOf(key);
    let keyType = "";
    try {
      keyType = new SSHReader(keyBlob).readStringAscii("key type", 256);
    } catch {
      throw new AgentError("malformed", "Cannot sign: the key blob is malformed");
    }
    const { flags, expected } = signatureRequest(keyType, options.algorithm);
    const r = await this.request({ type: "sign", keyBlob, data, flags });
    if (r.type !== "signResponse") throw refusal(r, "sign");
    let got = "";
    try {
      got = new SSHReader(r.signature).readStringAscii("signature algorithm", 256);
    } catch { /* reported below */ }
    if (got !== expected) {
      throw new AgentError(
        "signature",
        `The agent signed with ${got || "a malformed signature"}, not the ${expected} asked for`,
      );
    }
    return r.signature;
  }

  /**
   * Adds a private key (with its certificate: pass an `SSHKeyPair`) and its
   * constraints.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../../keys/generate.ts";
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const key = generatePrivateKey("ed25519");
   * await agent.addIdentity(key, { lifetime: 3600, confirm: true });
   * ```
   */
  async addIdentity(key: SSHKey | SSHKeyPair, options: AgentAddIdentityOptions = {}) {
    const pair = key instanceof SSHKeyPair ? key : new SSHKeyPair(key);
    const constraints: KeyConstraint[] = [];
    if (options.lifetime !== undefined) {
      constraints.push({ type: "lifetime", seconds: options.lifetime });
    }
    if (options.confirm) constraints.push({ type: "confirm" });
    if (options.destinations?.length) {
      constraints.push({ type: "restrictDestination", constraints: options.destinations });
    }
    constraints.push(...(options.constraints ?? []));
    await this.#expectSuccess({
      type: "addIdentity",
      key: pair,
      comment: options.comment ?? pair.getComment(),
      constraints,
    }, `add key ${pair.key.getFingerprint()}`);
  }

  /**
   * Removes one key (by key, certificate, listed identity or blob).
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "../../keys/generate.ts";
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const key = generatePrivateKey("ed25519");
   * await agent.addIdentity(key);
   * await agent.removeIdentity(key);
   * ```
   */
  async removeIdentity(
    key: SSHKey | SSHCertificate | SSHKeyPair | AgentKey | Uint8Array,
  ): Promise<void> {
    await this.#expectSuccess({ type: "removeIdentity", keyBlob: blobOf(key) }, "remove the key");
  }

  /**
   * Removes every key.
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * await agent.removeAllIdentities();
   * ```
   */
  async removeAllIdentities(): Promise<void> {
    await this.#expectSuccess({ type: "removeAllIdentities" }, "remove all keys");
  }

  /**
   * Locks the agent with a passphrase (`ssh-add -x`).
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * await agent.lock("hunter2");
   * await agent.unlock("hunter2");
   * ```
   */
  async lock(passphrase: string): Promise<void> {
    await this.#expectSuccess(
      { type: "lock", passphrase: new TextEncoder().encode(passphrase) },
      "lock the agent",
    );
  }

  /**
   * Unlocks the agent (`ssh-add -X`); rejects on a wrong passphrase.
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * await agent.lock("hunter2");
   * await agent.unlock("hunter2");
   * ```
   */
  async unlock(passphrase: string): Promise<void> {
    await this.#expectSuccess(
      { type: "unlock", passphrase: new TextEncoder().encode(passphrase) },
      "unlock the agent",
    );
  }

  /**
   * Calls an extension. Resolves with its reply; rejects with {@link AgentError}
   * (`"failure"`) when the agent does not support it or it failed.
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const r = await agent.extension("query");
   * ```
   */
  async extension(
    name: string,
    contents: Uint8Array = new Uint8Array(0),
  ): Promise<AgentExtensionReply> {
    const r = await this.request({ type: "extension", name, contents });
    if (r.type === "success") return { type: "success", contents: r.contents };
    if (r.type === "extensionResponse") {
      if (r.name !== name) {
        throw new AgentError("unexpected", `Reply for extension "${r.name}", not "${name}"`);
      }
      return { type: "response", contents: r.contents };
    }
    throw refusal(r, `run extension "${name}"`);
  }

  /**
   * The extensions the agent supports (the `query` extension). OpenSSH's agent
   * answers from 10.3 on; older agents refuse, which rejects with
   * {@link AgentError} (`"failure"`).
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * console.log(await agent.queryExtensions()); // ["query", "session-bind@openssh.com"]
   * ```
   */
  async queryExtensions(): Promise<string[]> {
    const r = await this.extension(QUERY_EXTENSION);
    return decodeQueryReply(r.contents);
  }

  /**
   * Binds this agent connection to an SSH session (`session-bind@openssh.com`),
   * so destination-restricted keys can be used on it. Rejects when the agent
   * refuses (a bad signature, a second authentication binding) or does not
   * know the extension.
   *
   * @example
   * ```ts ignore
   * await agent.sessionBind({ hostKeyBlob, sessionId, signature, isForwarding: false });
   * ```
   */
  async sessionBind(bind: SessionBind): Promise<void> {
    await this.extension(SESSION_BIND_EXTENSION, encodeSessionBind(bind));
  }

  /**
   * Hands the raw stream over (for forwarding a connection after a
   * session-bind): later bytes go to the returned socket, none to this client.
   * Waits for requests in flight first.
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * await using agent = new SSHAgent().connect(); // an agent in this process
   * const raw = await agent.detach(); // the bare socket, for a protocol of your own
   * raw.destroy();
   * ```
   */
  async detach(): Promise<ByteSocket> {
    await this.#queue;
    const socket = await this.#ensureSocket();
    const leftover = this.#reader.buffered;
    if (leftover) throw new AgentError("unexpected", "The agent sent bytes nobody asked for");
    if (this.#closed) throw this.#closed;
    this.#detachedBuffered = [];
    const buffered = this.#detachedBuffered;
    let handlers: SocketHandlers | undefined;
    this.#detached = {
      data: (c) => handlers ? handlers.data(c) : buffered.push(new Uint8Array(c)),
      end: () => handlers?.end(),
      error: (e) => handlers?.error(e),
      drain: () => handlers?.drain(),
      close: () => handlers?.close(),
    };
    return {
      write: (d) => socket.write(d),
      end: () => socket.end(),
      destroy: () => socket.destroy(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      setHandlers: (h) => {
        handlers = h;
        for (const c of buffered.splice(0)) h.data(c);
      },
    };
  }

  /**
   * Closes the connection to the agent.
   *
   * @example
   * ```ts
   * import { SSHAgent } from "./ssh_agent.ts";
   * const agent = new SSHAgent().connect(); // an agent in this process
   * agent.close();
   * ```
   */
  close(): void {
    this.#fail(new AgentError("closed", "The agent connection is closed"));
    // Destroyed, not ended: the socket is half-open, and an agent that never closes its
    // side after our end would keep it (and the process) alive. ssh closes the descriptor.
    this.#socket?.destroy();
  }

  /** `await using` support: closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** The flags and the signature algorithm to expect back for a key type and wanted algorithm. */
function signatureRequest(
  keyType: string,
  algorithm: string | undefined,
): { flags: number; expected: string } {
  const plainType = plainAlgorithm(keyType);
  if (plainType !== "ssh-rsa") {
    const expected = plainType;
    if (algorithm !== undefined && plainAlgorithm(algorithm) !== expected) {
      throw new AgentError("unsupported", `A ${keyType} key cannot sign with ${algorithm}`);
    }
    return { flags: 0, expected };
  }
  const want = algorithm === undefined
    ? "rsa-sha2-512"
    : isCertificateAlgorithm(algorithm)
    ? plainAlgorithm(algorithm)
    : algorithm;
  switch (want) {
    case "rsa-sha2-512":
      return { flags: AgentSignFlag.RSA_SHA2_512, expected: want };
    case "rsa-sha2-256":
      return { flags: AgentSignFlag.RSA_SHA2_256, expected: want };
    case "ssh-rsa":
      return { flags: 0, expected: want };
    default:
      throw new AgentError("unsupported", `An RSA key cannot sign with ${algorithm}`);
  }
}

/** A request's name in a timeout message: its type, or the extension's name. */
function requestName(req: AgentRequest): string {
  return req.type === "extension" ? `extension "${req.name}"` : req.type;
}

function refusal(r: AgentReply, what: string): AgentError {
  if (r.type === "failure" || r.type === "extensionFailure") {
    return new AgentError("failure", `The agent refused to ${what}`);
  }
  return new AgentError("unexpected", `Unexpected ${r.type} reply from the agent to ${what}`);
}
