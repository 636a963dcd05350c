/**
 * Key constraints sent with an added key: lifetime and confirm (RFC 9987), and
 * the extension constraints OpenSSH defines in PROTOCOL.agent:
 * `restrict-destination-v00@openssh.com` (where a key may be used, hop by hop),
 * `associated-certs-v00@openssh.com` (certificates for smartcard keys) and
 * `sk-provider@openssh.com` (the middleware of a security key).
 *
 * An extension constraint's contents are not length-prefixed on the wire, so an
 * unknown one cannot be skipped: it is kept with the rest of the message as its
 * `data` and must be the last constraint.
 *
 * @module
 */

import { SSHReader, SSHWriter } from "../core/wire.ts";
import { AgentError } from "./errors.ts";
import { AgentConstraint } from "./protocol.ts";

/** The constraint extension for destination restrictions (OpenSSH 8.9+). */
export const RESTRICT_DESTINATION = "restrict-destination-v00@openssh.com";
/** The constraint extension that attaches certificates to smartcard keys (OpenSSH 9.6+). */
export const ASSOCIATED_CERTS = "associated-certs-v00@openssh.com";
/** The constraint extension naming a security key's middleware library. */
export const SK_PROVIDER = "sk-provider@openssh.com";

/** Most destination constraints on one key (OpenSSH's AGENT_MAX_DEST_CONSTRAINTS). */
export const MAX_DESTINATION_CONSTRAINTS = 1024;
/** Most keys in one hop of a destination constraint (bounded by the frame anyway). */
export const MAX_HOP_KEYS = 1024;
/** Most certificates in an associated-certs constraint (OpenSSH's AGENT_MAX_EXT_CERTS). */
export const MAX_ASSOCIATED_CERTS = 1024;
/** Longest user or host name in a hop (OpenSSH caps user patterns at 256 bytes). */
const MAX_HOP_NAME = 1024;

/** A host key a hop is identified by: the key itself, or a CA that signs host certificates. */
export interface HopKey {
  /** The public key blob. */
  readonly keyBlob: Uint8Array;
  /** True when `keyBlob` is a certificate authority for the hop's host certificates. */
  readonly isCA: boolean;
}

/** One end of a destination constraint. */
export interface DestinationHop {
  /** User name pattern (`to` only; empty means any). */
  readonly username: string;
  /** Host name (shown to the user; matched against certificate principals). Empty for the origin. */
  readonly hostname: string;
  /** The host's keys. Empty (with an empty hostname) for the origin, the agent's own host. */
  readonly hostKeys: readonly HopKey[];
}

/**
 * One permitted step: from a host (empty: the agent's own host) to a host, as
 * `ssh-add -h from>to` writes it.
 */
export interface DestinationConstraint {
  /** Where the connection comes from. */
  readonly from: DestinationHop;
  /** Where the key may be used. */
  readonly to: DestinationHop;
}

/** A key constraint. */
export type KeyConstraint =
  | { readonly type: "lifetime"; readonly seconds: number }
  | { readonly type: "confirm" }
  | {
    readonly type: "restrictDestination";
    readonly constraints: readonly DestinationConstraint[];
  }
  | {
    readonly type: "associatedCerts";
    /** Load only the certificates, not the plain keys. */
    readonly certsOnly: boolean;
    /** Certificate blobs. */
    readonly certificates: readonly Uint8Array[];
  }
  | { readonly type: "skProvider"; readonly provider: string }
  | {
    /** An extension constraint we do not know; `data` is the rest of the message. */
    readonly type: "extension";
    readonly name: string;
    readonly data: Uint8Array;
  };

/**
 * Encodes constraints (appended to an add-identity request).
 *
 * @example
 * ```ts
 * import { encodeConstraints } from "./constraints.ts";
 * console.log(encodeConstraints([{ type: "lifetime", seconds: 60 }, { type: "confirm" }]));
 * // Uint8Array [ 1, 0, 0, 0, 60, 2 ]
 * ```
 */
export function encodeConstraints(constraints: readonly KeyConstraint[]): Uint8Array {
  const w = new SSHWriter();
  constraints.forEach((c, i) => {
    switch (c.type) {
      case "lifetime":
        if (!Number.isInteger(c.seconds) || c.seconds < 1 || c.seconds > 0xffffffff) {
          throw new AgentError("malformed", `Lifetime ${c.seconds} is not 1..2^32-1 seconds`);
        }
        w.writeByte(AgentConstraint.LIFETIME).writeUint32(c.seconds);
        break;
      case "confirm":
        w.writeByte(AgentConstraint.CONFIRM);
        break;
      case "restrictDestination": {
        const body = new SSHWriter();
        for (const d of c.constraints) {
          const inner = new SSHWriter();
          inner.writeString(encodeHop(d.from)).writeString(encodeHop(d.to)).writeString(
            new Uint8Array(0),
          );
          body.writeString(inner.view());
        }
        w.writeByte(AgentConstraint.EXTENSION).writeStringUtf8(RESTRICT_DESTINATION)
          .writeString(body.view());
        break;
      }
      case "associatedCerts": {
        const body = new SSHWriter();
        for (const cert of c.certificates) body.writeString(cert);
        w.writeByte(AgentConstraint.EXTENSION).writeStringUtf8(ASSOCIATED_CERTS)
          .writeBoolean(c.certsOnly).writeString(body.view());
        break;
      }
      case "skProvider":
        w.writeByte(AgentConstraint.EXTENSION).writeStringUtf8(SK_PROVIDER)
          .writeStringUtf8(c.provider);
        break;
      case "extension":
        if (i !== constraints.length - 1) {
          throw new AgentError(
            "malformed",
            `Constraint extension "${c.name}" has unframed data and must come last`,
          );
        }
        w.writeByte(AgentConstraint.EXTENSION).writeStringUtf8(c.name).writeBytes(c.data);
        break;
    }
  });
  return w.toBytes();
}

function encodeHop(h: DestinationHop): Uint8Array {
  const w = new SSHWriter().writeStringUtf8(h.username).writeStringUtf8(h.hostname)
    .writeString(new Uint8Array(0));
  for (const k of h.hostKeys) w.writeString(k.keyBlob).writeBoolean(k.isCA);
  return w.toBytes();
}

/**
 * Decodes the constraints that end an add-identity request (all of `bytes`).
 * See {@link readConstraints}.
 *
 * @example
 * ```ts
 * import { decodeConstraints } from "./constraints.ts";
 * console.log(decodeConstraints(Uint8Array.of(2))); // [ { type: "confirm" } ]
 * ```
 */
export function decodeConstraints(bytes: Uint8Array): KeyConstraint[] {
  try {
    return readConstraints(new SSHReader(bytes));
  } catch (e) {
    if (e instanceof AgentError) throw e;
    throw malformed((e as Error).message);
  }
}

/**
 * Reads the constraints that end an add-identity request (to the end of `r`). Duplicates of lifetime, confirm or an extension are refused (as OpenSSH
 * does), and so are destination constraints OpenSSH would refuse: a `from` with a
 * user name, a `from` with a host name but no keys (or the reverse), a `to`
 * without host name or keys, and non-empty reserved fields. Throws
 * {@link AgentError} (and `WireError` for truncated input).
 *
 * @example
 * ```ts
 * import { SSHReader } from "../core/wire.ts";
 * import { readConstraints } from "./constraints.ts";
 * console.log(readConstraints(new SSHReader(Uint8Array.of(2)))); // [ { type: "confirm" } ]
 * ```
 */
export function readConstraints(r: SSHReader): KeyConstraint[] {
  const out: KeyConstraint[] = [];
  const seen = new Set<string>();
  const once = (key: string) => {
    if (seen.has(key)) throw malformed(`${key} constraint given twice`);
    seen.add(key);
  };
  while (r.remaining > 0) {
    const t = r.readByte("constraint type");
    switch (t) {
      case AgentConstraint.LIFETIME: {
        once("lifetime");
        const seconds = r.readUint32("lifetime");
        if (seconds === 0) throw malformed("lifetime constraint of 0 seconds");
        out.push({ type: "lifetime", seconds });
        break;
      }
      case AgentConstraint.CONFIRM:
        once("confirm");
        out.push({ type: "confirm" });
        break;
      case AgentConstraint.EXTENSION:
      case AgentConstraint.EXTENSION_DRAFT: {
        const name = r.readStringUtf8("constraint extension name", 256);
        once(name);
        out.push(decodeExtension(name, r));
        break;
      }
      default:
        throw new AgentError("unsupported", `Unknown key constraint ${t}`);
    }
  }
  return out;
}

function decodeExtension(name: string, r: SSHReader): KeyConstraint {
  switch (name) {
    case RESTRICT_DESTINATION: {
      const body = new SSHReader(r.readString(`${name} body`));
      const constraints: DestinationConstraint[] = [];
      while (body.remaining > 0) {
        if (constraints.length >= MAX_DESTINATION_CONSTRAINTS) {
          throw malformed(`more than ${MAX_DESTINATION_CONSTRAINTS} destination constraints`);
        }
        constraints.push(decodeDestination(new SSHReader(body.readString("destination"))));
      }
      if (constraints.length === 0) throw malformed(`${name} with no constraints`);
      return { type: "restrictDestination", constraints };
    }
    case ASSOCIATED_CERTS: {
      const certsOnly = r.readBoolean("certs_only");
      const body = new SSHReader(r.readString("certificates"));
      const certificates: Uint8Array[] = [];
      while (body.remaining > 0) {
        if (certificates.length >= MAX_ASSOCIATED_CERTS) {
          throw malformed(`more than ${MAX_ASSOCIATED_CERTS} associated certificates`);
        }
        certificates.push(body.readString("certificate").slice());
      }
      return { type: "associatedCerts", certsOnly, certificates };
    }
    case SK_PROVIDER:
      return { type: "skProvider", provider: r.readStringUtf8("provider", 4096) };
    default:
      return { type: "extension", name, data: r.readBytes(r.remaining).slice() };
  }
}

function decodeDestination(r: SSHReader): DestinationConstraint {
  const from = decodeHop(new SSHReader(r.readString("from hop")), "from");
  const to = decodeHop(new SSHReader(r.readString("to hop")), "to");
  if (r.readString("reserved").length !== 0) throw malformed("reserved field is not empty");
  r.assertEnd("destination constraint");
  if (from.username !== "") throw malformed('"from" hop names a user');
  if ((from.hostname === "") !== (from.hostKeys.length === 0)) {
    throw malformed('"from" hop needs both a host name and keys, or neither');
  }
  if (to.hostname === "" || to.hostKeys.length === 0) {
    throw malformed('"to" hop needs a host name and keys');
  }
  return { from, to };
}

function decodeHop(r: SSHReader, what: string): DestinationHop {
  const username = r.readStringUtf8(`${what} user`, MAX_HOP_NAME);
  const hostname = r.readStringUtf8(`${what} host name`, MAX_HOP_NAME);
  if (r.readString("reserved").length !== 0) {
    throw malformed(`${what} hop reserved field is not empty`);
  }
  const hostKeys: HopKey[] = [];
  while (r.remaining > 0) {
    if (hostKeys.length >= MAX_HOP_KEYS) throw malformed(`more than ${MAX_HOP_KEYS} keys in a hop`);
    const keyBlob = r.readString(`${what} host key`, 16 * 1024).slice();
    const isCA = r.readBoolean("is_ca");
    hostKeys.push({ keyBlob, isCA });
  }
  return { username, hostname, hostKeys };
}

function malformed(why: string): AgentError {
  return new AgentError("malformed", `Bad key constraint: ${why}`);
}
