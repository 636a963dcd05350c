/**
 * Test helper for the tests of the package entry point (mod_*_test.ts): our `listen()` on
 * 127.0.0.1 with password logins and a `connect()`ed client, disposed together. The tests
 * take the API under test from `./mod.ts`; this set-up is the one io/'s tests use (the
 * same `listen` and `connect` mod.ts exports).
 *
 * @module
 */
export { loopback as loopbackPair } from "./io/server/_loopback_test_util.ts";
