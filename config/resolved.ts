/**
 * The result of resolving `ssh_config` for one host: every setting `ssh -G`
 * prints, typed. Tokens are expanded exactly where OpenSSH 10's `ssh -G`
 * expands them (ControlPath, IdentityAgent, UserKnownHostsFile,
 * RevokedHostKeys, RemoteCommand, SetEnv values, User, VersionAddendum and
 * UNIX-socket forward paths); IdentityFile, CertificateFile, ProxyCommand,
 * LocalCommand and KnownHostsCommand stay as written, with {@link
 * ResolvedSSHConfig.tokens} to expand them at the point of use.
 *
 * @module
 */

/** One port forwarding. A UNIX-socket end has a path instead of a host and port. */
export interface SSHConfigForward {
  /** Address to listen on; undefined for the default. */
  readonly listenHost?: string | undefined;
  /** Port to listen on (0 lets the server choose, for RemoteForward). */
  readonly listenPort?: number | undefined;
  /** UNIX socket to listen on. */
  readonly listenPath?: string | undefined;
  /** Host to connect to ("socks" for a dynamic forward). */
  readonly connectHost?: string | undefined;
  /** Port to connect to. */
  readonly connectPort?: number | undefined;
  /** UNIX socket to connect to. */
  readonly connectPath?: string | undefined;
}

/** Values of `%` tokens for this connection (OpenSSH's `ssh_conn_info`). */
export interface SSHConfigTokens {
  /** %C: hash of %l%h%p%r%j. */
  readonly C: string;
  /** %L: local host name up to the first dot. */
  readonly L: string;
  /** %i: local user id. */
  readonly i: string;
  /** %k: HostKeyAlias, or the host as given. */
  readonly k: string;
  /** %l: local host name. */
  readonly l: string;
  /** %n: the host as given. */
  readonly n: string;
  /** %p: remote port. */
  readonly p: string;
  /** %d: local home directory. */
  readonly d: string;
  /** %h: remote host name (after HostName and canonicalisation). */
  readonly h: string;
  /** %u: local user name. */
  readonly u: string;
  /** %j: the ProxyJump host, or "". */
  readonly j: string;
  /** %r: remote user name. */
  readonly r: string;
}

/** Resolved client settings for one host. Field names follow the keywords. */
export interface ResolvedSSHConfig {
  /** The host as given (`ssh -G` prints it as `host`). */
  readonly host: string;
  /** The host name connected to (HostName, `%h` expanded, lower-cased or canonicalised). */
  readonly hostname: string;
  /** Remote user. */
  readonly user: string;
  /** Remote port. */
  readonly port: number;
  readonly addressFamily: "any" | "inet" | "inet6";
  readonly batchMode: boolean;
  readonly canonicalizeFallbackLocal: boolean;
  readonly canonicalizeHostname: "no" | "yes" | "always";
  readonly checkHostIP: boolean;
  readonly compression: boolean;
  readonly controlMaster: "no" | "yes" | "auto" | "ask" | "autoask";
  readonly enableSSHKeysign: boolean;
  readonly clearAllForwardings: boolean;
  readonly exitOnForwardFailure: boolean;
  readonly fingerprintHash: string;
  readonly forwardX11: boolean;
  readonly forwardX11Trusted: boolean;
  readonly gatewayPorts: boolean;
  readonly gssapiAuthentication: boolean;
  readonly gssapiKeyExchange: boolean;
  readonly gssapiDelegateCredentials: boolean;
  readonly gssapiTrustDns: boolean;
  readonly gssapiRenewalForcesRekey: boolean;
  readonly gssapiClientIdentity?: string | undefined;
  readonly gssapiServerIdentity?: string | undefined;
  readonly gssapiKexAlgorithms?: readonly string[] | undefined;
  readonly hashKnownHosts: boolean;
  readonly hostbasedAuthentication: boolean;
  readonly identitiesOnly: boolean;
  readonly kbdInteractiveAuthentication: boolean;
  readonly noHostAuthenticationForLocalhost: boolean;
  readonly passwordAuthentication: boolean;
  readonly permitLocalCommand: boolean;
  readonly proxyUseFdpass: boolean;
  readonly pubkeyAuthentication: "no" | "yes" | "unbound" | "host-bound";
  readonly requestTTY: "auto" | "no" | "yes" | "force";
  readonly sessionType: "none" | "subsystem" | "default";
  readonly stdinNull: boolean;
  readonly forkAfterAuthentication: boolean;
  readonly streamLocalBindUnlink: boolean;
  readonly strictHostKeyChecking: "no" | "accept-new" | "yes" | "ask";
  readonly tcpKeepAlive: boolean;
  readonly tunnel: "no" | "point-to-point" | "ethernet";
  readonly verifyHostKeyDNS: "no" | "yes" | "ask";
  readonly visualHostKey: boolean;
  readonly updateHostKeys: "no" | "yes" | "ask";
  readonly enableEscapeCommandline: boolean;
  /** ObscureKeystrokeTiming interval in ms (0 = off). */
  readonly obscureKeystrokeTiming: number;
  readonly canonicalizeMaxDots: number;
  readonly connectionAttempts: number;
  /** Seconds. */
  readonly forwardX11Timeout: number;
  readonly numberOfPasswordPrompts: number;
  readonly serverAliveCountMax: number;
  /** Seconds (0 = off). */
  readonly serverAliveInterval: number;
  readonly requiredRSASize: number;
  readonly bindAddress?: string | undefined;
  readonly bindInterface?: string | undefined;
  /**
   * Algorithm lists after `+`/`-`/`^`. Undefined only where OpenSSH leaves a
   * list unset (a list that assembles to nothing stops the remaining lists).
   */
  readonly ciphers?: readonly string[] | undefined;
  readonly controlPath?: string | undefined;
  readonly hostKeyAlgorithms: readonly string[];
  readonly hostKeyAlias?: string | undefined;
  readonly hostbasedAcceptedAlgorithms?: readonly string[] | undefined;
  readonly identityAgent?: string | undefined;
  readonly ignoreUnknown?: string | undefined;
  readonly kbdInteractiveDevices?: string | undefined;
  readonly kexAlgorithms?: readonly string[] | undefined;
  readonly caSignatureAlgorithms?: readonly string[] | undefined;
  readonly localCommand?: string | undefined;
  readonly remoteCommand?: string | undefined;
  readonly logLevel: string;
  readonly macs?: readonly string[] | undefined;
  readonly pkcs11Provider?: string | undefined;
  readonly securityKeyProvider?: string | undefined;
  readonly preferredAuthentications?: string | undefined;
  readonly pubkeyAcceptedAlgorithms?: readonly string[] | undefined;
  readonly revokedHostKeys?: string | undefined;
  readonly xauthLocation: string;
  readonly knownHostsCommand?: string | undefined;
  readonly tag?: string | undefined;
  readonly versionAddendum?: string | undefined;
  /** DynamicForward entries (connectHost "socks"). */
  readonly dynamicForwards: readonly SSHConfigForward[];
  /** LocalForward entries. */
  readonly localForwards: readonly SSHConfigForward[];
  /** RemoteForward entries (dynamic ones have connectHost "socks"). */
  readonly remoteForwards: readonly SSHConfigForward[];
  readonly identityFiles: readonly string[];
  readonly canonicalDomains: readonly string[];
  readonly certificateFiles: readonly string[];
  readonly globalKnownHostsFiles: readonly string[];
  readonly userKnownHostsFiles: readonly string[];
  readonly sendEnv: readonly string[];
  /** "NAME=value" entries. */
  readonly setEnv: readonly string[];
  readonly logVerbose: readonly string[];
  readonly channelTimeouts: readonly string[];
  /** Empty means "any". */
  readonly permitRemoteOpen: readonly string[];
  readonly addKeysToAgent: "no" | "yes" | "ask" | "confirm";
  /** Lifetime of added keys in seconds (0 = unlimited). */
  readonly addKeysToAgentLifespan: number;
  /** true/false, or the agent socket path to forward. */
  readonly forwardAgent: boolean | string;
  /** Seconds; undefined = none. */
  readonly connectTimeout?: number | undefined;
  readonly tunnelDevice: { readonly local: number | "any"; readonly remote: number | "any" };
  readonly canonicalizePermittedCNAMEs: readonly {
    readonly source: string;
    readonly target: string;
  }[];
  /** false, true (persist until killed), or seconds. */
  readonly controlPersist: boolean | number;
  /** The escape byte, or "none". */
  readonly escapeChar: number | "none";
  /** IPQoS [interactive, bulk] as DSCP/TOS numbers (2147483647 = none). */
  readonly ipqos: readonly [number, number];
  /** Bytes (0 = default). */
  readonly rekeyLimit: bigint;
  /** Seconds (0 = none). */
  readonly rekeyInterval: number;
  readonly streamLocalBindMask: number;
  readonly syslogFacility: string;
  /** ProxyCommand as written (tokens unexpanded); undefined when none or when ProxyJump is used. */
  readonly proxyCommand?: string | undefined;
  /** The ProxyJump chain as `ssh -G` prints it ("[user@]host[:port],..."). */
  readonly proxyJump?: string | undefined;
  /** Token values for expanding IdentityFile, CertificateFile, LocalCommand, ... */
  readonly tokens: SSHConfigTokens;
}
