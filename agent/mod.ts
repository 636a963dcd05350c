/**
 * The SSH agent protocol (RFC 9987, with OpenSSH's extensions from
 * PROTOCOL.agent), pure: the message codec, key constraints (lifetime, confirm,
 * `restrict-destination-v00@openssh.com`, `associated-certs-v00@openssh.com`),
 * the extension mechanism (`query`, `session-bind@openssh.com`), and an
 * in-memory keyring that enforces the constraints and serves the protocol over
 * any byte stream. Frames are capped at 256 KiB, as OpenSSH caps them; bad
 * input raises {@link AgentError}.
 *
 * Nothing here opens a socket: `connectAgent()` and `SSHAgent` (in the main
 * module) put this on UNIX sockets and SSH channels.
 *
 * @example Run an agent in memory and talk to it through the codec
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh/keys";
 * import {
 *   AgentFrameReader, AgentKeyring, AgentServerConnection,
 *   decodeAgentReply, encodeAgentFrame, encodeAgentRequest,
 * } from "@sshts/ssh/agent";
 *
 * const ring = new AgentKeyring({ confirm: () => true });
 * ring.add(generatePrivateKey("ed25519", { comment: "deploy" }), { lifetime: 3600, confirm: true });
 * const server = new AgentServerConnection(ring);
 *
 * const frames = new AgentFrameReader();
 * frames.push(await server.receive(encodeAgentFrame(encodeAgentRequest({ type: "requestIdentities" }))));
 * const reply = decodeAgentReply(frames.next()!);
 * if (reply.type === "identities") console.log(reply.identities.map((i) => i.comment)); // ["deploy"]
 * ```
 *
 * @module
 */

export { AgentError, type AgentErrorKind } from "./errors.ts";
// What the API here names from the core and keys: the errors' base class, the random
// source, and the key, key pair and certificate classes (as types: "@sshts/ssh/keys" has
// them as values) with the types their methods take and return.
export { SSHError, type SSHErrorCode } from "../core/errors.ts";
export type {
  CertificateCheckOptions,
  CertificateCheckResult,
  CertificateType,
  DsaKeyMaterial,
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  ExportPrivateKeyOptions,
  FingerprintHash,
  KeyMaterial,
  PrivateKeyFormat,
  PublicKeyFormat,
  RandomSource,
  RsaKeyMaterial,
  SkKeyMaterial,
  SSHCertificate,
  SSHKey,
  SSHKeyPair,
  TextPrivateFormat,
  TextPublicFormat,
  VerifyOptions,
} from "../keys/mod.ts";
export {
  AGENT_MAX_FRAME,
  AgentConstraint,
  AgentFrameReader,
  AgentMessage,
  AgentSignFlag,
  encodeAgentFrame,
} from "./protocol.ts";
export {
  type AgentIdentity,
  type AgentReply,
  type AgentRequest,
  decodeAgentReply,
  decodeAgentRequest,
  encodeAgentReply,
  encodeAgentRequest,
  MAX_AGENT_IDENTITIES,
} from "./messages.ts";
export {
  ASSOCIATED_CERTS,
  decodeConstraints,
  type DestinationConstraint,
  type DestinationHop,
  encodeConstraints,
  type HopKey,
  type KeyConstraint,
  RESTRICT_DESTINATION,
  SK_PROVIDER,
} from "./constraints.ts";
export {
  decodeQueryReply,
  decodeSessionBind,
  encodeQueryReply,
  encodeSessionBind,
  QUERY_EXTENSION,
  SESSION_BIND_EXTENSION,
  type SessionBind,
} from "./extensions.ts";
export { decodeAgentPrivateKey, encodeAgentPrivateKey } from "./private_key.ts";
export {
  type AgentAddOptions,
  AgentConnectionState,
  type AgentKeyInfo,
  AgentKeyring,
  type AgentKeyringOptions,
  type ConfirmRequest,
  MAX_AGENT_KEYS,
} from "./keyring.ts";
export {
  identityPermitted,
  parseUserauthRequest,
  type SessionBinding,
  type UserauthRequestInfo,
} from "./destination.ts";
export { AgentServerConnection } from "./server.ts";
