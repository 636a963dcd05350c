import { test } from "node:test";
import assert from "node:assert/strict";
import { constantTimeEqual } from "./constant_time.ts";

test("constantTimeEqual() compares spans and treats out-of-range spans as unequal", () => {
  const a = new Uint8Array([1, 2, 3, 4]);
  const b = new Uint8Array([9, 2, 3, 4]);
  assert.equal(constantTimeEqual(a, 1, b, 1, 3), true);
  assert.equal(constantTimeEqual(a, 0, b, 0, 4), false);
  assert.equal(constantTimeEqual(a, 0, b, 0, 0), true);
  assert.equal(constantTimeEqual(a, 2, b, 2, 3), false);
  assert.equal(constantTimeEqual(a, -1, b, 0, 1), false);
});
