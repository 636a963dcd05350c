/**
 * What the server's hooks, sessions and processes see of a connection: the
 * {@link ServerConnectionContext} interface, which `SSHServerConnection`
 * implements. Hooks take the interface, not the class, so the modules that
 * define and call them need not import the connection (no import circle).
 *
 * @module
 */

import type { ServerConnection } from "../../core/server/server_connection.ts";
import type { NegotiatedAlgorithms } from "../../core/transport/kexinit.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { AuthorizedKeysSource } from "../keys/authorized_keys.ts";
import type { ConnectionPermissions } from "./permissions.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import type { SSHCertificate } from "../../keys/certificates/certificate.ts";
import type { SSHStreamConnection } from "../forward/stream.ts";

/** Facts about a connection, given to hooks (a {@link ServerConnectionContext} has them all). */
export interface ServerConnectionInfo {
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The client's port. */
  readonly remotePort: number | undefined;
  /** Our address the client connected to. */
  readonly localAddress: string | undefined;
  /** Our port the client connected to. */
  readonly localPort: number | undefined;
}

/** Negotiated parameters and peer facts (AsyncSSH's get_extra_info). */
export interface ServerExtraInfo {
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The client's port. */
  readonly remotePort: number | undefined;
  /** Our address the client connected to. */
  readonly localAddress: string | undefined;
  /** Our port the client connected to. */
  readonly localPort: number | undefined;
  /** The authenticated user. */
  readonly username: string | undefined;
  /** The method that authenticated the user. */
  readonly authMethod: string | undefined;
  /**
   * The key that authenticated the user with "publickey", or its OpenSSH certificate (its
   * `keyId`, `serial` and signing CA), for an audit trail: `getFingerprint()` says which key
   * logged in. Undefined for other methods and for an `x509v3-*` key.
   */
  readonly authKey?: SSHKey | SSHCertificate | undefined;
  /** The client's identification line. */
  readonly clientVersion: string | undefined;
  /** Our identification line. */
  readonly serverVersion: string;
  /** The algorithms of the last key exchange. */
  readonly algorithms: NegotiatedAlgorithms | null;
  /** Whether strict kex is in force. */
  readonly strictKex: boolean;
  /** Key exchanges completed (1 after the handshake, +1 per rekey). */
  readonly kexCount: number;
  /** Which implementation seals and opens packets each way. */
  readonly cryptoProviders: { send: string; receive: string };
}

/** Per-channel settings of a channel the server opens. */
export interface ServerChannelOptions {
  /** Readable streams to keep: 2 for sessions (stdout, stderr), 1 for forwarding. */
  readonly streams?: 1 | 2;
  /** Receive window of this channel (default: the server's `windowSize`). */
  readonly windowSize?: number;
  /**
   * Largest data packet accepted on this channel (default: the server's `maxPacketSize`;
   * at most 261,875 bytes, what fits in a 256 KiB packet).
   */
  readonly maxPacketSize?: number;
}

/**
 * A client connection as the server's hooks see it (`SSHServerConnection` is one).
 *
 * @example Per-connection state with serverFactory
 * ```ts ignore
 * await listen({ ..., serverFactory: (conn: ServerConnectionContext) => ({
 *   validatePassword: (user, pw) => check(conn.remoteAddress, user, pw),
 * }) });
 * ```
 */
export interface ServerConnectionContext extends ServerConnectionInfo, AsyncDisposable {
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
  /** The authenticated user (undefined before authentication). */
  readonly username: string | undefined;
  /** The method that authenticated the user ("publickey", "password", ...). */
  readonly authMethod: string | undefined;
  /** What this connection may do (the authorized_keys options of the key that logged in). */
  readonly permissions: ConnectionPermissions;
  /** The sans-IO engine underneath. */
  readonly engine: ServerConnection;
  /** Number of remote-forward listeners open. */
  readonly listenerCount: number;
  /** Negotiated algorithms, versions and more, with what `setExtraInfo` attached. */
  getExtraInfo(): ServerExtraInfo & Readonly<Record<string, unknown>>;
  /** Attaches application data, returned (merged) by `getExtraInfo` (AsyncSSH's set_extra_info). */
  setExtraInfo(info: Readonly<Record<string, unknown>>): void;
  /**
   * Replaces `authorizedClientKeys` for this connection (e.g. per user, from `beginAuth`);
   * a string is a file path, never text (give text as `parseAuthorizedKeys(text)`).
   */
  setAuthorizedKeys(source: AuthorizedKeysSource | undefined): void;
  /** Opens a channel to the client (forwarded-tcpip, ...) and waits for its answer. */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options?: ServerChannelOptions,
  ): Promise<ChannelIO>;
  /** Opens a forwarded-tcpip channel to the client for a forward it asked for (`ssh -R`). */
  openConnection(
    listenHost: string,
    listenPort: number,
    options?: ServerChannelOptions & { readonly originHost?: string; readonly originPort?: number },
  ): Promise<SSHStreamConnection>;
  /** Opens a forwarded-streamlocal channel to the client for a socket forward it asked for. */
  openUnixConnection(
    listenPath: string,
    options?: ServerChannelOptions,
  ): Promise<SSHStreamConnection>;
  /**
   * Sends an authentication banner now (AsyncSSH's `send_auth_banner`), e.g.
   * from `beginAuth`, made for the user. Throws once the user is authenticated.
   */
  sendAuthBanner(message: string): void;
  /** Sends a DEBUG message the client may log (or show, with `alwaysDisplay`). */
  sendDebug(message: string, alwaysDisplay?: boolean): void;
  /** Closes the socket at once, without DISCONNECT. */
  abort(): void;
  /** Sends DISCONNECT and closes. */
  disconnect(reason: number, description: string): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
}
