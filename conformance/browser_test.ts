/**
 * The browser example end to end: the page (examples/browser/, bundled from
 * `@sshts/ssh/core` and `@sshts/ssh/keys` for the browser platform) runs in headless
 * Chromium and, through the example's WebSocket-to-TCP relay, performs a real key
 * exchange, a publickey login and an `exec` against OpenSSH's sshd.
 *
 * Chromium is driven over the DevTools protocol directly (a WebSocket and four
 * commands; no puppeteer). Runs under Node only (see packaging_helpers.ts): the
 * relay is a Node script, and one host runtime is enough since the code under test
 * runs in Chromium.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { sharedPeer } from "./_shared_peer.ts";
import { killTreeSync } from "./fixtures/command.ts";
import { bin, nodeHostTest, ROOT, run, runtimeReferences, tempDir } from "./packaging_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--remote-debugging-address=127.0.0.1",
  "--remote-debugging-port=0",
];

/** A DevTools protocol connection: commands with ids, events collected as text for failures. */
class DevTools {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #next = 1;
  /** Console messages and exceptions from the page, for failure messages. */
  readonly log: string[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: {
          type?: string;
          args?: { value?: unknown; description?: string }[];
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
      };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`DevTools: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else if (msg.method === "Runtime.consoleAPICalled") {
        this.log.push(
          `console.${msg.params?.type}: ` +
            (msg.params?.args ?? []).map((a) => a.value ?? a.description).join(" "),
        );
      } else if (msg.method === "Runtime.exceptionThrown") {
        const d = msg.params?.exceptionDetails;
        this.log.push(`exception: ${d?.exception?.description ?? d?.text}`);
      }
    };
    ws.onclose = () => {
      for (const p of this.#pending.values()) p.reject(new Error("DevTools connection closed"));
      this.#pending.clear();
    };
  }

  static open(url: string): Promise<DevTools> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new DevTools(ws));
      ws.onerror = () => reject(new Error(`Cannot connect to DevTools at ${url}`));
    });
  }

  send<T>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Evaluates `expression` in the page, awaiting a promise; throws the page's exception. */
  async evaluate(sessionId: string, expression: string): Promise<unknown> {
    const r = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (r.exceptionDetails) {
      throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    }
    return r.result.value;
  }

  close(): void {
    this.#ws.close();
  }
}

/** Starts Chromium and resolves with its DevTools WebSocket URL. */
function launchChromium(
  profileDir: string,
): Promise<{ url: string; pid: number; output: () => string }> {
  const child = spawn(
    CHROMIUM,
    [...CHROMIUM_FLAGS, `--user-data-dir=${profileDir}`, "about:blank"],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Chromium did not start its DevTools server:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      const m = output.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, pid: child.pid!, output: () => output });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}):\n${output}`));
    });
  });
}

nodeHostTest(
  "browser example: Chromium runs key exchange, publickey login and exec against sshd through the relay",
  { peers: ["openssh"], timeoutMs: 180_000 },
  async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install chromium)`);
    const peer = await sharedPeer("openssh");
    const dir = await tempDir("browser");
    const cleanup: (() => unknown)[] = [() => dir.remove()];
    try {
      // The page: index.html from the example, bundle.js built for the browser platform.
      const site = join(dir.path, "site");
      await run(["mkdir", "-p", site]);
      await copyFile(join(ROOT, "examples", "browser", "index.html"), join(site, "index.html"));
      await run([
        bin("deno"),
        "bundle",
        "--platform",
        "browser",
        "-o",
        join(site, "bundle.js"),
        "examples/browser/main.ts",
      ]);
      assert.deepEqual(runtimeReferences(await readFile(join(site, "bundle.js"), "utf8")), []);

      const { startRelay } = await import("../examples/browser/relay.ts");
      const relay = await startRelay({
        target: { host: peer.host, port: peer.port },
        staticDir: site,
      });
      cleanup.unshift(() => relay.close());

      const chromium = await launchChromium(join(dir.path, "profile"));
      cleanup.unshift(() => killTreeSync(chromium.pid, "SIGKILL"));
      const devtools = await DevTools.open(chromium.url);
      cleanup.unshift(() => devtools.close());
      const { targetId } = await devtools.send<{ targetId: string }>("Target.createTarget", {
        url: relay.url,
      });
      const { sessionId } = await devtools.send<{ sessionId: string }>("Target.attachToTarget", {
        targetId,
        flatten: true,
      });
      await devtools.send("Runtime.enable", {}, sessionId);
      const failure = (what: string) =>
        `${what}\npage log:\n${devtools.log.join("\n")}\nchromium:\n${chromium.output()}`;

      // Wait for the page's module to load.
      const deadline = Date.now() + 30_000;
      while (
        await devtools.evaluate(sessionId, "typeof globalThis.sshExample?.runCommand") !==
          "function"
      ) {
        assert.ok(Date.now() < deadline, failure("the page did not load its bundle"));
        await new Promise((r) => setTimeout(r, 100));
      }

      const options = {
        url: relay.wsUrl,
        username: peer.user.name,
        privateKey: peer.clientKeys[0]!.privateKeyText,
        trustedHostKeys: peer.hostKeys.map((k) => k.fingerprint),
        command: "echo browser-$((6 * 7)); echo to-stderr >&2; exit 7",
      };
      let result: {
        stdout: string;
        stderr: string;
        exitStatus: number;
        hostKey: string;
        kex: string;
        cipher: string;
      };
      try {
        result = await devtools.evaluate(
          sessionId,
          `sshExample.runCommand(${JSON.stringify(options)})`,
        ) as typeof result;
      } catch (e) {
        throw new Error(failure(`runCommand failed: ${e}`), { cause: e });
      }
      assert.equal(result.stdout, "browser-42\n", failure("stdout"));
      assert.equal(result.stderr, "to-stderr\n");
      assert.equal(result.exitStatus, 7);
      assert.ok(options.trustedHostKeys.includes(result.hostKey), result.hostKey);
      assert.ok(result.kex.length > 0 && result.cipher.length > 0);

      // The page refuses a host key it was not told to trust.
      await assert.rejects(
        devtools.evaluate(
          sessionId,
          `sshExample.runCommand(${
            JSON.stringify({ ...options, trustedHostKeys: ["SHA256:not-this-one"] })
          })`,
        ),
        /not trusted/,
      );
      await devtools.send("Browser.close").catch(() => {});
    } finally {
      for (const c of cleanup) await c();
    }
  },
);
