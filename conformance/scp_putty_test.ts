/**
 * PuTTY's `pscp` against our SCP server: `-scp` (the legacy protocol, which
 * runs `scp -t` / `scp -f` on `listen({ scp })`) and `-sftp`, a file and a
 * tree with `-r -p`, both ways.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type CommandResult, runCommand } from "./fixtures/mod.ts";
import {
  interopServer,
  interopTest,
  keyMaterial,
  LOGIN,
  scratchDir,
  sha256Hex,
  testData,
} from "./interop_peers.ts";
import type { TestServer } from "./server_fixture.ts";

async function pscp(server: TestServer, args: readonly string[]): Promise<CommandResult> {
  const m = await keyMaterial();
  const home = join(scratchDir(), "pscp-home");
  mkdirSync(home, { recursive: true });
  return await runCommand(
    [
      "pscp",
      "-batch",
      "-P",
      String(server.port),
      "-l",
      LOGIN.user,
      "-pw",
      LOGIN.password,
      ...m.hostKeys.flatMap((k) => ["-hostkey", k.fingerprint]),
      ...args,
    ],
    { env: { ...process.env as Record<string, string>, HOME: home }, timeoutMs: 120_000 },
  );
}

for (const mode of ["-scp", "-sftp"] as const) {
  interopTest(
    `pscp ${mode}: a file and a tree with -r -p, both ways, against listen({ scp, sftp })`,
    { tools: ["putty"] },
    async () => {
      const base = join(scratchDir(), `pscp${mode}`);
      const root = join(base, "root");
      const local = join(base, "local");
      mkdirSync(root, { recursive: true });
      mkdirSync(join(local, "tree", "sub"), { recursive: true });
      const data = testData(600_000, 21);
      writeFileSync(join(local, "a.bin"), data);
      writeFileSync(join(local, "tree", "t.txt"), "tree\n");
      writeFileSync(join(local, "tree", "sub", "s.txt"), "sub\n");
      utimesSync(join(local, "tree", "t.txt"), 1_420_000_000, 1_320_000_000);
      await using server = await interopServer({ scp: { root }, sftp: { root } });
      const ok = async (args: string[]) => {
        const r = await pscp(server, [mode, ...args]);
        assert.equal(r.status, 0, `pscp ${args.join(" ")}: ${r.stderr}`);
      };
      await ok([join(local, "a.bin"), "127.0.0.1:/a.bin"]);
      assert.equal(sha256Hex(readFileSync(join(root, "a.bin"))), sha256Hex(data));
      await ok(["127.0.0.1:/a.bin", join(local, "back.bin")]);
      assert.equal(sha256Hex(readFileSync(join(local, "back.bin"))), sha256Hex(data));
      await ok(["-r", "-p", join(local, "tree"), "127.0.0.1:/"]);
      assert.equal(readFileSync(join(root, "tree", "sub", "s.txt"), "utf8"), "sub\n");
      assert.equal(Math.floor(statSync(join(root, "tree", "t.txt")).mtimeMs / 1000), 1_320_000_000);
      mkdirSync(join(local, "down"));
      await ok(["-r", "-p", "127.0.0.1:/tree", join(local, "down")]);
      assert.deepEqual(readdirSync(join(local, "down", "tree")).sort(), ["sub", "t.txt"]);
      assert.equal(
        Math.floor(statSync(join(local, "down", "tree", "t.txt")).mtimeMs / 1000),
        1_320_000_000,
      );
    },
  );
}
