import { test } from "node:test";
import assert from "node:assert/strict";
import { KERNELS_MODULE_BASE64 } from "./kernels_module_bytes.ts";
import { decodeModuleBytes } from "./module_bytes.ts";
import { PREBUILT_MODULES } from "./prebuilt.ts";
import { SNTRUP761_MODULE_BASE64 } from "./sntrup761_module_bytes.ts";

const EMBEDDED: Record<string, string> = {
  KERNELS_MODULE_BASE64,
  SNTRUP761_MODULE_BASE64,
};

for (const m of PREBUILT_MODULES) {
  test(`${m.file} holds what ${m.builder} builds (else: node_modules/.bin/node scripts/embed_wasm.ts)`, () => {
    const embedded = EMBEDDED[m.constant];
    assert.ok(embedded !== undefined, `${m.constant} is not imported here`);
    assert.deepEqual(decodeModuleBytes(embedded), m.build());
  });
}

test("every prebuilt module is checked here", () => {
  assert.deepEqual(PREBUILT_MODULES.map((m) => m.constant).sort(), Object.keys(EMBEDDED).sort());
});

test("decodeModuleBytes reads base64 into the module's bytes", () => {
  assert.deepEqual([...decodeModuleBytes("AGFzbQEAAAA=")], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  assert.ok(WebAssembly.validate(decodeModuleBytes(SNTRUP761_MODULE_BASE64)));
});
