/**
 * spawnProxyCommand(): a proxy command does not outlive its socket, even one that ignores
 * SIGTERM (its child handle would otherwise keep the process from exiting).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { spawnProxyCommand } from "./proxy_command.ts";

/** Whether process `pid` still runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (at most 30 s: the grace period is 2) until `pid` no longer runs. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 300 && running(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !running(pid);
}

// Prints its pid once SIGTERM is ignored, then waits for ever (not reading stdin).
const STUBBORN = ["/bin/sh", "-c", "trap '' TERM HUP; echo $$; while :; do sleep 0.1; done"];

for (const how of ["destroy", "end"] as const) {
  test(`spawnProxyCommand(): ${how}() ends a command that ignores SIGTERM`, {
    skip: process.platform === "win32" && "no POSIX shell",
  }, async () => {
    const sock = spawnProxyCommand(STUBBORN, { env: { PATH: "/usr/bin:/bin" } });
    const pid = await new Promise<number>((resolve, reject) => {
      let text = "";
      sock.setHandlers({
        data: (d) => {
          text += new TextDecoder().decode(d);
          if (text.includes("\n")) resolve(Number(text.trim()));
        },
        end: () => {},
        error: reject,
        drain: () => {},
        close: () => {},
      });
    });
    assert.ok(pid > 0 && running(pid));
    try {
      if (how === "destroy") sock.destroy();
      else sock.end();
      assert.ok(await gone(pid), "the proxy command still runs");
    } finally {
      if (running(pid)) process.kill(pid, "SIGKILL");
    }
  });
}
