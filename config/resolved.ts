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
  /** The AddressFamily setting. */
  readonly addressFamily: "any" | "inet" | "inet6";
  /** The BatchMode setting. */
  readonly batchMode: boolean;
  /** The CanonicalizeFallbackLocal setting. */
  readonly canonicalizeFallbackLocal: boolean;
  /** The CanonicalizeHostname setting. */
  readonly canonicalizeHostname: "no" | "yes" | "always";
  /** The CheckHostIP setting. */
  readonly checkHostIP: boolean;
  /** The Compression setting. */
  readonly compression: boolean;
  /** The ControlMaster setting. */
  readonly controlMaster: "no" | "yes" | "auto" | "ask" | "autoask";
  /** The EnableSSHKeysign setting. */
  readonly enableSSHKeysign: boolean;
  /** The ClearAllForwardings setting. */
  readonly clearAllForwardings: boolean;
  /** The ExitOnForwardFailure setting. */
  readonly exitOnForwardFailure: boolean;
  /** The FingerprintHash setting. */
  readonly fingerprintHash: string;
  /** The ForwardX11 setting. */
  readonly forwardX11: boolean;
  /** The ForwardX11Trusted setting. */
  readonly forwardX11Trusted: boolean;
  /** The GatewayPorts setting. */
  readonly gatewayPorts: boolean;
  /** The GSSAPIAuthentication setting. */
  readonly gssapiAuthentication: boolean;
  /** The GSSAPIKeyExchange setting. */
  readonly gssapiKeyExchange: boolean;
  /** The GSSAPIDelegateCredentials setting. */
  readonly gssapiDelegateCredentials: boolean;
  /** The GSSAPITrustDns setting. */
  readonly gssapiTrustDns: boolean;
  /** The GSSAPIRenewalForcesRekey setting. */
  readonly gssapiRenewalForcesRekey: boolean;
  /** The GSSAPIClientIdentity setting. */
  readonly gssapiClientIdentity?: string | undefined;
  /** The GSSAPIServerIdentity setting. */
  readonly gssapiServerIdentity?: string | undefined;
  /** The GSSAPIKexAlgorithms setting. */
  readonly gssapiKexAlgorithms?: readonly string[] | undefined;
  /** The HashKnownHosts setting. */
  readonly hashKnownHosts: boolean;
  /** The HostbasedAuthentication setting. */
  readonly hostbasedAuthentication: boolean;
  /** The IdentitiesOnly setting. */
  readonly identitiesOnly: boolean;
  /** The KbdInteractiveAuthentication setting. */
  readonly kbdInteractiveAuthentication: boolean;
  /** The NoHostAuthenticationForLocalhost setting. */
  readonly noHostAuthenticationForLocalhost: boolean;
  /** The PasswordAuthentication setting. */
  readonly passwordAuthentication: boolean;
  /** The PermitLocalCommand setting. */
  readonly permitLocalCommand: boolean;
  /** The ProxyUseFdpass setting. */
  readonly proxyUseFdpass: boolean;
  /** The PubkeyAuthentication setting. */
  readonly pubkeyAuthentication: "no" | "yes" | "unbound" | "host-bound";
  /** The RequestTTY setting. */
  readonly requestTTY: "auto" | "no" | "yes" | "force";
  /** The SessionType setting. */
  readonly sessionType: "none" | "subsystem" | "default";
  /** The StdinNull setting. */
  readonly stdinNull: boolean;
  /** The ForkAfterAuthentication setting. */
  readonly forkAfterAuthentication: boolean;
  /** The StreamLocalBindUnlink setting. */
  readonly streamLocalBindUnlink: boolean;
  /** The StrictHostKeyChecking setting. */
  readonly strictHostKeyChecking: "no" | "accept-new" | "yes" | "ask";
  /** The TCPKeepAlive setting. */
  readonly tcpKeepAlive: boolean;
  /** The Tunnel setting. */
  readonly tunnel: "no" | "point-to-point" | "ethernet";
  /** The VerifyHostKeyDNS setting. */
  readonly verifyHostKeyDNS: "no" | "yes" | "ask";
  /** The VisualHostKey setting. */
  readonly visualHostKey: boolean;
  /** The UpdateHostKeys setting. */
  readonly updateHostKeys: "no" | "yes" | "ask";
  /** The EnableEscapeCommandline setting. */
  readonly enableEscapeCommandline: boolean;
  /** ObscureKeystrokeTiming interval in ms (0 = off). */
  readonly obscureKeystrokeTiming: number;
  /** The CanonicalizeMaxDots setting. */
  readonly canonicalizeMaxDots: number;
  /** The ConnectionAttempts setting. */
  readonly connectionAttempts: number;
  /** Seconds. */
  readonly forwardX11Timeout: number;
  /** The NumberOfPasswordPrompts setting. */
  readonly numberOfPasswordPrompts: number;
  /** The ServerAliveCountMax setting. */
  readonly serverAliveCountMax: number;
  /** Seconds (0 = off). */
  readonly serverAliveInterval: number;
  /** The RequiredRSASize setting. */
  readonly requiredRSASize: number;
  /** The BindAddress setting. */
  readonly bindAddress?: string | undefined;
  /** The BindInterface setting. */
  readonly bindInterface?: string | undefined;
  /**
   * Algorithm lists after `+`/`-`/`^`. Undefined only where OpenSSH leaves a
   * list unset (a list that assembles to nothing stops the remaining lists).
   */
  readonly ciphers?: readonly string[] | undefined;
  /** The ControlPath setting. */
  readonly controlPath?: string | undefined;
  /** The HostKeyAlgorithms setting. */
  readonly hostKeyAlgorithms: readonly string[];
  /** The HostKeyAlias setting. */
  readonly hostKeyAlias?: string | undefined;
  /** The HostbasedAcceptedAlgorithms setting. */
  readonly hostbasedAcceptedAlgorithms?: readonly string[] | undefined;
  /** The IdentityAgent setting. */
  readonly identityAgent?: string | undefined;
  /** The IgnoreUnknown setting. */
  readonly ignoreUnknown?: string | undefined;
  /** The KbdInteractiveDevices setting. */
  readonly kbdInteractiveDevices?: string | undefined;
  /** The KexAlgorithms setting. */
  readonly kexAlgorithms?: readonly string[] | undefined;
  /** The CASignatureAlgorithms setting. */
  readonly caSignatureAlgorithms?: readonly string[] | undefined;
  /** The LocalCommand setting. */
  readonly localCommand?: string | undefined;
  /** The RemoteCommand setting. */
  readonly remoteCommand?: string | undefined;
  /** The LogLevel setting. */
  readonly logLevel: string;
  /** The MACs setting. */
  readonly macs?: readonly string[] | undefined;
  /** The PKCS11Provider setting. */
  readonly pkcs11Provider?: string | undefined;
  /** The SecurityKeyProvider setting. */
  readonly securityKeyProvider?: string | undefined;
  /** The PreferredAuthentications setting. */
  readonly preferredAuthentications?: string | undefined;
  /** The PubkeyAcceptedAlgorithms setting. */
  readonly pubkeyAcceptedAlgorithms?: readonly string[] | undefined;
  /** The RevokedHostKeys setting. */
  readonly revokedHostKeys?: string | undefined;
  /** The XAuthLocation setting. */
  readonly xauthLocation: string;
  /** The KnownHostsCommand setting. */
  readonly knownHostsCommand?: string | undefined;
  /** The Tag setting. */
  readonly tag?: string | undefined;
  /** The VersionAddendum setting. */
  readonly versionAddendum?: string | undefined;
  /** DynamicForward entries (connectHost "socks"). */
  readonly dynamicForwards: readonly SSHConfigForward[];
  /** LocalForward entries. */
  readonly localForwards: readonly SSHConfigForward[];
  /** RemoteForward entries (dynamic ones have connectHost "socks"). */
  readonly remoteForwards: readonly SSHConfigForward[];
  /** The IdentityFile setting. */
  readonly identityFiles: readonly string[];
  /** The CanonicalDomains setting. */
  readonly canonicalDomains: readonly string[];
  /** The CertificateFile setting. */
  readonly certificateFiles: readonly string[];
  /** The GlobalKnownHostsFile setting. */
  readonly globalKnownHostsFiles: readonly string[];
  /** The UserKnownHostsFile setting. */
  readonly userKnownHostsFiles: readonly string[];
  /** The SendEnv setting. */
  readonly sendEnv: readonly string[];
  /** "NAME=value" entries. */
  readonly setEnv: readonly string[];
  /** The LogVerbose setting. */
  readonly logVerbose: readonly string[];
  /** The ChannelTimeout setting. */
  readonly channelTimeouts: readonly string[];
  /** Empty means "any". */
  readonly permitRemoteOpen: readonly string[];
  /** The AddKeysToAgent setting. */
  readonly addKeysToAgent: "no" | "yes" | "ask" | "confirm";
  /** Lifetime of added keys in seconds (0 = unlimited). */
  readonly addKeysToAgentLifespan: number;
  /** true/false, or the agent socket path to forward. */
  readonly forwardAgent: boolean | string;
  /** Seconds; undefined = none. */
  readonly connectTimeout?: number | undefined;
  /** The TunnelDevice setting. */
  readonly tunnelDevice: { readonly local: number | "any"; readonly remote: number | "any" };
  /** The CanonicalizePermittedCNAMEs setting. */
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
  /** The StreamLocalBindMask setting. */
  readonly streamLocalBindMask: number;
  /** The SyslogFacility setting. */
  readonly syslogFacility: string;
  /** ProxyCommand as written (tokens unexpanded); undefined when none or when ProxyJump is used. */
  readonly proxyCommand?: string | undefined;
  /** The ProxyJump chain as `ssh -G` prints it ("[user@]host[:port],..."). */
  readonly proxyJump?: string | undefined;
  /** Token values for expanding IdentityFile, CertificateFile, LocalCommand, ... */
  readonly tokens: SSHConfigTokens;
}
