/**
 * Run by provider_test.ts under Deno without `--allow-ffi`: prints what loading
 * libcrypto gave, as JSON. Must not prompt (stdin is closed) and must not throw.
 */
import { libcrypto } from "./binding.ts";

const s = libcrypto();
console.log(JSON.stringify(s.available ? { available: true, path: s.path } : s));
