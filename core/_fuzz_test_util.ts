/**
 * Test helper for the byte-format fuzz tests (KRLs, agent messages, key files):
 * the mutations every one of them applies to a valid encoding.
 *
 * @module
 */

/**
 * Mutation `kind` of `b`, driven by four random bytes `x`: 0 truncates it, 1 flips
 * bits of one byte, 2 inflates a length (0xff 0x84 at one place: the classic way to
 * ask a parser for a huge allocation). The place is `x[0..1]` modulo the length.
 *
 * @example
 * ```ts
 * import { mutateBytes } from "./_fuzz_test_util.ts";
 * console.log(mutateBytes(Uint8Array.of(1, 2, 3), 0, Uint8Array.of(0, 2, 0, 0))); // [1, 2]
 * ```
 */
export function mutateBytes(b: Uint8Array, kind: 0 | 1 | 2, x: Uint8Array): Uint8Array {
  const at = mutationPlace(b, x);
  if (kind === 0) return b.slice(0, at);
  const c = b.slice();
  if (kind === 1) {
    c[at] = c[at]! ^ (x[2]! | 1);
  } else {
    c[at] = 0xff;
    if (at + 1 < c.length) c[at + 1] = 0x84;
  }
  return c;
}

/** The place {@link mutateBytes} mutates: `x[0..1]` modulo the length of `b`. */
export function mutationPlace(b: Uint8Array, x: Uint8Array): number {
  return ((x[0]! << 8) | x[1]!) % Math.max(1, b.length);
}

/**
 * The files whose loops {@link fuzzRuns} and {@link fuzzSeed} drive, as filters for
 * `scripts/run_tests.mjs` (which selects test files whose path contains one of them).
 */
export const FUZZ_TEST_FILTERS: readonly string[] = [
  "fuzz_test",
  "sftp/scp/records_test",
  "sftp/scp/sink_machine_test",
  "keys/formats/asn1_test",
  "keys/trust/known_hosts_test",
  "keys/trust/authorized_keys_test",
  "keys/trust/host_patterns_test",
  "core/wire_test",
  "core/transport/packet_test",
  "core/transport/version_test",
  "core/publickey/blob_test",
  "core/publickey/verify_test",
  "core/escaped_utf8_test",
  "keys/formats/pem_test",
  "keys/formats/openssh_private_test",
  "keys/certificates/certificate_test",
  "config/mux_test",
  "sftp/messages_test",
  "io/server/x11_test",
  "io/client/x11_display_test",
  "io/forward/socks_codec_test",
  "io/engine/channel_test",
  "core/crypto/noble_provider_test",
  "io/crypto/native_provider_test",
];

/**
 * A fuzz campaign's settings from the environment, read once. Absent (a browser, or Deno
 * without `--allow-env`): the suite's own settings.
 */
const campaign = (() => {
  let env: Record<string, string | undefined> | undefined;
  try {
    env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
      ?.env;
    void env?.SSH_FUZZ_SCALE; // Deno without --allow-env throws here
  } catch {
    env = undefined;
  }
  const int = (name: string, fallback: number, min: number, max: number) => {
    const v = env?.[name];
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new RangeError(
        `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
  const settings = {
    scale: int("SSH_FUZZ_SCALE", 1, 1, 100_000),
    seed: int("SSH_FUZZ_SEED", 0, 0, 0xffffffff),
  };
  if (settings.scale !== 1 || settings.seed !== 0) {
    // Failure messages name the iteration; these two (and the file) reproduce it.
    console.error(
      `fuzz campaign: SSH_FUZZ_SCALE=${settings.scale} SSH_FUZZ_SEED=${settings.seed}`,
    );
  }
  return settings;
})();

/**
 * How many iterations a fuzz loop of `n` runs: `n` in the suite, `n × SSH_FUZZ_SCALE` in a
 * longer campaign. A campaign over every file {@link FUZZ_TEST_FILTERS} names:
 *
 * ```sh
 * FILES=$(node_modules/.bin/node -e 'import("./core/_fuzz_test_util.ts")
 *   .then((m) => console.log(m.FUZZ_TEST_FILTERS.join(" ")))')
 * SSH_FUZZ_SCALE=20 SSH_FUZZ_SEED=3 SSH_TEST_RUNTIME_TIMEOUT_MS=36000000 \
 *   node scripts/run_tests.mjs --no-checks --only node $FILES
 * ```
 *
 * (At scale 1 those files take about a minute on Node here; the runner stops a runtime after
 * 40 minutes unless `SSH_TEST_RUNTIME_TIMEOUT_MS` says otherwise.)
 *
 * @example
 * ```ts
 * import { fuzzRuns } from "./_fuzz_test_util.ts";
 * const runs = fuzzRuns(300); // 300 unless SSH_FUZZ_SCALE is set
 * ```
 */
export function fuzzRuns(n: number): number {
  return n * campaign.scale;
}

/**
 * The seed a fuzz test uses: its own `base` in the suite, moved by `SSH_FUZZ_SEED` (a 32-bit
 * value) in a campaign, so that each campaign explores other inputs. A test's draws come from
 * one stream, so a failure is reproduced by the same file with the same two settings.
 *
 * @example
 * ```ts
 * import { fuzzSeed } from "./_fuzz_test_util.ts";
 * console.log(fuzzSeed(42)); // 42 unless SSH_FUZZ_SEED is set
 * ```
 */
export function fuzzSeed(base: number): number {
  return ((base >>> 0) + Math.imul(campaign.seed, 0x9e3779b1)) >>> 0 || 1;
}
