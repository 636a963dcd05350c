/**
 * Poly1305 known answers for the tests of every Poly1305 here (JavaScript and
 * WebAssembly): RFC 8439 §2.5.2 and all eleven vectors of Appendix A.3, whose
 * later ones (#5–#11) are built to hit the rare branches of the final reduction
 * and of carries past 2^130.
 *
 * @module
 */

import { unhex } from "./_test_util.ts";

/** One known answer: 32-byte key and 16-byte tag in hex, the message as bytes. */
export interface Poly1305Vector {
  /** Where it comes from. */
  readonly name: string;
  /** r ‖ s, hex. */
  readonly key: string;
  /** The message. */
  readonly msg: Uint8Array;
  /** The expected tag, hex. */
  readonly tag: string;
}

const enc = new TextEncoder();

const IETF_TEXT = enc.encode(
  "Any submission to the IETF intended by the Contributor for publication as all or part of an " +
    "IETF Internet-Draft or RFC and any statement made within the context of an IETF activity " +
    'is considered an "IETF Contribution". Such statements include oral statements in IETF ' +
    "sessions, as well as written and electronic communications made at any time or place, " +
    "which are addressed to",
);

/**
 * RFC 8439 §2.5.2 and Appendix A.3 #1–#11.
 *
 * @example
 * ```ts
 * import { POLY1305_VECTORS } from "./_poly1305_vectors.ts";
 * console.log(POLY1305_VECTORS.length); // 12
 * ```
 */
export const POLY1305_VECTORS: readonly Poly1305Vector[] = [
  {
    name: "§2.5.2",
    key: "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
    msg: enc.encode("Cryptographic Forum Research Group"),
    tag: "a8061dc1305136c6c22b8baf0c0127a9",
  },
  { name: "A.3 #1", key: "00".repeat(32), msg: new Uint8Array(64), tag: "00".repeat(16) },
  {
    name: "A.3 #2 (r = 0)",
    key: "00".repeat(16) + "36e5f6b5c5e06070f0efca96227a863e",
    msg: IETF_TEXT,
    tag: "36e5f6b5c5e06070f0efca96227a863e",
  },
  {
    name: "A.3 #3 (s = 0)",
    key: "36e5f6b5c5e06070f0efca96227a863e" + "00".repeat(16),
    msg: IETF_TEXT,
    tag: "f3477e7cd95417af89a6b8794c310cf0",
  },
  {
    name: "A.3 #4",
    key: "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
    msg: enc.encode(
      "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n" +
        "All mimsy were the borogoves,\nAnd the mome raths outgrabe.",
    ),
    tag: "4541669a7eaaee61e708dc7cbcc5eb62",
  },
  {
    name: "A.3 #5 (partially reduced result not fully reduced)",
    key: "02" + "00".repeat(31),
    msg: unhex("ff".repeat(16)),
    tag: "03" + "00".repeat(15),
  },
  {
    name: "A.3 #6 (adding s overflows 2^128)",
    key: "02" + "00".repeat(15) + "ff".repeat(16),
    msg: unhex("02" + "00".repeat(15)),
    tag: "03" + "00".repeat(15),
  },
  {
    name: "A.3 #7 (all-ones limb with a carry in)",
    key: "01" + "00".repeat(31),
    msg: unhex("ff".repeat(16) + "f0" + "ff".repeat(15) + "11" + "00".repeat(15)),
    tag: "05" + "00".repeat(15),
  },
  {
    name: "A.3 #8 (polynomial part exactly 2^130 − 5)",
    key: "01" + "00".repeat(31),
    msg: unhex("ff".repeat(16) + "fb" + "fe".repeat(15) + "01".repeat(16)),
    tag: "00".repeat(16),
  },
  {
    name: "A.3 #9 (polynomial part exactly 2^130 − 6)",
    key: "02" + "00".repeat(31),
    msg: unhex("fd" + "ff".repeat(15)),
    tag: "fa" + "ff".repeat(15),
  },
  {
    name: "A.3 #10 (131-bit intermediate in 5·H + L)",
    key: "01000000000000000400000000000000" + "00".repeat(16),
    msg: unhex(
      "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000" +
        "0000000000000000000000000000000001000000000000000000000000000000",
    ),
    tag: "14000000000000005500000000000000",
  },
  {
    name: "A.3 #11 (131-bit final result in 5·H + L)",
    key: "01000000000000000400000000000000" + "00".repeat(16),
    msg: unhex(
      "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000" +
        "00000000000000000000000000000000",
    ),
    tag: "13000000000000000000000000000000",
  },
];
