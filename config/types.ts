/**
 * What `ssh_config` resolution needs from the outside world. `config/` does no
 * I/O itself: files, directories, the environment, DNS, network interfaces and
 * `Match exec` come through this interface (`resolveSSHConfig` from
 * "@sshts/ssh" provides the real ones; tests provide fakes).
 *
 * @module
 */

/** Owner and mode of a file, for OpenSSH's permission check on user configuration files. */
export interface SSHConfigFileStat {
  /** Owner's user id. */
  readonly uid: number;
  /** Permission bits (e.g. 0o644). */
  readonly mode: number;
}

/** Result of a host name lookup for canonicalisation. */
export interface SSHConfigLookupResult {
  /** The canonical name the resolver reports (getaddrinfo's AI_CANONNAME), if any. */
  readonly canonicalName?: string | undefined;
}

/**
 * The outside world, as resolution sees it. Every member is optional; a missing
 * one behaves as "nothing there" (no file, no directory entries, no address,
 * `Match exec` fails).
 */
export interface SSHConfigSystem {
  /**
   * Reads a file: its bytes or text, `undefined` when it does not exist (a
   * directory reads as empty, as `fopen` + `getline` do on Linux). Throw for
   * other errors (they become `ERR_CONFIG_FILE`).
   */
  readFile?(path: string): Promise<Uint8Array | string | undefined>;
  /** Lists a directory's entry names, `undefined` when it is not a directory (for `Include` globs). */
  readDir?(path: string): Promise<readonly string[] | undefined>;
  /** Owner and mode of a file, for the permission check OpenSSH applies to user files. */
  stat?(path: string): Promise<SSHConfigFileStat | undefined>;
  /**
   * Runs a `Match exec` command with the user's shell; resolves to its exit
   * status, or -1 when it did not exit normally (OpenSSH then refuses the
   * configuration).
   */
  exec?(command: string): Promise<number>;
  /** Resolves a host name for canonicalisation; `undefined` when it does not resolve. */
  lookupHost?(
    name: string,
    family: "any" | "inet" | "inet6",
  ): Promise<SSHConfigLookupResult | undefined>;
  /** Addresses of the local interfaces that are up, for `Match localnetwork`. */
  localAddresses?(): Promise<readonly string[]>;
  /** A service name's TCP port (getservbyname), for `Port ssh` and forwarding specs. */
  servicePort?(name: string): number | undefined;
  /** Another user's home directory (getpwnam), for `~user`. */
  userHome?(user: string): string | undefined;
}
