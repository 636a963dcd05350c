/**
 * OpenSSL's libcrypto (3.x) through the runtime's foreign function interface:
 * `Deno.dlopen` on Deno, `bun:ffi` on Bun. Node has no FFI without a native
 * addon, so there this module reports libcrypto unavailable.
 *
 * Why: Deno's `node:crypto` and WebCrypto AES run at 0.2–1 GB/s per CPU-second
 * (a copy in and a copy out per call, and RustCrypto's AES-GCM), and Bun has no
 * ChaCha20 at all, while the system's libcrypto — the library OpenSSH itself
 * uses — seals a 32 KiB packet in place in ≈ 7 µs (4.5 GB/s). The calls take the
 * caller's buffers directly, so nothing is copied or allocated per packet.
 *
 * Loaded only where that is safe and allowed: on Linux (macOS aborts a process
 * that loads its system libcrypto), on Deno only when the `ffi` permission is
 * already granted (never prompting), and only OpenSSL 3. `SSH_LIBCRYPTO=0` turns
 * it off; `SSH_LIBCRYPTO=/path/to/libcrypto.so.3` names the file to load.
 *
 * @module
 */

import { envVar } from "../../runtime/env.ts";

/** An opaque native pointer (an object on Deno, a number on Bun); null is NULL. */
export type Pointer = unknown;

/** The libcrypto functions this library calls, as the FFI exposes them. */
export interface LibCryptoSymbols {
  OpenSSL_version_num(): number | bigint;
  EVP_CIPHER_CTX_new(): Pointer;
  EVP_CIPHER_CTX_free(ctx: Pointer): void;
  EVP_CIPHER_CTX_set_padding(ctx: Pointer, pad: number): number;
  EVP_CipherInit_ex(
    ctx: Pointer,
    cipher: Pointer,
    engine: null,
    key: Uint8Array | null,
    iv: Uint8Array | null,
    enc: number,
  ): number;
  EVP_CipherUpdate(
    ctx: Pointer,
    out: Uint8Array | null,
    outl: Uint8Array,
    input: Uint8Array,
    inl: number,
  ): number;
  EVP_CipherFinal_ex(ctx: Pointer, out: Uint8Array, outl: Uint8Array): number;
  EVP_CIPHER_CTX_ctrl(ctx: Pointer, type: number, arg: number, ptr: Uint8Array): number;
  EVP_aes_128_gcm(): Pointer;
  EVP_aes_256_gcm(): Pointer;
  EVP_aes_128_ctr(): Pointer;
  EVP_aes_192_ctr(): Pointer;
  EVP_aes_256_ctr(): Pointer;
  EVP_aes_128_cbc(): Pointer;
  EVP_aes_192_cbc(): Pointer;
  EVP_aes_256_cbc(): Pointer;
  EVP_chacha20(): Pointer;
  EVP_MAC_fetch(libctx: null, algorithm: Uint8Array, properties: null): Pointer;
  EVP_MAC_free(mac: Pointer): void;
  EVP_MAC_CTX_new(mac: Pointer): Pointer;
  EVP_MAC_CTX_free(ctx: Pointer): void;
  EVP_MAC_init(ctx: Pointer, key: Uint8Array, keylen: number, params: null): number;
  EVP_MAC_update(ctx: Pointer, data: Uint8Array, len: number): number;
  EVP_MAC_final(ctx: Pointer, out: Uint8Array, outl: Uint8Array, outsize: number): number;
  HMAC_CTX_new(): Pointer;
  HMAC_CTX_free(ctx: Pointer): void;
  HMAC_Init_ex(
    ctx: Pointer,
    key: Uint8Array | null,
    len: number,
    md: Pointer,
    engine: null,
  ): number;
  HMAC_Update(ctx: Pointer, data: Uint8Array, len: number): number;
  HMAC_Final(ctx: Pointer, md: Uint8Array, len: Uint8Array): number;
  EVP_sha1(): Pointer;
  EVP_sha256(): Pointer;
  EVP_sha512(): Pointer;
}

/** Argument kinds, mapped to each FFI's type names. */
type Arg = "ptr" | "buf" | "i32" | "size";
type Result = "ptr" | "i32" | "size" | "void";

const SIGNATURES: Readonly<Record<keyof LibCryptoSymbols, readonly [readonly Arg[], Result]>> = {
  OpenSSL_version_num: [[], "size"],
  EVP_CIPHER_CTX_new: [[], "ptr"],
  EVP_CIPHER_CTX_free: [["ptr"], "void"],
  EVP_CIPHER_CTX_set_padding: [["ptr", "i32"], "i32"],
  EVP_CipherInit_ex: [["ptr", "ptr", "ptr", "buf", "buf", "i32"], "i32"],
  EVP_CipherUpdate: [["ptr", "buf", "buf", "buf", "i32"], "i32"],
  EVP_CipherFinal_ex: [["ptr", "buf", "buf"], "i32"],
  EVP_CIPHER_CTX_ctrl: [["ptr", "i32", "i32", "buf"], "i32"],
  EVP_aes_128_gcm: [[], "ptr"],
  EVP_aes_256_gcm: [[], "ptr"],
  EVP_aes_128_ctr: [[], "ptr"],
  EVP_aes_192_ctr: [[], "ptr"],
  EVP_aes_256_ctr: [[], "ptr"],
  EVP_aes_128_cbc: [[], "ptr"],
  EVP_aes_192_cbc: [[], "ptr"],
  EVP_aes_256_cbc: [[], "ptr"],
  EVP_chacha20: [[], "ptr"],
  EVP_MAC_fetch: [["ptr", "buf", "ptr"], "ptr"],
  EVP_MAC_free: [["ptr"], "void"],
  EVP_MAC_CTX_new: [["ptr"], "ptr"],
  EVP_MAC_CTX_free: [["ptr"], "void"],
  EVP_MAC_init: [["ptr", "buf", "size", "ptr"], "i32"],
  EVP_MAC_update: [["ptr", "buf", "size"], "i32"],
  EVP_MAC_final: [["ptr", "buf", "buf", "size"], "i32"],
  HMAC_CTX_new: [[], "ptr"],
  HMAC_CTX_free: [["ptr"], "void"],
  HMAC_Init_ex: [["ptr", "buf", "i32", "ptr", "ptr"], "i32"],
  HMAC_Update: [["ptr", "buf", "size"], "i32"],
  HMAC_Final: [["ptr", "buf", "buf"], "i32"],
  EVP_sha1: [[], "ptr"],
  EVP_sha256: [[], "ptr"],
  EVP_sha512: [[], "ptr"],
};

const DENO_TYPES: Readonly<Record<Arg | Result, string>> = {
  ptr: "pointer",
  buf: "buffer",
  i32: "i32",
  size: "usize",
  void: "void",
};

const BUN_TYPES: Readonly<Record<Arg | Result, string>> = {
  ptr: "ptr",
  buf: "ptr",
  i32: "i32",
  size: "usize",
  void: "void",
};

/** The parts of Deno's namespace this module uses (declared so every runtime type-checks it). */
interface DenoFfi {
  build: { os: string };
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: unknown; close(): void };
  permissions?: { querySync?(d: { name: "ffi"; path?: string }): { state: string } };
}

/** The parts of `bun:ffi` this module uses. */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: unknown; close(): void };
}

/** libcrypto, loaded, or why it is not. */
export type LibCryptoStatus =
  | { readonly available: true; readonly lib: LibCryptoSymbols; readonly path: string }
  | { readonly available: false; readonly reason: string };

/** File names tried in order on Linux (OpenSSL 3's soname, then the development link). */
const LINUX_NAMES = ["libcrypto.so.3", "libcrypto.so"];

let status: LibCryptoStatus | undefined;

/**
 * libcrypto through the FFI, loaded once; or why it is unavailable here.
 *
 * @example
 * ```ts
 * import { libcrypto } from "./binding.ts";
 * const s = libcrypto();
 * console.log(s.available ? `loaded ${s.path}` : `not used: ${s.reason}`);
 * ```
 */
export function libcrypto(): LibCryptoStatus {
  return status ??= loadLibcrypto();
}

function unavailable(reason: string): LibCryptoStatus {
  return { available: false, reason };
}

/**
 * Loads libcrypto afresh as {@link libcrypto} does (which keeps its first result), with
 * `setting` in place of `SSH_LIBCRYPTO`: "0", "off" or "false" turn it off, a path names
 * the file (on any OS), empty or "1" means the default.
 *
 * @example
 * ```ts
 * import { loadLibcrypto } from "./binding.ts";
 * console.log(loadLibcrypto("0")); // { available: false, reason: "SSH_LIBCRYPTO turns it off" }
 * ```
 */
export function loadLibcrypto(
  setting: string | undefined = envVar("SSH_LIBCRYPTO")?.trim(),
): LibCryptoStatus {
  if (setting === "0" || setting === "off" || setting === "false") {
    return unavailable("SSH_LIBCRYPTO turns it off");
  }
  const explicit = setting !== undefined && setting !== "" && setting !== "1";
  const g = globalThis as { Deno?: DenoFfi; Bun?: unknown };
  let open: ((path: string) => { symbols: unknown; close(): void }) | undefined;
  let os: string;
  if (g.Deno !== undefined) {
    const deno = g.Deno;
    os = deno.build.os;
    // Never prompt: a library must not ask the user for a permission they did not give.
    // A named file may be allowed on its own (--allow-ffi=/path/libcrypto.so.3).
    const query = explicit ? { name: "ffi" as const, path: setting } : { name: "ffi" as const };
    let state: string | undefined;
    try {
      state = deno.permissions?.querySync?.(query).state;
    } catch {
      state = undefined;
    }
    if (state !== "granted") {
      return unavailable("Deno's ffi permission is not granted (--allow-ffi)");
    }
    open = (path) => deno.dlopen(path, symbolTable(DENO_TYPES, "deno"));
  } else if (g.Bun !== undefined) {
    const bun = bunFfi();
    if (bun === undefined) return unavailable("bun:ffi is not available");
    os = (globalThis as { process?: { platform?: string } }).process?.platform ?? "";
    open = (path) => bun.dlopen(path, symbolTable(BUN_TYPES, "bun"));
  } else {
    return unavailable("this runtime has no foreign function interface");
  }
  if (!explicit && os !== "linux") {
    return unavailable(`not loaded by default on ${os} (set SSH_LIBCRYPTO to a path)`);
  }
  const errors: string[] = [];
  for (const path of explicit ? [setting] : LINUX_NAMES) {
    let handle: { symbols: unknown; close(): void };
    try {
      handle = open(path);
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    const lib = handle.symbols as LibCryptoSymbols;
    const version = Number(lib.OpenSSL_version_num());
    if (version < 0x30000000) {
      errors.push(`${path}: OpenSSL ${version.toString(16)} is older than 3.0`);
      // Never used: let the process unmap it.
      try {
        handle.close();
      } catch {
        // Closing is best effort.
      }
      continue;
    }
    return { available: true, lib, path };
  }
  return unavailable(`cannot load libcrypto (${errors.join("; ")})`);
}

function symbolTable(
  types: Readonly<Record<Arg | Result, string>>,
  runtime: "deno" | "bun",
): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [name, [args, result]] of Object.entries(SIGNATURES)) {
    table[name] = runtime === "deno"
      ? { parameters: args.map((a) => types[a]), result: types[result] }
      : { args: args.map((a) => types[a]), returns: types[result] };
  }
  return table;
}

function bunFfi(): BunFfi | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  try {
    return p?.getBuiltinModule?.("bun:ffi") as BunFfi | undefined;
  } catch {
    return undefined;
  }
}

/** Whether a pointer the FFI returned is NULL (null on Deno, null or 0 on Bun). */
export function isNull(p: Pointer): boolean {
  return p === null || p === 0 || p === undefined;
}
