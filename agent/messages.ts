/**
 * Agent requests and replies (RFC 9987 §4) as typed values, with their encoders
 * and decoders. Bodies here are the bytes inside a frame (type byte first); see
 * `protocol.ts` for framing. Every decoder throws {@link AgentError} on bad
 * input and never anything else.
 *
 * @module
 */

import { SSHReader, SSHWriter } from "../core/wire.ts";
import type { SSHKeyPair } from "../keys/key_pair.ts";
import { encodeConstraints, type KeyConstraint, readConstraints } from "./constraints.ts";
import { AgentError } from "./errors.ts";
import { AgentMessage } from "./protocol.ts";
import { readAgentPrivateKey, writeAgentPrivateKey } from "./private_key.ts";

/** Most identities in one answer (OpenSSH's client caps it at 2048 as well). */
export const MAX_AGENT_IDENTITIES = 2048;
/** Longest key blob in a request or an identities answer. */
const MAX_KEY_BLOB = 64 * 1024;
/** Longest comment accepted. */
const MAX_COMMENT = 16 * 1024;

/** A request to the agent. */
export type AgentRequest =
  | { readonly type: "requestIdentities" }
  | {
    readonly type: "sign";
    /** The key (or certificate) blob to sign with. */
    readonly keyBlob: Uint8Array;
    readonly data: Uint8Array;
    /** {@link AgentSignFlag} bits. */
    readonly flags: number;
  }
  | {
    readonly type: "addIdentity";
    readonly key: SSHKeyPair;
    readonly comment: string;
    /** Sent as SSH_AGENTC_ADD_ID_CONSTRAINED when non-empty. */
    readonly constraints: readonly KeyConstraint[];
  }
  | { readonly type: "removeIdentity"; readonly keyBlob: Uint8Array }
  | {
    readonly type: "removeAllIdentities";
    /** True for the protocol 1 message (9), which OpenSSH treats alike. */
    readonly legacy?: boolean;
  }
  | {
    readonly type: "addSmartcardKey";
    readonly id: string;
    readonly pin: string;
    readonly constraints: readonly KeyConstraint[];
  }
  | { readonly type: "removeSmartcardKey"; readonly id: string; readonly pin: string }
  | { readonly type: "lock"; readonly passphrase: Uint8Array }
  | { readonly type: "unlock"; readonly passphrase: Uint8Array }
  | {
    readonly type: "extension";
    readonly name: string;
    /** Extension-specific contents: the rest of the message, not length-prefixed. */
    readonly contents: Uint8Array;
  }
  | {
    /** A message number we do not know (the agent answers SSH_AGENT_FAILURE). */
    readonly type: "unknown";
    readonly code: number;
  };

/** One key the agent holds, as listed. */
export interface AgentIdentity {
  /** The public key or certificate blob. */
  readonly keyBlob: Uint8Array;
  /** The comment the agent shows (usually the key file's comment or path). */
  readonly comment: string;
}

/** A reply from the agent. */
export type AgentReply =
  | {
    readonly type: "success";
    /** Extension replies may carry contents (old drafts); empty otherwise. */
    readonly contents: Uint8Array;
  }
  | {
    readonly type: "failure";
    /** The message number: 5, or an older agent's 30 or 102. */
    readonly code: number;
  }
  | { readonly type: "identities"; readonly identities: readonly AgentIdentity[] }
  | { readonly type: "signResponse"; readonly signature: Uint8Array }
  | { readonly type: "extensionFailure" }
  | {
    readonly type: "extensionResponse";
    readonly name: string;
    readonly contents: Uint8Array;
  };

const lenientUtf8 = new TextDecoder("utf-8");

function readComment(r: SSHReader): string {
  return lenientUtf8.decode(r.readString("comment", MAX_COMMENT));
}

/**
 * Encodes a request body (type byte first).
 *
 * @example
 * ```ts
 * import { encodeAgentRequest } from "./messages.ts";
 * console.log(encodeAgentRequest({ type: "requestIdentities" })); // Uint8Array [ 11 ]
 * ```
 */
export function encodeAgentRequest(req: AgentRequest): Uint8Array {
  const w = new SSHWriter();
  switch (req.type) {
    case "requestIdentities":
      w.writeByte(AgentMessage.REQUEST_IDENTITIES);
      break;
    case "sign":
      w.writeByte(AgentMessage.SIGN_REQUEST).writeString(req.keyBlob).writeString(req.data)
        .writeUint32(req.flags);
      break;
    case "addIdentity":
      w.writeByte(
        req.constraints.length ? AgentMessage.ADD_ID_CONSTRAINED : AgentMessage.ADD_IDENTITY,
      );
      writeAgentPrivateKey(w, req.key);
      w.writeStringUtf8(req.comment).writeBytes(encodeConstraints(req.constraints));
      break;
    case "removeIdentity":
      w.writeByte(AgentMessage.REMOVE_IDENTITY).writeString(req.keyBlob);
      break;
    case "removeAllIdentities":
      w.writeByte(
        req.legacy ? AgentMessage.REMOVE_ALL_RSA_IDENTITIES : AgentMessage.REMOVE_ALL_IDENTITIES,
      );
      break;
    case "addSmartcardKey":
      w.writeByte(
        req.constraints.length
          ? AgentMessage.ADD_SMARTCARD_KEY_CONSTRAINED
          : AgentMessage.ADD_SMARTCARD_KEY,
      ).writeStringUtf8(req.id).writeStringUtf8(req.pin)
        .writeBytes(encodeConstraints(req.constraints));
      break;
    case "removeSmartcardKey":
      w.writeByte(AgentMessage.REMOVE_SMARTCARD_KEY).writeStringUtf8(req.id)
        .writeStringUtf8(req.pin);
      break;
    case "lock":
    case "unlock":
      w.writeByte(req.type === "lock" ? AgentMessage.LOCK : AgentMessage.UNLOCK)
        .writeString(req.passphrase);
      break;
    case "extension":
      w.writeByte(AgentMessage.EXTENSION).writeStringUtf8(req.name).writeBytes(req.contents);
      break;
    case "unknown":
      w.writeByte(req.code);
      break;
  }
  return w.toBytes();
}

/**
 * Decodes a request body. Unknown message numbers decode to `{ type: "unknown" }`
 * (not an error: the agent answers them with failure); malformed known ones throw
 * {@link AgentError}.
 *
 * @example
 * ```ts
 * import { decodeAgentRequest } from "./messages.ts";
 * console.log(decodeAgentRequest(Uint8Array.of(11)).type); // "requestIdentities"
 * ```
 */
export function decodeAgentRequest(body: Uint8Array): AgentRequest {
  if (body.length === 0) throw new AgentError("malformed", "Empty agent request");
  try {
    const r = new SSHReader(body, 1);
    const code = body[0]!;
    let req: AgentRequest;
    switch (code) {
      case AgentMessage.REQUEST_IDENTITIES:
        req = { type: "requestIdentities" };
        break;
      case AgentMessage.SIGN_REQUEST:
        req = {
          type: "sign",
          keyBlob: r.readString("key blob", MAX_KEY_BLOB).slice(),
          data: r.readString("data").slice(),
          flags: r.readUint32("flags"),
        };
        break;
      case AgentMessage.ADD_IDENTITY:
      case AgentMessage.ADD_ID_CONSTRAINED: {
        const key = readAgentPrivateKey(r, body);
        const comment = readComment(r);
        const constraints = code === AgentMessage.ADD_ID_CONSTRAINED ? readConstraints(r) : [];
        req = { type: "addIdentity", key, comment, constraints };
        break;
      }
      case AgentMessage.REMOVE_IDENTITY:
        req = { type: "removeIdentity", keyBlob: r.readString("key blob", MAX_KEY_BLOB).slice() };
        break;
      case AgentMessage.REMOVE_ALL_IDENTITIES:
        req = { type: "removeAllIdentities" };
        break;
      case AgentMessage.REMOVE_ALL_RSA_IDENTITIES:
        req = { type: "removeAllIdentities", legacy: true };
        break;
      case AgentMessage.ADD_SMARTCARD_KEY:
      case AgentMessage.ADD_SMARTCARD_KEY_CONSTRAINED: {
        const id = r.readStringUtf8("smartcard id", 4096);
        const pin = r.readStringUtf8("PIN", 4096);
        const constraints = code === AgentMessage.ADD_SMARTCARD_KEY_CONSTRAINED
          ? readConstraints(r)
          : [];
        req = { type: "addSmartcardKey", id, pin, constraints };
        break;
      }
      case AgentMessage.REMOVE_SMARTCARD_KEY:
        req = {
          type: "removeSmartcardKey",
          id: r.readStringUtf8("smartcard id", 4096),
          pin: r.readStringUtf8("PIN", 4096),
        };
        break;
      case AgentMessage.LOCK:
      case AgentMessage.UNLOCK:
        req = {
          type: code === AgentMessage.LOCK ? "lock" : "unlock",
          passphrase: r.readString("passphrase", 4096).slice(),
        };
        break;
      case AgentMessage.EXTENSION:
        req = {
          type: "extension",
          name: r.readStringAscii("extension name", 256),
          contents: r.readBytes(r.remaining).slice(),
        };
        break;
      default:
        return { type: "unknown", code };
    }
    r.assertEnd(`agent request ${code}`);
    return req;
  } catch (e) {
    throw asAgentError(e, "Cannot decode agent request");
  }
}

/**
 * Encodes a reply body (type byte first).
 *
 * @example
 * ```ts
 * import { encodeAgentReply } from "./messages.ts";
 * console.log(encodeAgentReply({ type: "success", contents: new Uint8Array(0) })); // Uint8Array [ 6 ]
 * ```
 */
export function encodeAgentReply(reply: AgentReply): Uint8Array {
  const w = new SSHWriter();
  switch (reply.type) {
    case "success":
      w.writeByte(AgentMessage.SUCCESS).writeBytes(reply.contents);
      break;
    case "failure":
      w.writeByte(reply.code);
      break;
    case "identities":
      w.writeByte(AgentMessage.IDENTITIES_ANSWER).writeUint32(reply.identities.length);
      for (const id of reply.identities) w.writeString(id.keyBlob).writeStringUtf8(id.comment);
      break;
    case "signResponse":
      w.writeByte(AgentMessage.SIGN_RESPONSE).writeString(reply.signature);
      break;
    case "extensionFailure":
      w.writeByte(AgentMessage.EXTENSION_FAILURE);
      break;
    case "extensionResponse":
      w.writeByte(AgentMessage.EXTENSION_RESPONSE).writeStringUtf8(reply.name)
        .writeBytes(reply.contents);
      break;
  }
  return w.toBytes();
}

/**
 * Decodes a reply body. Throws {@link AgentError} for a malformed reply, an
 * unknown reply type, or more than {@link MAX_AGENT_IDENTITIES} identities.
 *
 * @example
 * ```ts
 * import { decodeAgentReply } from "./messages.ts";
 * console.log(decodeAgentReply(Uint8Array.of(12, 0, 0, 0, 0))); // { type: "identities", identities: [] }
 * ```
 */
export function decodeAgentReply(body: Uint8Array): AgentReply {
  if (body.length === 0) throw new AgentError("malformed", "Empty agent reply");
  try {
    const r = new SSHReader(body, 1);
    const code = body[0]!;
    let reply: AgentReply;
    switch (code) {
      case AgentMessage.SUCCESS:
        return { type: "success", contents: body.slice(1) };
      case AgentMessage.FAILURE:
      case AgentMessage.SSH2_FAILURE:
      case AgentMessage.SSH_COM_FAILURE:
        // Some agents append data to a failure; it carries no meaning.
        return { type: "failure", code };
      case AgentMessage.EXTENSION_FAILURE:
        return { type: "extensionFailure" };
      case AgentMessage.IDENTITIES_ANSWER: {
        const n = r.readUint32("identity count");
        if (n > MAX_AGENT_IDENTITIES) {
          throw new AgentError(
            "malformed",
            `The agent lists ${n} identities (limit ${MAX_AGENT_IDENTITIES})`,
          );
        }
        // Each identity takes at least 8 bytes: refuse a count the body cannot hold.
        if (n * 8 > r.remaining) throw new AgentError("malformed", `Identity count ${n} too big`);
        const identities: AgentIdentity[] = [];
        for (let i = 0; i < n; i++) {
          identities.push({
            keyBlob: r.readString("key blob", MAX_KEY_BLOB).slice(),
            comment: readComment(r),
          });
        }
        reply = { type: "identities", identities };
        break;
      }
      case AgentMessage.SIGN_RESPONSE:
        reply = { type: "signResponse", signature: r.readString("signature").slice() };
        break;
      case AgentMessage.EXTENSION_RESPONSE:
        reply = {
          type: "extensionResponse",
          name: r.readStringAscii("extension name", 256),
          contents: r.readBytes(r.remaining).slice(),
        };
        break;
      default:
        throw new AgentError("unexpected", `Unknown agent reply type ${code}`);
    }
    r.assertEnd(`agent reply ${code}`);
    return reply;
  } catch (e) {
    throw asAgentError(e, "Cannot decode agent reply");
  }
}

function asAgentError(e: unknown, what: string): AgentError {
  if (e instanceof AgentError) return e;
  return new AgentError("malformed", `${what}: ${(e as Error)?.message ?? e}`, { cause: e });
}
