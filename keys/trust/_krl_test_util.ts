/**
 * Test helper (not part of the library): writes binary KRLs section by section,
 * including the sections `ssh-keygen -k` never writes (extensions, signatures,
 * malformed ones), for the parser's tests.
 *
 * @module
 */

import { SSHWriter } from "../../core/wire.ts";

/** Section and certificate subsection types of PROTOCOL.krl. */
export const T = {
  certificates: 1,
  explicitKey: 2,
  sha1: 3,
  signature: 4,
  sha256: 5,
  extension: 255,
  serialList: 0x20,
  serialRange: 0x21,
  serialBitmap: 0x22,
  keyId: 0x23,
  certExtension: 0x39,
} as const;

/** A `string`: uint32 length and the bytes (text as UTF-8). */
export function str(b: Uint8Array | string): Uint8Array {
  const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
  return new SSHWriter().writeString(bytes).toBytes();
}

/** Big-endian uint64s, back to back. */
export function u64(...v: bigint[]): Uint8Array {
  const w = new SSHWriter();
  for (const x of v) w.writeUint64(x);
  return w.toBytes();
}

/** Concatenation. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const w = new SSHWriter();
  for (const p of parts) w.writeBytes(p);
  return w.toBytes();
}

/** One section (or certificate subsection): its type byte and its body as a string. */
export function section(type: number, ...body: Uint8Array[]): Uint8Array {
  return cat(Uint8Array.of(type), str(cat(...body)));
}

/** A certificate section for `caBlob` (empty: any CA) holding `subsections`. */
export function certSection(caBlob: Uint8Array, ...subsections: Uint8Array[]): Uint8Array {
  return section(T.certificates, str(caBlob), str(""), ...subsections);
}

/** A whole KRL: the header (format 1 unless given), then `sections`. */
export function krl(
  sections: Uint8Array[],
  header: { format?: number; version?: bigint; comment?: string } = {},
): Uint8Array {
  const w = new SSHWriter()
    .writeBytes(new TextEncoder().encode("SSHKRL\n\0"))
    .writeUint32(header.format ?? 1)
    .writeUint64(header.version ?? 1n)
    .writeUint64(1_700_000_000n)
    .writeUint64(0n)
    .writeString(new Uint8Array(0))
    .writeStringUtf8(header.comment ?? "");
  for (const s of sections) w.writeBytes(s);
  return w.toBytes();
}
