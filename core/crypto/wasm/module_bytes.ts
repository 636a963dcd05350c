/**
 * Decoding the prebuilt WebAssembly modules (`*_module_bytes.ts`, see
 * `prebuilt.ts`) back into bytes.
 *
 * @module
 */

/**
 * Decodes a prebuilt module's base64 into bytes.
 *
 * @example
 * ```ts
 * import { decodeModuleBytes } from "./module_bytes.ts";
 * console.log(decodeModuleBytes("AGFzbQEAAAA=").length); // 8: an empty module
 * ```
 */
export function decodeModuleBytes(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
