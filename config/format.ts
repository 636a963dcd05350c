/**
 * `formatSSHConfig(resolved)`: the lines `ssh -G` prints for resolved
 * settings, in its order and spelling (multistate values print as OpenSSH's
 * tables do: `controlmaster false`, `updatehostkeys true`, ...).
 *
 * @module
 */

import { fromBytes } from "./_bytes.ts";
import { IPQOS_DEPRECATED_TOS, LOG_LEVELS } from "./_options.ts";
import { DEFAULT_SSH_CONFIG_PROFILE, type SSHConfigProfile } from "./defaults.ts";
import type { ResolvedSSHConfig, SSHConfigForward } from "./resolved.ts";

/** Options of {@link formatSSHConfig}. */
export interface FormatSSHConfigOptions {
  /**
   * The build whose `ssh -G` to imitate: with `gssKex` set the Debian GSSAPI
   * lines are printed; `printsOpenSSH10Keywords` adds OpenSSH 10's lines.
   * Default: this library's profile.
   */
  readonly profile?: SSHConfigProfile | undefined;
}

const yn = (b: boolean) => (b ? "yes" : "no");
const tf = (b: boolean) => (b ? "true" : "false");

/** vis(3) of one byte with VIS_WHITE, as `ssh -G` prints EscapeChar. */
function vis(c: number): string {
  if (c >= 0x21 && c <= 0x7e) return c === 0x5c ? "\\\\" : String.fromCharCode(c);
  if ((c & 0x7f) === 0x20) return "\\" + c.toString(8).padStart(3, "0");
  let out = "\\";
  if (c & 0x80) {
    c &= 0x7f;
    out += "M";
  }
  if (c < 0x20 || c === 0x7f) out += "^" + (c === 0x7f ? "?" : String.fromCharCode(c + 64));
  else out += "-" + String.fromCharCode(c);
  return out;
}

function iptos(v: number, table: readonly (readonly [string, number])[]): string {
  const named = table.find(([, n]) => n === v);
  return named ? named[0] : `0x${v.toString(16).padStart(2, "0")}`;
}

function listen(f: SSHConfigForward): string {
  if (f.listenPath !== undefined) return f.listenPath;
  if (f.listenHost === undefined) return String(f.listenPort ?? 0);
  return `[${f.listenHost}]:${f.listenPort ?? 0}`;
}

function connect(f: SSHConfigForward): string {
  if (f.connectPath !== undefined) return f.connectPath;
  if (f.connectHost === undefined) return String(f.connectPort ?? 0);
  return `[${f.connectHost}]:${f.connectPort ?? 0}`;
}

/**
 * The lines `ssh -G` would print for `c`, each ending in a newline.
 *
 * @example
 * ```ts
 * import { formatSSHConfig, resolveSSHConfig } from "@sshts/ssh";
 * const c = await resolveSSHConfig("db", {
 *   text: "Host db\n  Port 2200\n", homeDir: "/home/me", localUser: "me",
 * });
 * const lines = formatSSHConfig(c).split("\n");
 * console.log(lines[0], lines[3]); // "host db" "port 2200"
 * ```
 */
export function formatSSHConfig(
  c: ResolvedSSHConfig,
  options: FormatSSHConfigOptions = {},
): string {
  const profile = options.profile ?? DEFAULT_SSH_CONFIG_PROFILE;
  const out: string[] = [];
  const line = (k: string, v: string | number) => out.push(`${k} ${v}`);
  const opt = (k: string, v: string | undefined) => {
    if (v !== undefined) line(k, v);
  };
  const list = (k: string, v: readonly string[] | undefined) => {
    if (v !== undefined) line(k, v.join(","));
  };
  const oneLine = (k: string, v: readonly string[]) =>
    out.push(k + (v.length === 0 ? " none" : "") + v.map((s) => " " + s).join(""));

  line("host", c.host);
  line("user", c.user);
  line("hostname", c.hostname);
  line("port", c.port);
  line("addressfamily", c.addressFamily);
  line("batchmode", yn(c.batchMode));
  line("canonicalizefallbacklocal", yn(c.canonicalizeFallbackLocal));
  line(
    "canonicalizehostname",
    c.canonicalizeHostname === "always" ? "always" : tf(c.canonicalizeHostname === "yes"),
  );
  line("checkhostip", yn(c.checkHostIP));
  line("compression", yn(c.compression));
  line(
    "controlmaster",
    c.controlMaster === "yes" || c.controlMaster === "no"
      ? tf(c.controlMaster === "yes")
      : c.controlMaster,
  );
  line("enablesshkeysign", yn(c.enableSSHKeysign));
  line("clearallforwardings", yn(c.clearAllForwardings));
  line("exitonforwardfailure", yn(c.exitOnForwardFailure));
  line("fingerprinthash", c.fingerprintHash);
  line("forwardx11", yn(c.forwardX11));
  line("forwardx11trusted", yn(c.forwardX11Trusted));
  line("gatewayports", yn(c.gatewayPorts));
  if (profile.gssKex) {
    line("gssapiauthentication", yn(c.gssapiAuthentication));
    line("gssapikeyexchange", yn(c.gssapiKeyExchange));
    line("gssapidelegatecredentials", yn(c.gssapiDelegateCredentials));
    line("gssapitrustdns", yn(c.gssapiTrustDns));
    line("gssapirenewalforcesrekey", yn(c.gssapiRenewalForcesRekey));
    opt("gssapiclientidentity", c.gssapiClientIdentity);
    opt("gssapiserveridentity", c.gssapiServerIdentity);
    list("gssapikexalgorithms", c.gssapiKexAlgorithms);
  }
  line("hashknownhosts", yn(c.hashKnownHosts));
  line("hostbasedauthentication", yn(c.hostbasedAuthentication));
  line("identitiesonly", yn(c.identitiesOnly));
  line("kbdinteractiveauthentication", yn(c.kbdInteractiveAuthentication));
  line("nohostauthenticationforlocalhost", yn(c.noHostAuthenticationForLocalhost));
  line("passwordauthentication", yn(c.passwordAuthentication));
  line("permitlocalcommand", yn(c.permitLocalCommand));
  line("proxyusefdpass", yn(c.proxyUseFdpass));
  line(
    "pubkeyauthentication",
    c.pubkeyAuthentication === "yes" || c.pubkeyAuthentication === "no"
      ? tf(c.pubkeyAuthentication === "yes")
      : c.pubkeyAuthentication,
  );
  line(
    "requesttty",
    c.requestTTY === "yes" || c.requestTTY === "no" ? tf(c.requestTTY === "yes") : c.requestTTY,
  );
  line("sessiontype", c.sessionType);
  line("stdinnull", yn(c.stdinNull));
  line("forkafterauthentication", yn(c.forkAfterAuthentication));
  line("streamlocalbindunlink", yn(c.streamLocalBindUnlink));
  line(
    "stricthostkeychecking",
    c.strictHostKeyChecking === "yes" || c.strictHostKeyChecking === "no"
      ? tf(c.strictHostKeyChecking === "yes")
      : c.strictHostKeyChecking,
  );
  line("tcpkeepalive", yn(c.tcpKeepAlive));
  line("tunnel", c.tunnel === "no" ? "false" : c.tunnel);
  line("verifyhostkeydns", c.verifyHostKeyDNS === "ask" ? "ask" : tf(c.verifyHostKeyDNS === "yes"));
  line("visualhostkey", yn(c.visualHostKey));
  line("updatehostkeys", c.updateHostKeys === "ask" ? "ask" : tf(c.updateHostKeys === "yes"));
  line("enableescapecommandline", yn(c.enableEscapeCommandline));
  line("canonicalizemaxdots", c.canonicalizeMaxDots);
  line("connectionattempts", c.connectionAttempts);
  line("forwardx11timeout", c.forwardX11Timeout);
  line("numberofpasswordprompts", c.numberOfPasswordPrompts);
  line("serveralivecountmax", c.serverAliveCountMax);
  line("serveraliveinterval", c.serverAliveInterval);
  line("requiredrsasize", c.requiredRSASize);
  if (profile.printsOpenSSH10Keywords) {
    const t = c.obscureKeystrokeTiming;
    line("obscurekeystroketiming", t === 0 ? "no" : t === 20 ? "yes" : String(t));
  }
  opt("bindaddress", c.bindAddress);
  opt("bindinterface", c.bindInterface);
  list("ciphers", c.ciphers);
  opt("controlpath", c.controlPath);
  list("hostkeyalgorithms", c.hostKeyAlgorithms);
  opt("hostkeyalias", c.hostKeyAlias);
  list("hostbasedacceptedalgorithms", c.hostbasedAcceptedAlgorithms);
  opt("identityagent", c.identityAgent);
  opt("ignoreunknown", c.ignoreUnknown);
  opt("kbdinteractivedevices", c.kbdInteractiveDevices);
  list("kexalgorithms", c.kexAlgorithms);
  list("casignaturealgorithms", c.caSignatureAlgorithms);
  opt("localcommand", c.localCommand);
  opt("remotecommand", c.remoteCommand);
  line(
    "loglevel",
    (profile.logLevels ?? LOG_LEVELS).find(([, l]) => l === c.logLevel)?.[0] ?? c.logLevel,
  );
  list("macs", c.macs);
  opt("pkcs11provider", c.pkcs11Provider);
  opt("securitykeyprovider", c.securityKeyProvider);
  opt("preferredauthentications", c.preferredAuthentications);
  list("pubkeyacceptedalgorithms", c.pubkeyAcceptedAlgorithms);
  opt("revokedhostkeys", c.revokedHostKeys);
  line("xauthlocation", c.xauthLocation);
  opt("knownhostscommand", c.knownHostsCommand);
  if (profile.printsOpenSSH10Keywords) {
    opt("tag", c.tag);
    opt("versionaddendum", c.versionAddendum);
  }
  for (const f of c.dynamicForwards) line("dynamicforward", listen(f));
  for (const f of c.localForwards) line("localforward", `${listen(f)} ${connect(f)}`);
  for (const f of c.remoteForwards) line("remoteforward", `${listen(f)} ${connect(f)}`);
  for (const f of c.identityFiles) line("identityfile", f);
  oneLine("canonicaldomains", c.canonicalDomains);
  for (const f of c.certificateFiles) line("certificatefile", f);
  oneLine("globalknownhostsfile", c.globalKnownHostsFiles);
  oneLine("userknownhostsfile", c.userKnownHostsFiles);
  for (const e of c.sendEnv) line("sendenv", e);
  for (const e of c.setEnv) line("setenv", e);
  oneLine("logverbose", c.logVerbose);
  if (profile.printsOpenSSH10Keywords) oneLine("channeltimeout", c.channelTimeouts);
  if (c.permitRemoteOpen.length === 0) line("permitremoteopen", "any");
  else oneLine("permitremoteopen", c.permitRemoteOpen);
  if (c.addKeysToAgentLifespan <= 0) {
    const a = c.addKeysToAgent;
    line("addkeystoagent", a === "yes" || a === "no" ? tf(a === "yes") : a);
  } else {
    out.push(
      `addkeystoagent${
        c.addKeysToAgent === "confirm" ? " confirm" : ""
      } ${c.addKeysToAgentLifespan}`,
    );
  }
  line("forwardagent", typeof c.forwardAgent === "string" ? c.forwardAgent : yn(c.forwardAgent));
  line("connecttimeout", c.connectTimeout === undefined ? "none" : c.connectTimeout);
  line("tunneldevice", `${c.tunnelDevice.local}:${c.tunnelDevice.remote}`);
  oneLine(
    "canonicalizePermittedcnames",
    c.canonicalizePermittedCNAMEs.map((x) => `${x.source}:${x.target}`),
  );
  line(
    "controlpersist",
    typeof c.controlPersist === "number" ? c.controlPersist : yn(c.controlPersist),
  );
  line("escapechar", c.escapeChar === "none" ? "none" : fromBytes(vis(c.escapeChar)));
  const qos = profile.ipqosNames ?? IPQOS_DEPRECATED_TOS;
  line("ipqos", `${iptos(c.ipqos[0], qos)} ${iptos(c.ipqos[1], qos)}`);
  line("rekeylimit", `${c.rekeyLimit} ${c.rekeyInterval}`);
  line("streamlocalbindmask", "0" + c.streamLocalBindMask.toString(8));
  line("syslogfacility", c.syslogFacility);
  if (c.proxyJump !== undefined) line("proxyjump", c.proxyJump);
  else opt("proxycommand", c.proxyCommand);
  return out.map((l) => l + "\n").join("");
}
