/**
 * The facts about a client build that `ssh_config` resolution depends on: which
 * algorithms exist and which are on by default (the `+`, `-` and `^` list
 * modifiers apply to these), the default identity files, IPQoS values and so
 * on. {@link DEFAULT_SSH_CONFIG_PROFILE} describes this library (its algorithm
 * lists come from `core/`); a test can describe an OpenSSH build instead, and
 * then resolution reproduces that build's `ssh -G` exactly.
 *
 * @module
 */

import {
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  SUPPORTED_CIPHERS,
  SUPPORTED_MACS,
} from "../core/crypto/registry.ts";
import { DEFAULT_KEX, SUPPORTED_KEX } from "../core/kex/registry.ts";
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  DEFAULT_PUBLIC_KEY_ALGORITHMS,
  SUPPORTED_HOST_KEY_ALGORITHMS,
  SUPPORTED_SIGNATURE_ALGORITHMS,
} from "../core/publickey/algorithms.ts";

/** An algorithm family: every name that exists, and the default list in preference order. */
export interface AlgorithmFamily {
  /** Every name that may appear (OpenSSH's "all" list), in its canonical order. */
  readonly supported: readonly string[];
  /** The default list, most preferred first. */
  readonly defaults: readonly string[];
  /**
   * Further names the parser accepts without their being in `supported`
   * (Debian's OpenSSH accepts GSSAPI kex names in KexAlgorithms, then drops them).
   */
  readonly accepted?: readonly string[] | undefined;
}

/** What a client build contributes to resolving `ssh_config`. */
export interface SSHConfigProfile {
  /** Ciphers. */
  readonly ciphers: AlgorithmFamily;
  /** MACs. */
  readonly macs: AlgorithmFamily;
  /** Key exchange methods. */
  readonly kex: AlgorithmFamily;
  /**
   * Key and certificate algorithms (HostKeyAlgorithms, PubkeyAcceptedAlgorithms,
   * HostbasedAcceptedAlgorithms).
   */
  readonly keys: AlgorithmFamily;
  /** Signature algorithms for CA keys (CASignatureAlgorithms); certificates never appear here. */
  readonly caSignatures: AlgorithmFamily;
  /**
   * GSSAPI key exchange methods of Debian's GSSAPI patch (`GSSAPIKexAlgorithms`);
   * when present, `formatSSHConfig` prints the Debian GSSAPI lines as its `ssh -G` does.
   */
  readonly gssKex?: AlgorithmFamily | undefined;
  /** Identity files tried when none is configured, in order (with `~/`). */
  readonly identityFiles: readonly string[];
  /**
   * IPQoS names and values in the build's order (the first name of a value is
   * printed). Default: OpenSSH 10's, where lowdelay, throughput and
   * reliability are deprecated and mean none.
   */
  readonly ipqosNames?: readonly (readonly [string, number])[] | undefined;
  /** Default IPQoS values [interactive, bulk] as numbers (see OpenSSH's IPQoS names). */
  readonly ipqos: readonly [number, number];
  /** ForwardX11Trusted default (Debian's build defaults it to yes). */
  readonly forwardX11Trusted: boolean;
  /**
   * ServerAliveInterval default in BatchMode (Debian's build uses 300 s; upstream
   * has no such default).
   */
  readonly batchModeServerAliveInterval?: number | undefined;
  /**
   * LogLevel names in the build's order, each with the level it stands for
   * (the first name of a level is the one printed). Debian's adds "SILENT".
   */
  readonly logLevels?: readonly (readonly [string, string])[] | undefined;
  /** Default XAuthLocation. */
  readonly xauthLocation: string;
  /** Default SecurityKeyProvider. */
  readonly securityKeyProvider: string;
  /** RequiredRSASize default (bits). */
  readonly requiredRSASize: number;
  /** The version string `Match version` matches, e.g. "OpenSSH_10.0p2". */
  readonly version: string;
  /** Whether `ssh -G` prints the OpenSSH 10 lines (obscurekeystroketiming, channeltimeout). */
  readonly printsOpenSSH10Keywords: boolean;
}

const CERT_SUFFIX = "-cert-v01@openssh.com";

/** The GSSAPI key exchange names of Debian's OpenSSH, in its default order. */
export const DEBIAN_GSS_KEX: readonly string[] = Object.freeze([
  "gss-group14-sha256-",
  "gss-group16-sha512-",
  "gss-nistp256-sha256-",
  "gss-curve25519-sha256-",
  "gss-group14-sha1-",
  "gss-gex-sha1-",
]);

/**
 * This library's profile: algorithm lists from `core/` (what our transport
 * implements and offers), OpenSSH 10's other defaults.
 *
 * @example
 * ```ts
 * import { DEFAULT_SSH_CONFIG_PROFILE } from "@sshts/ssh";
 * console.log(DEFAULT_SSH_CONFIG_PROFILE.ciphers.defaults[0]); // "chacha20-poly1305@openssh.com"
 * ```
 */
export const DEFAULT_SSH_CONFIG_PROFILE: SSHConfigProfile = Object.freeze<SSHConfigProfile>({
  ciphers: { supported: SUPPORTED_CIPHERS, defaults: DEFAULT_CIPHERS },
  macs: { supported: SUPPORTED_MACS, defaults: DEFAULT_MACS },
  kex: { supported: SUPPORTED_KEX, defaults: DEFAULT_KEX },
  keys: {
    supported: [
      ...SUPPORTED_HOST_KEY_ALGORITHMS,
      ...SUPPORTED_SIGNATURE_ALGORITHMS.filter((a) => !SUPPORTED_HOST_KEY_ALGORITHMS.includes(a)),
    ],
    defaults: DEFAULT_HOST_KEY_ALGORITHMS,
  },
  caSignatures: {
    supported: SUPPORTED_SIGNATURE_ALGORITHMS.filter((a) => !a.endsWith(CERT_SUFFIX)),
    defaults: DEFAULT_PUBLIC_KEY_ALGORITHMS,
  },
  gssKex: { supported: DEBIAN_GSS_KEX, defaults: DEBIAN_GSS_KEX },
  identityFiles: [
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
  ],
  ipqos: [0xb8, 0x20],
  forwardX11Trusted: false,
  xauthLocation: "/usr/bin/xauth",
  securityKeyProvider: "internal",
  requiredRSASize: 1024,
  version: "OpenSSH_10.0p2",
  printsOpenSSH10Keywords: true,
});

/** True for certificate algorithm names. */
export function isCertAlgorithm(name: string): boolean {
  return name.endsWith(CERT_SUFFIX);
}
