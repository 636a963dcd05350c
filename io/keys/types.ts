/**
 * The key shapes client, server and key loading share: a client's signing key,
 * the facts a host key verifier gets, and a server's host key. A leaf module
 * (types only), so the client, the server and `io/keys/` can all name them
 * without importing each other.
 *
 * @module
 */

/** A key the client can sign with: an `SSHKey`, an agent key, or anything shaped like one. */
export interface ClientKeyPair {
  /** Key type as in its blob, e.g. "ssh-ed25519" or a certificate type. */
  readonly keyType: string;
  /** The public key (or certificate) blob. */
  readonly publicKeyBlob: Uint8Array;
  /** Signs `data` with `algorithm`, returning the SSH signature blob. */
  sign(data: Uint8Array, algorithm: string): Uint8Array | Promise<Uint8Array>;
  /** Ask the server before signing (agent keys that prompt). */
  readonly query?: boolean;
}

/** Facts about the server's host key, for a verifier. */
export interface HostKeyInfo {
  /**
   * The host name (or address) connected to: as given to connect(), or, for an ssh_config
   * alias, the `HostName` it names.
   */
  readonly host: string;
  /** The TCP port connected to. */
  readonly port: number;
  /** The negotiated host key algorithm, e.g. "ssh-ed25519" or a certificate type. */
  readonly algorithm: string;
  /** The host key (or certificate) blob the server signed the key exchange with. */
  readonly keyBlob: Uint8Array;
  /**
   * The server's IP address, for known_hosts lines that name it (OpenSSH's
   * CheckHostIP); absent over a caller's socket or with `hostKeyAlias`.
   */
  readonly address?: string | undefined;
}

/** A host key the server can sign with (an `SSHKey` with its private part fits too). */
export interface ServerHostKey {
  /** Host key algorithms this key serves, e.g. ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]. */
  readonly hostKeyAlgorithms: readonly string[];
  /** The public key (or host certificate) blob. */
  readonly publicKeyBlob: Uint8Array;
  /** Signs synchronously with `algorithm`, returning the signature blob. */
  signSync(data: Uint8Array, algorithm: string): Uint8Array;
}
