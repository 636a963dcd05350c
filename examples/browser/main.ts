/// <reference lib="dom" />
/**
 * The page script of the browser example: reads the form, runs the command
 * through the relay with {@link runCommand}, and shows the result. Bundle it with
 * `deno bundle --platform browser -o examples/browser/bundle.js examples/browser/main.ts`.
 *
 * @module
 */

import { runCommand, type RunCommandOptions, type RunCommandResult } from "./ssh_over_websocket.ts";

declare global {
  // The page's API, for scripts and tests driving the page.
  var sshExample: { runCommand(options: RunCommandOptions): Promise<RunCommandResult> };
}
globalThis.sshExample = { runCommand };

const form = document.querySelector<HTMLFormElement>("#ssh");
const output = document.querySelector<HTMLPreElement>("#output");
if (form && output) {
  const relayUrl = new URL("/ssh", location.href);
  relayUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    output.textContent = "connecting...";
    try {
      const r = await runCommand({
        url: relayUrl.href,
        username: field("username"),
        privateKey: field("privateKey"),
        trustedHostKeys: field("hostKey").split(/\s+/).filter(Boolean),
        command: field("command"),
      });
      output.textContent = `${r.stdout}${r.stderr}\n[exit status ${r.exitStatus}; ${r.kex}, ` +
        `${r.cipher}; host key ${r.hostKey}]`;
    } catch (e) {
      output.textContent = `error: ${e instanceof Error ? e.message : e}`;
    }
  });
}
