/**
 * The option state the parser fills, field for field as OpenSSH's `Options`
 * (readconf.h): `undefined` (or -1 where OpenSSH uses -1) means "not set yet",
 * so the first value obtained wins. Values are byte strings.
 *
 * @module
 */

/** PORT_STREAMLOCAL: a forward end that is a UNIX socket path. */
export const PORT_STREAMLOCAL = -2;
/** SSH_TUNID_ANY. */
export const TUNID_ANY = 0x7fffffff;
/** SSH_TUNID_ERR. */
export const TUNID_ERR = TUNID_ANY - 1;
/** SSH_TUNID_MAX. */
export const TUNID_MAX = TUNID_ANY - 2;
/** SSH_ESCAPECHAR_NONE. */
export const ESCAPECHAR_NONE = -2;
/** IPQoS "none" (INT_MAX). */
export const IPQOS_NONE = 2147483647;

/** One forwarding (struct Forward). */
export interface ForwardSpec {
  listenHost: string | undefined;
  listenPort: number;
  listenPath: string | undefined;
  connectHost: string | undefined;
  connectPort: number;
  connectPath: string | undefined;
}

/** A file name with whether a user configuration gave it. */
export interface ProvidedFile {
  readonly path: string;
  readonly userProvided: boolean;
}

/** Mutable option state (struct Options). */
export interface Options {
  hostArg: string;
  forwardAgent: number;
  forwardAgentSockPath: string | undefined;
  forwardX11: number;
  forwardX11Trusted: number;
  forwardX11Timeout: number;
  clearForwardings: number;
  exitOnForwardFailure: number;
  xauthLocation: string | undefined;
  gatewayPorts: number;
  streamLocalBindMask: number;
  streamLocalBindUnlink: number;
  pubkeyAuthentication: number;
  gssAuthentication: number;
  gssDelegCreds: number;
  gssKeyExchange: number;
  gssTrustDns: number;
  gssRenewalRekey: number;
  gssClientIdentity: string | undefined;
  gssServerIdentity: string | undefined;
  gssKexAlgorithms: string | undefined;
  passwordAuthentication: number;
  kbdInteractiveAuthentication: number;
  kbdInteractiveDevices: string | undefined;
  hostbasedAuthentication: number;
  batchMode: number;
  checkHostIP: number;
  strictHostKeyChecking: number;
  compression: number;
  tcpKeepAlive: number;
  port: number;
  addressFamily: number;
  connectionAttempts: number;
  connectionTimeout: number;
  numberOfPasswordPrompts: number;
  ciphers: string | undefined;
  macs: string | undefined;
  kexAlgorithms: string | undefined;
  hostKeyAlgorithms: string | undefined;
  caSignAlgorithms: string | undefined;
  identityFiles: ProvidedFile[];
  certificateFiles: ProvidedFile[];
  hostname: string | undefined;
  hostKeyAlias: string | undefined;
  proxyCommand: string | undefined;
  jumpUser: string | undefined;
  jumpHost: string | undefined;
  jumpPort: number;
  jumpExtra: string | undefined;
  user: string | undefined;
  escapeChar: number;
  systemHostfiles: string[];
  userHostfiles: string[];
  localForwards: ForwardSpec[];
  remoteForwards: ForwardSpec[];
  permittedRemoteOpens: string[];
  logFacility: string | undefined;
  logLevel: string | undefined;
  logVerbose: string[];
  preferredAuthentications: string | undefined;
  bindAddress: string | undefined;
  bindInterface: string | undefined;
  pkcs11Provider: string | undefined;
  skProvider: string | undefined;
  enableSSHKeysign: number;
  noHostAuthenticationForLocalhost: number;
  identitiesOnly: number;
  rekeyLimit: bigint;
  rekeyInterval: number;
  verifyHostKeyDNS: number;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  sendEnv: string[];
  setEnv: string[];
  controlPath: string | undefined;
  controlMaster: number;
  controlPersist: number;
  controlPersistTimeout: number;
  hashKnownHosts: number;
  tunOpen: number;
  tunLocal: number;
  tunRemote: number;
  localCommand: string | undefined;
  permitLocalCommand: number;
  remoteCommand: string | undefined;
  addKeysToAgent: number;
  addKeysToAgentLifespan: number;
  identityAgent: string | undefined;
  visualHostKey: number;
  ipQosInteractive: number;
  ipQosBulk: number;
  requestTTY: number;
  sessionType: number;
  stdinNull: number;
  forkAfterAuthentication: number;
  proxyUseFdpass: number;
  ignoredUnknown: string | undefined;
  canonicalDomains: string[];
  permittedCnames: { source: string; target: string }[];
  canonicalizeMaxDots: number;
  canonicalizeFallbackLocal: number;
  canonicalizeHostname: number;
  revokedHostKeys: string | undefined;
  fingerprintHash: string | undefined;
  updateHostKeys: number;
  hostbasedAcceptedAlgorithms: string | undefined;
  pubkeyAcceptedAlgorithms: string | undefined;
  knownHostsCommand: string | undefined;
  requiredRSASize: number;
  enableEscapeCommandline: number;
  obscureKeystrokeTimingInterval: number;
  tag: string | undefined;
  channelTimeouts: string[];
  versionAddendum: string | undefined;
}

/** initialize_options. */
export function initializeOptions(hostArg: string): Options {
  return {
    hostArg,
    forwardAgent: -1,
    forwardAgentSockPath: undefined,
    forwardX11: -1,
    forwardX11Trusted: -1,
    forwardX11Timeout: -1,
    clearForwardings: -1,
    exitOnForwardFailure: -1,
    xauthLocation: undefined,
    gatewayPorts: -1,
    streamLocalBindMask: -1,
    streamLocalBindUnlink: -1,
    pubkeyAuthentication: -1,
    gssAuthentication: -1,
    gssDelegCreds: -1,
    gssKeyExchange: -1,
    gssTrustDns: -1,
    gssRenewalRekey: -1,
    gssClientIdentity: undefined,
    gssServerIdentity: undefined,
    gssKexAlgorithms: undefined,
    passwordAuthentication: -1,
    kbdInteractiveAuthentication: -1,
    kbdInteractiveDevices: undefined,
    hostbasedAuthentication: -1,
    batchMode: -1,
    checkHostIP: -1,
    strictHostKeyChecking: -1,
    compression: -1,
    tcpKeepAlive: -1,
    port: -1,
    addressFamily: -1,
    connectionAttempts: -1,
    connectionTimeout: -1,
    numberOfPasswordPrompts: -1,
    ciphers: undefined,
    macs: undefined,
    kexAlgorithms: undefined,
    hostKeyAlgorithms: undefined,
    caSignAlgorithms: undefined,
    identityFiles: [],
    certificateFiles: [],
    hostname: undefined,
    hostKeyAlias: undefined,
    proxyCommand: undefined,
    jumpUser: undefined,
    jumpHost: undefined,
    jumpPort: -1,
    jumpExtra: undefined,
    user: undefined,
    escapeChar: -1,
    systemHostfiles: [],
    userHostfiles: [],
    localForwards: [],
    remoteForwards: [],
    permittedRemoteOpens: [],
    logFacility: undefined,
    logLevel: undefined,
    logVerbose: [],
    preferredAuthentications: undefined,
    bindAddress: undefined,
    bindInterface: undefined,
    pkcs11Provider: undefined,
    skProvider: undefined,
    enableSSHKeysign: -1,
    noHostAuthenticationForLocalhost: -1,
    identitiesOnly: -1,
    rekeyLimit: -1n,
    rekeyInterval: -1,
    verifyHostKeyDNS: -1,
    serverAliveInterval: -1,
    serverAliveCountMax: -1,
    sendEnv: [],
    setEnv: [],
    controlPath: undefined,
    controlMaster: -1,
    controlPersist: -1,
    controlPersistTimeout: 0,
    hashKnownHosts: -1,
    tunOpen: -1,
    tunLocal: -1,
    tunRemote: -1,
    localCommand: undefined,
    permitLocalCommand: -1,
    remoteCommand: undefined,
    addKeysToAgent: -1,
    addKeysToAgentLifespan: -1,
    identityAgent: undefined,
    visualHostKey: -1,
    ipQosInteractive: -1,
    ipQosBulk: -1,
    requestTTY: -1,
    sessionType: -1,
    stdinNull: -1,
    forkAfterAuthentication: -1,
    proxyUseFdpass: -1,
    ignoredUnknown: undefined,
    canonicalDomains: [],
    permittedCnames: [],
    canonicalizeMaxDots: -1,
    canonicalizeFallbackLocal: -1,
    canonicalizeHostname: -1,
    revokedHostKeys: undefined,
    fingerprintHash: undefined,
    updateHostKeys: -1,
    hostbasedAcceptedAlgorithms: undefined,
    pubkeyAcceptedAlgorithms: undefined,
    knownHostsCommand: undefined,
    requiredRSASize: -1,
    enableEscapeCommandline: -1,
    obscureKeystrokeTimingInterval: -1,
    tag: undefined,
    channelTimeouts: [],
    versionAddendum: undefined,
  };
}

/** A multistate table: keyword to value, in OpenSSH's order (printing uses the first key of a value). */
export type Multistate = readonly (readonly [string, number])[];

/** multistate_flag. */
export const FLAG: Multistate = [["true", 1], ["false", 0], ["yes", 1], ["no", 0]];
/** multistate_yesnoask. */
export const YESNOASK: Multistate = [...FLAG, ["ask", 2]];
/** Strict host key checking values (SSH_STRICT_HOSTKEY_*). */
export const STRICT_HOSTKEY = { OFF: 0, NEW: 1, YES: 2, ASK: 3 } as const;
/** multistate_strict_hostkey. */
export const STRICT_HOSTKEY_TABLE: Multistate = [
  ["true", STRICT_HOSTKEY.YES],
  ["false", STRICT_HOSTKEY.OFF],
  ["yes", STRICT_HOSTKEY.YES],
  ["no", STRICT_HOSTKEY.OFF],
  ["ask", STRICT_HOSTKEY.ASK],
  ["off", STRICT_HOSTKEY.OFF],
  ["accept-new", STRICT_HOSTKEY.NEW],
];
/** multistate_yesnoaskconfirm. */
export const YESNOASKCONFIRM: Multistate = [...FLAG, ["ask", 2], ["confirm", 3]];
/** Address families (AF_UNSPEC, AF_INET, AF_INET6 as on Linux). */
export const AF = { UNSPEC: 0, INET: 2, INET6: 10 } as const;
/** multistate_addressfamily. */
export const ADDRESSFAMILY: Multistate = [["inet", AF.INET], ["inet6", AF.INET6], [
  "any",
  AF.UNSPEC,
]];
/** multistate_controlmaster. */
export const CONTROLMASTER: Multistate = [
  ["true", 1],
  ["yes", 1],
  ["false", 0],
  ["no", 0],
  ["auto", 2],
  ["ask", 3],
  ["autoask", 4],
];
/** multistate_tunnel (SSH_TUNMODE_*). */
export const TUNNEL: Multistate = [
  ["ethernet", 2],
  ["point-to-point", 1],
  ["true", 1],
  ["yes", 1],
  ["false", 0],
  ["no", 0],
];
/** multistate_requesttty. */
export const REQUESTTTY: Multistate = [
  ["true", 2],
  ["yes", 2],
  ["false", 1],
  ["no", 1],
  ["force", 3],
  ["auto", 0],
];
/** multistate_sessiontype. */
export const SESSIONTYPE: Multistate = [["none", 0], ["subsystem", 1], ["default", 2]];
/** multistate_canonicalizehostname. */
export const CANONICALIZE: Multistate = [
  ["true", 1],
  ["false", 0],
  ["yes", 1],
  ["no", 0],
  ["always", 2],
];
/** multistate_pubkey_auth (SSH_PUBKEY_AUTH_*). */
export const PUBKEYAUTH: Multistate = [
  ["true", 3],
  ["false", 0],
  ["yes", 3],
  ["no", 0],
  ["unbound", 1],
  ["host-bound", 2],
];
/** multistate_compression (yes is COMP_DELAYED in 10.x; printed the same). */
export const COMPRESSION: Multistate = [["yes", 2], ["no", 0]];

/** Case-insensitive lookup; -1 when absent. */
export function multistateValue(arg: string | undefined, table: Multistate): number {
  if (arg === undefined || arg === "") return -1;
  const a = arg.toLowerCase();
  for (const [k, v] of table) if (k === a) return v;
  return -1;
}

/** The first keyword of `value` in `table` (fmt_multistate_int), "UNKNOWN" when absent. */
export function multistateName(value: number, table: Multistate): string {
  for (const [k, v] of table) if (v === value) return k;
  return "UNKNOWN";
}

/**
 * IPQoS names and values (misc.c ipqos[]) of OpenSSH 9.x; OpenSSH 10 builds
 * deprecate the three TOS names (see {@link IPQOS_DEPRECATED_TOS}).
 */
export const IPQOS: readonly (readonly [string, number])[] = [
  ["none", IPQOS_NONE],
  ["af11", 0x28],
  ["af12", 0x30],
  ["af13", 0x38],
  ["af21", 0x48],
  ["af22", 0x50],
  ["af23", 0x58],
  ["af31", 0x68],
  ["af32", 0x70],
  ["af33", 0x78],
  ["af41", 0x88],
  ["af42", 0x90],
  ["af43", 0x98],
  ["cs0", 0x00],
  ["cs1", 0x20],
  ["cs2", 0x40],
  ["cs3", 0x60],
  ["cs4", 0x80],
  ["cs5", 0xa0],
  ["cs6", 0xc0],
  ["cs7", 0xe0],
  ["ef", 0xb8],
  ["le", 0x01],
  ["lowdelay", 0x10],
  ["throughput", 0x08],
  ["reliability", 0x04],
];

/** The IPQoS table of builds that deprecate lowdelay, throughput and reliability (they mean none). */
export const IPQOS_DEPRECATED_TOS: readonly (readonly [string, number])[] = IPQOS.map((
  [n, v],
) => [n, n === "lowdelay" || n === "throughput" || n === "reliability" ? IPQOS_NONE : v] as const);

/** Syslog facility names (log.c), in order. */
export const LOG_FACILITIES: readonly string[] = [
  "DAEMON",
  "USER",
  "AUTH",
  "AUTHPRIV",
  "LOCAL0",
  "LOCAL1",
  "LOCAL2",
  "LOCAL3",
  "LOCAL4",
  "LOCAL5",
  "LOCAL6",
  "LOCAL7",
];

/** Log level names (log.c) and the level each stands for. */
export const LOG_LEVELS: readonly (readonly [string, string])[] = [
  ["QUIET", "QUIET"],
  ["FATAL", "FATAL"],
  ["ERROR", "ERROR"],
  ["INFO", "INFO"],
  ["VERBOSE", "VERBOSE"],
  ["DEBUG", "DEBUG"],
  ["DEBUG1", "DEBUG"],
  ["DEBUG2", "DEBUG2"],
  ["DEBUG3", "DEBUG3"],
];

/** Digest names FingerprintHash takes (any digest OpenSSH knows). */
export const DIGESTS: readonly string[] = ["MD5", "SHA1", "SHA256", "SHA384", "SHA512"];
