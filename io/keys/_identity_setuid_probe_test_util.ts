/**
 * Run by files_test.ts as root with a root-only key file: loads it as connect() does, gives up
 * root for nobody (65534), and loads it again. Prints `{ before, after }`: the pairs each gave.
 */
import process from "node:process";
import { loadIdentityFiles } from "./files.ts";

const path = process.argv.at(-1)!;
const before = (await loadIdentityFiles([path])).length;
process.setgid!(65534);
(process as { setgroups?: (g: number[]) => void }).setgroups?.([]);
process.setuid!(65534);
const after = (await loadIdentityFiles([path])).length;
console.log(JSON.stringify({ before, after }));
