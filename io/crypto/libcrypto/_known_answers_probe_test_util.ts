/**
 * Run by known_answers_test.ts in a child process (with an OpenSSL configuration that
 * fetches no algorithm): prints which ciphers libcrypto took over, as JSON.
 */
import { libcrypto } from "./binding.ts";
import { registerLibcrypto } from "./provider.ts";

const s = libcrypto();
console.log(JSON.stringify({ available: s.available, registered: registerLibcrypto() }));
