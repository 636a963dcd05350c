/**
 * Seeded random `ssh_config` files for the `ssh -G` oracle: blocks of `Host`
 * and `Match` lines with random patterns and criteria, keyword lines with
 * valid and (sometimes) invalid values, tokens, `${ENV}`, algorithm list
 * modifiers, forwardings, `Include` files with globs, and host arguments with
 * `user@`, `-l`, `-p` and `-o`. A case that uses OpenSSH 10-only syntax is
 * marked `v10`.
 *
 * @module
 */

import type { OracleCase } from "./ssh_config_oracle_util.ts";

/** A small, fast, seeded PRNG (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One element. */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

const HOSTS = [
  "web1",
  "web2",
  "web10",
  "db.example.com",
  "db2.example.com",
  "api.internal",
  "bastion",
  "Mixed.Case",
  "10.0.0.7",
  "host-a",
  "h",
  "x.y.z",
];
const PATTERNS = [
  "*",
  "web*",
  "web?",
  "web??",
  "*.example.com",
  "db*",
  "!db2*",
  "!web1",
  "bastion",
  "*.internal",
  "10.0.0.*",
  "h",
  "host-?",
  "*x*",
  "Mixed.Case",
  "mixed.case",
  "x.y.*",
  "?",
];
const USERS = ["root", "alice", "bob", "deploy", "ops"];

interface Ctx {
  readonly r: Rng;
  v10: boolean;
  files: Record<string, string>;
  includes: number;
}

type Gen = (c: Ctx) => string;

const pick = <T>(c: Ctx, a: readonly T[]) => c.r.pick(a);
const yesno = (c: Ctx) => pick(c, ["yes", "no", "true", "false", "Yes", "NO"]);
const time = (c: Ctx) =>
  c.r.chance(0.02)
    ? "3x"
    : pick(c, ["0", "5", "30", "1m", "90s", "1h30m", "2d", "1w", "10M", "none", "0s"]);
const tokenPath = (c: Ctx) =>
  pick(c, [
    "/tmp/%h",
    "~/.ssh/cm-%C",
    "%d/sock-%r@%h:%p",
    "/tmp/${ORACLE_A}-%u",
    "~/x/%l-%L-%n-%i",
    "/tmp/%k",
    "/tmp/%%-%h",
    "/tmp/plain",
    "/tmp/${ORACLE_E}e",
  ]);

function algo(c: Ctx, names: readonly string[], wildcardsAnywhere = false): string {
  const mod = pick(c, ["", "", "+", "-", "^"]);
  // Ciphers, MACs and kex names take patterns only after "-" (OpenSSH validates the rest).
  const usable = mod === "-" || wildcardsAnywhere || c.r.chance(0.03)
    ? names
    : names.filter((n) => !n.includes("*"));
  const n = 1 + c.r.int(3);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(pick(c, usable));
  return mod + parts.join(",");
}

const CIPHERS = [
  "aes128-ctr",
  "aes256-ctr",
  "aes128-gcm@openssh.com",
  "chacha20-poly1305@openssh.com",
  "aes128-cbc",
  "aes*",
  "*-ctr",
  "3des-cbc",
];
const MACS = [
  "hmac-sha2-256",
  "hmac-sha2-512",
  "hmac-sha1",
  "umac-64@openssh.com",
  "hmac-sha2-256-etm@openssh.com",
  "hmac-*",
  "*etm*",
  "hmac-md5",
];
const KEX = [
  "curve25519-sha256",
  "diffie-hellman-group14-sha256",
  "ecdh-sha2-nistp256",
  "sntrup761x25519-sha512@openssh.com",
  "diffie-hellman-group1-sha1",
  "ecdh-*",
  "diffie-hellman-*",
];
const KEYS = [
  "ssh-ed25519",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ssh-ed25519-cert-v01@openssh.com",
  "*-cert-v01@openssh.com",
  "ecdsa-*",
  "sk-*",
];
const SIGS = ["ssh-ed25519", "rsa-sha2-512", "ecdsa-sha2-nistp384", "ssh-rsa", "ecdsa-*"];

function forward(c: Ctx, kind: "local" | "remote" | "dynamic"): string {
  const port = () => String(c.r.chance(0.03) ? 0 : pick(c, [8080, 9000, 1080, 2222, 65535]));
  const listen = () =>
    pick(c, [
      port(),
      port(),
      `127.0.0.1:${port()}`,
      `[::1]:${port()}`,
      `*:${port()}`,
      "/tmp/l-%h.sock",
    ]);
  const target = () =>
    pick(c, [`localhost:${port()}`, `db:5432`, `[2001:db8::1]:443`, "/tmp/t-%r.sock", `host:ssh`]);
  if (kind === "dynamic") return listen();
  if (kind === "remote" && c.r.chance(0.2)) return listen();
  return `${listen()} ${target()}`;
}

/** Keyword generators: [keyword, value generator, OpenSSH 10 only?]. */
const KEYWORDS: readonly (readonly [string, Gen, boolean?])[] = [
  ["User", (c) => pick(c, USERS)],
  [
    "HostName",
    (c) =>
      pick(c, ["%h.example.net", "real-%h", "10.1.2.3", "127.1", "::0001", "UPPER.example", "%h"]),
  ],
  [
    "Port",
    (
      c,
    ) => (c.r.chance(0.03)
      ? pick(c, ["0", "70000"])
      : pick(c, ["22", "2222", "65535", "ssh", "2200"])),
  ],
  ["IdentityFile", (c) => pick(c, ["~/.ssh/id_%h", "~/.ssh/id_ed25519", "/keys/%r", "%d/.ssh/k"])],
  ["CertificateFile", (c) => pick(c, ["~/.ssh/c-%h.pub", "/certs/x"])],
  ["IdentitiesOnly", yesno],
  [
    "IdentityAgent",
    (c) => pick(c, ["none", "SSH_AUTH_SOCK", "~/.agent-%h", "${ORACLE_B}/a", "$ORACLE_A"]),
  ],
  ["ControlPath", tokenPath],
  ["ControlMaster", (c) => pick(c, ["auto", "yes", "no", "ask", "autoask"])],
  ["ControlPersist", (c) => pick(c, ["yes", "no", "10m", "0", "1h"])],
  ["ProxyCommand", (c) => pick(c, ["nc %h %p", "ssh -W %h:%p jump", "none", "socat - TCP:%h:%p"])],
  [
    "ProxyJump",
    (c) => pick(c, ["jump", "ops@jump:2222", "a,b", "none", "ssh://j@k:22", "[::1]:22"]),
  ],
  [
    "UserKnownHostsFile",
    (c) => pick(c, ["~/.ssh/kh-%h", "/tmp/kh %d/kh2", "none", "~/.ssh/known_hosts"]),
  ],
  ["GlobalKnownHostsFile", (c) => pick(c, ["/etc/kh", "/etc/a /etc/b", "none"])],
  ["StrictHostKeyChecking", (c) => pick(c, ["yes", "no", "ask", "accept-new", "off"])],
  ["HostKeyAlias", (c) => pick(c, ["alias-%h", "Alias", "x"])],
  ["CheckHostIP", yesno],
  ["Ciphers", (c) => algo(c, CIPHERS)],
  ["MACs", (c) => algo(c, MACS)],
  ["KexAlgorithms", (c) => algo(c, KEX)],
  ["HostKeyAlgorithms", (c) => algo(c, KEYS, true)],
  ["PubkeyAcceptedAlgorithms", (c) => algo(c, KEYS, true)],
  ["HostbasedAcceptedAlgorithms", (c) => algo(c, KEYS, true)],
  ["CASignatureAlgorithms", (c) => algo(c, SIGS, true)],
  ["Compression", (c) => pick(c, ["yes", "no", "Yes"])],
  ["ConnectTimeout", time],
  ["ServerAliveInterval", time],
  ["ServerAliveCountMax", (c) => pick(c, ["0", "3", "10"])],
  ["RekeyLimit", (c) => pick(c, ["1G", "500M 1h", "default none", "64K 30m", "0", "1.5G 2h"])],
  ["ForwardAgent", (c) => pick(c, ["yes", "no", "${ORACLE_B}"])],
  ["LocalForward", (c) => forward(c, "local")],
  ["RemoteForward", (c) => forward(c, "remote")],
  ["DynamicForward", (c) => forward(c, "dynamic")],
  ["ClearAllForwardings", yesno],
  ["ExitOnForwardFailure", yesno],
  ["GatewayPorts", yesno],
  ["SendEnv", (c) => pick(c, ["LANG LC_*", "-LC_*", "FOO", "-*", "BAR BAZ"])],
  ["SetEnv", (c) => pick(c, ["A=1", "B=2 C=3", "A=4", "D=x"])],
  ["PreferredAuthentications", (c) => pick(c, ["publickey", "password,keyboard-interactive"])],
  ["PasswordAuthentication", yesno],
  ["KbdInteractiveAuthentication", yesno],
  ["PubkeyAuthentication", (c) => pick(c, ["yes", "no", "unbound", "host-bound"])],
  ["HostbasedAuthentication", yesno],
  ["NumberOfPasswordPrompts", (c) => pick(c, ["1", "3", "0"])],
  ["BatchMode", yesno],
  ["AddressFamily", (c) => pick(c, ["any", "inet", "inet6"])],
  ["BindAddress", (c) => pick(c, ["127.0.0.1", "::1"])],
  ["ForwardX11", yesno],
  ["ForwardX11Trusted", yesno],
  ["ForwardX11Timeout", time],
  ["LogLevel", (c) => pick(c, ["INFO", "DEBUG", "VERBOSE", "ERROR", "QUIET", "DEBUG3"])],
  ["SyslogFacility", (c) => pick(c, ["USER", "AUTH", "LOCAL0"])],
  ["RequestTTY", (c) => pick(c, ["auto", "yes", "no", "force"])],
  ["SessionType", (c) => pick(c, ["default", "none", "subsystem"])],
  ["RemoteCommand", (c) => pick(c, ["uptime", "echo %h %r", "none"])],
  ["LocalCommand", (c) => pick(c, ["echo %h", "none"])],
  ["PermitLocalCommand", yesno],
  ["EscapeChar", (c) => pick(c, ["~", "^A", "none", "%"])],
  ["IPQoS", (c) => pick(c, ["af21 cs1", "lowdelay", "none", "ef", "16 8"])],
  ["TCPKeepAlive", yesno],
  ["UpdateHostKeys", (c) => pick(c, ["yes", "no", "ask"])],
  ["VerifyHostKeyDNS", (c) => pick(c, ["yes", "no", "ask"])],
  ["VisualHostKey", yesno],
  ["HashKnownHosts", yesno],
  ["CanonicalizeHostname", (c) => pick(c, ["no", "no", "yes", "always"])],
  ["CanonicalDomains", (c) => pick(c, ["nonexistent.invalid", "a.invalid b.invalid"])],
  ["CanonicalizeMaxDots", (c) => pick(c, ["0", "1", "2"])],
  ["CanonicalizeFallbackLocal", (c) => pick(c, ["yes", "yes", "no"])],
  ["FingerprintHash", (c) => pick(c, ["md5", "sha256"])],
  ["ConnectionAttempts", (c) => (c.r.chance(0.05) ? "0" : pick(c, ["1", "3"]))],
  ["AddKeysToAgent", (c) => pick(c, ["yes", "no", "ask", "confirm", "1h", "confirm 5m"])],
  ["StreamLocalBindMask", (c) => pick(c, ["0177", "0022", "077"])],
  ["StreamLocalBindUnlink", yesno],
  ["PermitRemoteOpen", (c) => pick(c, ["any", "none", "host:22", "a:1 b:*"])],
  ["TunnelDevice", (c) => pick(c, ["any:any", "1:2", "3"])],
  ["Tunnel", (c) => pick(c, ["yes", "no", "ethernet", "point-to-point"])],
  ["KnownHostsCommand", (c) => pick(c, ["/bin/kh %h", "none"])],
  ["RequiredRSASize", (c) => pick(c, ["1024", "2048"])],
  ["EnableEscapeCommandline", yesno],
  ["NoHostAuthenticationForLocalhost", yesno],
  ["ForkAfterAuthentication", yesno],
  ["StdinNull", yesno],
  ["LogVerbose", (c) => pick(c, ["kex.c:*", "none"])],
  ["GSSAPIAuthentication", yesno],
  ["GSSAPIDelegateCredentials", yesno],
  ["RevokedHostKeys", () => "/etc/ssh/revoked"],
  ["Tag", (c) => pick(c, ["prod", "dev"]), true],
  ["ChannelTimeout", (c) => pick(c, ["session=5m", "none", "*=1h global=2m"]), true],
  ["ObscureKeystrokeTiming", (c) => pick(c, ["yes", "no", "interval:50"]), true],
  ["VersionAddendum", (c) => pick(c, ["hello %h", "none"]), true],
  ["User", (c) => pick(c, ["%u", "u-%h", "${ORACLE_A}"]), true],
  ["SetEnv", (c) => pick(c, ["T=%h", "E=${ORACLE_A}"]), true],
  ["RevokedHostKeys", (c) => pick(c, ["~/revoked-%h"]), true],
  ["ControlPath", () => "/tmp/cp-%j", true],
];

const BAD_LINES = [
  "NoSuchOption yes",
  "Port",
  "User a b",
  'User "unterminated',
  "BatchMode maybe",
  "Ciphers nonesuch",
  "ConnectTimeout 5q",
  "LocalForward 8080",
  "ControlPath /tmp/%z",
  "Match bogus x",
];

function keywordLine(c: Ctx): string {
  for (;;) {
    const [k, g, v10] = pick(c, KEYWORDS);
    if (v10 && !c.r.chance(0.15)) continue;
    if (v10) c.v10 = true;
    const sep = pick(c, [" ", " ", " ", "\t", "=", " = "]);
    const kw = c.r.chance(0.1) ? k.toLowerCase() : k;
    return `${kw}${sep}${g(c)}`;
  }
}

function matchLine(c: Ctx): string {
  const crit: string[] = [];
  const n = 1 + c.r.int(3);
  if (c.r.chance(0.1)) return "Match all";
  for (let i = 0; i < n; i++) {
    const neg = c.r.chance(0.2) ? "!" : "";
    // exec spawns a shell on both sides (slow here): keep it to a few percent of criteria.
    const k = c.r.chance(0.12)
      ? 7 + c.r.int(4)
      : c.r.chance(0.04)
      ? 5
      : pick(c, [0, 1, 2, 3, 4, 6, 11]);
    switch (k) {
      case 0:
      case 1:
        crit.push(`${neg}host ${pick(c, PATTERNS)}`);
        break;
      case 2:
        crit.push(`${neg}originalhost ${pick(c, PATTERNS)}`);
        break;
      case 3:
        crit.push(`${neg}user ${pick(c, [...USERS, "a*", "!root,*"])}`);
        break;
      case 4:
        crit.push(`${neg}localuser ${pick(c, ["root", "nobody", "r*"])}`);
        break;
      case 5:
        crit.push(
          `${neg}exec ${
            pick(c, ["true", "false", '"test %h = web1"', '"test %p = 22"', '"test %r = root"'])
          }`,
        );
        break;
      case 6:
        crit.push(`${neg}${pick(c, ["canonical", "final"])}`);
        break;
      case 7:
        c.v10 = true;
        crit.push(`${neg}localnetwork ${pick(c, ["127.0.0.0/8", "203.0.113.0/24", "::1/128"])}`);
        break;
      case 8:
        c.v10 = true;
        crit.push(`${neg}tagged ${pick(c, ["prod", "dev", "*"])}`);
        break;
      case 9:
        c.v10 = true;
        crit.push(`${neg}${pick(c, ["version OpenSSH_*", 'command ""', "sessiontype shell"])}`);
        break;
      case 10:
        c.v10 = true;
        crit.push(`${neg}host=${pick(c, PATTERNS)}`);
        break;
      default:
        crit.push(`${neg}host ${pick(c, PATTERNS)},${pick(c, PATTERNS)}`);
    }
  }
  return `Match ${crit.join(" ")}`;
}

function block(c: Ctx, depth: number): string[] {
  const lines: string[] = [];
  const kind = c.r.int(10);
  if (kind < 5) {
    const n = 1 + c.r.int(3);
    const pats: string[] = [];
    for (let i = 0; i < n; i++) pats.push(pick(c, PATTERNS));
    lines.push(`Host ${pats.join(" ")}`);
  } else if (kind < 8) lines.push(matchLine(c));
  const n = 1 + c.r.int(5);
  for (let i = 0; i < n; i++) {
    const ind = pick(c, ["  ", "\t", "", "    "]);
    if (c.r.chance(0.005)) lines.push(ind + pick(c, BAD_LINES));
    else if (c.r.chance(0.06) && depth < 2 && c.includes < 3) lines.push(ind + include(c, depth));
    else if (c.r.chance(0.04)) lines.push(`${ind}# comment ${c.r.int(100)}`);
    else lines.push(ind + keywordLine(c));
  }
  return lines;
}

function include(c: Ctx, depth: number): string {
  const id = ++c.includes;
  const body: string[] = [];
  const nb = 1 + c.r.int(2);
  for (let i = 0; i < nb; i++) body.push(...block(c, depth + 1));
  const text = body.join("\n") + "\n";
  const style = c.r.int(4);
  if (style === 0) {
    c.files[`inc${id}.conf`] = text;
    return `Include @DIR@/inc${id}.conf`;
  }
  if (style === 1) {
    c.files[`d${id}/a.conf`] = text;
    c.files[`d${id}/b.conf`] = `${keywordLine(c)}\n`;
    return `Include @DIR@/d${id}/*.conf`;
  }
  if (style === 2) {
    c.files[`~/rel${id}.conf`] = text;
    return `Include @REL@/rel${id}.conf`;
  }
  c.files[`x${id}.conf`] = text;
  return `Include @DIR@/x${id}.c?nf @DIR@/missing${id}.conf`;
}

/**
 * The `index`-th generated case of `seed` (deterministic).
 *
 * @example
 * ```ts
 * import { generateCase } from "./ssh_config_generator.ts";
 * console.log(generateCase(1, 0).config.length > 0); // true
 * ```
 */
export function generateCase(seed: number, index: number): OracleCase {
  const r = new Rng((seed * 1_000_003 + index * 7919) >>> 0);
  const c: Ctx = { r, v10: false, files: {}, includes: 0 };
  const lines: string[] = [];
  const nb = 1 + r.int(6);
  for (let i = 0; i < nb; i++) {
    lines.push(...block(c, 0));
    if (r.chance(0.3)) lines.push("");
  }
  let host = pick(c, HOSTS);
  if (r.chance(0.15)) host = `${pick(c, USERS)}@${host}`;
  const user = r.chance(0.1) ? pick(c, USERS) : undefined;
  const port = r.chance(0.08) ? pick(c, [2022, 22, 8022]) : undefined;
  const options = r.chance(0.1) ? [keywordLine(c)] : undefined;
  const eol = r.chance(0.05) ? "\r\n" : "\n";
  return {
    id: `gen-${seed}-${index}`,
    config: lines.join(eol) + eol,
    host,
    files: c.files,
    user,
    port,
    options,
    v10: c.v10,
  };
}

/** `count` cases of `seed`. */
export function generateCases(seed: number, count: number, start = 0): OracleCase[] {
  const out: OracleCase[] = [];
  for (let i = start; i < start + count; i++) out.push(generateCase(seed, i));
  return out;
}
