/**
 * A WebSocket-to-TCP relay for the browser example, on Node (22.18+ runs this file
 * as it is): it serves the page (`index.html`, `bundle.js`) and joins each
 * WebSocket at `/ssh` to a new TCP connection to one fixed SSH server. Browsers
 * cannot open TCP sockets; the SSH protocol, its encryption and its keys stay in
 * the page, so the relay sees only ciphertext.
 *
 * It relays to the one target it was started with (never to a host the page
 * names), listens on 127.0.0.1 by default, and refuses WebSockets from other
 * origins than its own page.
 *
 * ```sh
 * npm install ws   # the relay's one dependency
 * node examples/browser/relay.ts --target 127.0.0.1:22 --port 8022
 * ```
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { connect as tcpConnect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type WebSocket, WebSocketServer } from "ws";

/** Where the relay listens and what it relays to. */
export interface RelayOptions {
  /** The SSH server every WebSocket is joined to. */
  readonly target: { readonly host: string; readonly port: number };
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Directory holding `index.html` and `bundle.js`. Default this file's directory. */
  readonly staticDir?: string;
}

/** A running relay. */
export interface Relay {
  /** The page's URL, e.g. `http://127.0.0.1:8022/`. */
  readonly url: string;
  /** The WebSocket URL the page connects to. */
  readonly wsUrl: string;
  /** Stops listening and closes every relayed connection. */
  close(): Promise<void>;
}

/** The files the relay serves, with their content types; nothing else is served. */
const STATIC_FILES: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/bundle.js": "bundle.js",
};
const CONTENT_TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "bundle.js": "text/javascript; charset=utf-8",
};
/** Stop reading from one side while this much is waiting to be written to the other. */
const HIGH_WATER_MARK = 1024 * 1024;

/** A WebSocket from another origin than the page (or with no Host) is refused. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser (a CLI client or a test)
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Starts the relay.
 *
 * @example
 * ```ts ignore
 * const relay = await startRelay({ target: { host: "127.0.0.1", port: 22 }, port: 8022 });
 * console.log(`open ${relay.url}`);
 * ```
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const staticDir = options.staticDir ?? dirname(fileURLToPath(import.meta.url));
  const http = createServer(async (req, res) => {
    const file = STATIC_FILES[new URL(req.url ?? "/", "http://x").pathname];
    if (req.method !== "GET" || !file) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(staticDir, file));
      res.writeHead(200, { "content-type": CONTENT_TYPES[file]!, "cache-control": "no-store" })
        .end(body);
    } catch {
      res.writeHead(404).end(`${file} is missing; bundle the page first`);
    }
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const live = new Set<WebSocket>();
  http.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/ssh" || !sameOrigin(req)) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => relay(ws));
  });

  function relay(ws: WebSocket): void {
    live.add(ws);
    const tcp = tcpConnect({ host: options.target.host, port: options.target.port });
    tcp.setNoDelay(true);
    tcp.on("data", (chunk) => {
      ws.send(chunk, () => {
        if (ws.bufferedAmount < HIGH_WATER_MARK) tcp.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER_MARK) tcp.pause();
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return ws.close(1003, "binary frames only");
      const chunks = Array.isArray(data) ? data : [Buffer.from(data as ArrayBuffer)];
      for (const chunk of chunks) {
        if (!tcp.write(chunk)) {
          ws.pause();
          tcp.once("drain", () => ws.resume());
        }
      }
    });
    const end = () => {
      live.delete(ws);
      tcp.destroy();
      if (ws.readyState === ws.OPEN) ws.close();
    };
    tcp.on("close", end);
    tcp.on("error", end);
    ws.on("close", end);
    ws.on("error", end);
  }

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = http.address();
  if (address === null || typeof address === "string") throw new Error("relay: no TCP address");
  const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostPart}:${address.port}/`,
    wsUrl: `ws://${hostPart}:${address.port}/ssh`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of live) ws.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  if (!m) throw new Error(`Expected HOST:PORT, got '${s}'`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

if (import.meta.main || process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const target = arg("--target");
  if (!target) {
    console.error("usage: node relay.ts --target HOST:PORT [--port 8022] [--host 127.0.0.1]");
    process.exit(2);
  }
  const relayServer = await startRelay({
    target: parseHostPort(target),
    port: Number(arg("--port") ?? 8022),
    host: arg("--host") ?? "127.0.0.1",
    ...(arg("--dir") ? { staticDir: arg("--dir")! } : {}),
  });
  console.log(`relay: open ${relayServer.url} (relaying ${relayServer.wsUrl} to ${target})`);
}
