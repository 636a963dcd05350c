/**
 * The keyword table of OpenSSH 10's `readconf.c` (plus the GSSAPI keywords of
 * Debian's build, which its `ssh_config(5)` documents): lower-case keyword to
 * the option it sets. Aliases map to the same option.
 *
 * @module
 */

/** Every option a keyword can set, plus the pseudo-options. */
export type Opcode =
  | "ignore"
  | "deprecated"
  | "unsupported"
  | "host"
  | "match"
  | "include"
  | "tag"
  | "forwardagent"
  | "forwardx11"
  | "forwardx11trusted"
  | "forwardx11timeout"
  | "exitonforwardfailure"
  | "xauthlocation"
  | "gatewayports"
  | "passwordauthentication"
  | "kbdinteractiveauthentication"
  | "kbdinteractivedevices"
  | "pubkeyauthentication"
  | "hostbasedauthentication"
  | "gssapiauthentication"
  | "gssapidelegatecredentials"
  | "gssapikeyexchange"
  | "gssapitrustdns"
  | "gssapirenewalforcesrekey"
  | "gssapiclientidentity"
  | "gssapiserveridentity"
  | "gssapikexalgorithms"
  | "pkcs11provider"
  | "identityfile"
  | "identitiesonly"
  | "certificatefile"
  | "addkeystoagent"
  | "identityagent"
  | "hostname"
  | "hostkeyalias"
  | "proxycommand"
  | "port"
  | "ciphers"
  | "macs"
  | "remoteforward"
  | "localforward"
  | "permitremoteopen"
  | "user"
  | "escapechar"
  | "globalknownhostsfile"
  | "userknownhostsfile"
  | "connectionattempts"
  | "batchmode"
  | "checkhostip"
  | "stricthostkeychecking"
  | "compression"
  | "tcpkeepalive"
  | "numberofpasswordprompts"
  | "syslogfacility"
  | "loglevel"
  | "logverbose"
  | "dynamicforward"
  | "preferredauthentications"
  | "hostkeyalgorithms"
  | "casignaturealgorithms"
  | "bindaddress"
  | "bindinterface"
  | "clearallforwardings"
  | "enablesshkeysign"
  | "verifyhostkeydns"
  | "nohostauthenticationforlocalhost"
  | "rekeylimit"
  | "connecttimeout"
  | "addressfamily"
  | "serveraliveinterval"
  | "serveralivecountmax"
  | "sendenv"
  | "setenv"
  | "controlpath"
  | "controlmaster"
  | "controlpersist"
  | "hashknownhosts"
  | "tunnel"
  | "tunneldevice"
  | "localcommand"
  | "permitlocalcommand"
  | "remotecommand"
  | "visualhostkey"
  | "kexalgorithms"
  | "ipqos"
  | "requesttty"
  | "sessiontype"
  | "stdinnull"
  | "forkafterauthentication"
  | "proxyusefdpass"
  | "canonicaldomains"
  | "canonicalizefallbacklocal"
  | "canonicalizehostname"
  | "canonicalizemaxdots"
  | "canonicalizepermittedcnames"
  | "streamlocalbindmask"
  | "streamlocalbindunlink"
  | "revokedhostkeys"
  | "fingerprinthash"
  | "updatehostkeys"
  | "hostbasedacceptedalgorithms"
  | "pubkeyacceptedalgorithms"
  | "ignoreunknown"
  | "proxyjump"
  | "securitykeyprovider"
  | "knownhostscommand"
  | "requiredrsasize"
  | "enableescapecommandline"
  | "obscurekeystroketiming"
  | "channeltimeout"
  | "versionaddendum";

const ALIASES: Readonly<Record<string, Opcode>> = {
  protocol: "ignore",
  // Apple's ssh reads this (keychain passphrases); accepting it keeps macOS users' configs working.
  usekeychain: "ignore",
  cipher: "deprecated",
  fallbacktorsh: "deprecated",
  globalknownhostsfile2: "deprecated",
  rhostsauthentication: "deprecated",
  userknownhostsfile2: "deprecated",
  useroaming: "deprecated",
  usersh: "deprecated",
  useprivilegedport: "deprecated",
  afstokenpassing: "unsupported",
  kerberosauthentication: "unsupported",
  kerberostgtpassing: "unsupported",
  rsaauthentication: "unsupported",
  rhostsrsaauthentication: "unsupported",
  compressionlevel: "unsupported",
  smartcarddevice: "pkcs11provider",
  challengeresponseauthentication: "kbdinteractiveauthentication",
  skeyauthentication: "kbdinteractiveauthentication",
  tisauthentication: "kbdinteractiveauthentication",
  dsaauthentication: "pubkeyauthentication",
  identityfile2: "identityfile",
  keepalive: "tcpkeepalive",
  hostbasedkeytypes: "hostbasedacceptedalgorithms",
  pubkeyacceptedkeytypes: "pubkeyacceptedalgorithms",
};

const DIRECT: readonly Opcode[] = [
  "host",
  "match",
  "include",
  "tag",
  "forwardagent",
  "forwardx11",
  "forwardx11trusted",
  "forwardx11timeout",
  "exitonforwardfailure",
  "xauthlocation",
  "gatewayports",
  "passwordauthentication",
  "kbdinteractiveauthentication",
  "kbdinteractivedevices",
  "pubkeyauthentication",
  "hostbasedauthentication",
  "gssapiauthentication",
  "gssapidelegatecredentials",
  "gssapikeyexchange",
  "gssapitrustdns",
  "gssapirenewalforcesrekey",
  "gssapiclientidentity",
  "gssapiserveridentity",
  "gssapikexalgorithms",
  "pkcs11provider",
  "identityfile",
  "identitiesonly",
  "certificatefile",
  "addkeystoagent",
  "identityagent",
  "hostname",
  "hostkeyalias",
  "proxycommand",
  "port",
  "ciphers",
  "macs",
  "remoteforward",
  "localforward",
  "permitremoteopen",
  "user",
  "escapechar",
  "globalknownhostsfile",
  "userknownhostsfile",
  "connectionattempts",
  "batchmode",
  "checkhostip",
  "stricthostkeychecking",
  "compression",
  "tcpkeepalive",
  "numberofpasswordprompts",
  "syslogfacility",
  "loglevel",
  "logverbose",
  "dynamicforward",
  "preferredauthentications",
  "hostkeyalgorithms",
  "casignaturealgorithms",
  "bindaddress",
  "bindinterface",
  "clearallforwardings",
  "enablesshkeysign",
  "verifyhostkeydns",
  "nohostauthenticationforlocalhost",
  "rekeylimit",
  "connecttimeout",
  "addressfamily",
  "serveraliveinterval",
  "serveralivecountmax",
  "sendenv",
  "setenv",
  "controlpath",
  "controlmaster",
  "controlpersist",
  "hashknownhosts",
  "tunnel",
  "tunneldevice",
  "localcommand",
  "permitlocalcommand",
  "remotecommand",
  "visualhostkey",
  "kexalgorithms",
  "ipqos",
  "requesttty",
  "sessiontype",
  "stdinnull",
  "forkafterauthentication",
  "proxyusefdpass",
  "canonicaldomains",
  "canonicalizefallbacklocal",
  "canonicalizehostname",
  "canonicalizemaxdots",
  "canonicalizepermittedcnames",
  "streamlocalbindmask",
  "streamlocalbindunlink",
  "revokedhostkeys",
  "fingerprinthash",
  "updatehostkeys",
  "hostbasedacceptedalgorithms",
  "pubkeyacceptedalgorithms",
  "ignoreunknown",
  "proxyjump",
  "securitykeyprovider",
  "knownhostscommand",
  "requiredrsasize",
  "enableescapecommandline",
  "obscurekeystroketiming",
  "channeltimeout",
  "versionaddendum",
];

const TABLE: ReadonlyMap<string, Opcode> = new Map<string, Opcode>([
  ...Object.entries(ALIASES),
  ...DIRECT.map((k) => [k, k] as [string, Opcode]),
]);

/** The option a lower-case keyword sets, or undefined for an unknown keyword. */
export function lookupKeyword(keyword: string): Opcode | undefined {
  return TABLE.get(keyword);
}

/**
 * Every keyword this parser knows (lower case, aliases included).
 *
 * @example
 * ```ts
 * import { knownKeywords } from "./_keywords.ts";
 * console.log(knownKeywords().includes("proxyjump")); // true
 * ```
 */
export function knownKeywords(): string[] {
  return [...TABLE.keys()];
}
