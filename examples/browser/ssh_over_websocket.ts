/**
 * Runs one command over SSH from a browser: the sans-IO client engine from
 * `@sshts/ssh/core`, driven over a WebSocket that a relay (`relay.ts`) joins to the
 * server's TCP port. Every byte the engine reads or writes passes through here;
 * the engine itself touches no socket and no timer.
 *
 * @module
 */

import {
  ClientConnection,
  createDefaultSuite,
  decodeExitStatus,
  defaultAlgorithmPreferences,
  encodeStringArg,
} from "@sshts/ssh/core";
import { importPrivateKey, SSHKey } from "@sshts/ssh/keys";

/** What {@link runCommand} needs. */
export interface RunCommandOptions {
  /** The relay's WebSocket URL, e.g. `ws://127.0.0.1:8022/ssh`. */
  readonly url: string;
  /** The user to log in as. */
  readonly username: string;
  /** An unencrypted private key (OpenSSH, PKCS#8, PEM or PuTTY text) for publickey login. */
  readonly privateKey: string;
  /**
   * The host key fingerprints to trust (`SHA256:...`, as `ssh-keygen -lf` prints them).
   * Any other host key ends the connection: nothing is trusted on first use.
   */
  readonly trustedHostKeys: readonly string[];
  /** The command to run. */
  readonly command: string;
  /** Gives up after this many ms. Default 20 s. */
  readonly timeoutMs?: number;
}

/** What the command did. */
export interface RunCommandResult {
  /** Standard output, decoded as UTF-8. */
  readonly stdout: string;
  /** Standard error, decoded as UTF-8. */
  readonly stderr: string;
  /** The exit status, or null if the server sent none. */
  readonly exitStatus: number | null;
  /** The server's host key fingerprint (one of `trustedHostKeys`). */
  readonly hostKey: string;
  /** The negotiated key exchange method and cipher, for display. */
  readonly kex: string;
  /** The cipher the client sends with. */
  readonly cipher: string;
}

/**
 * Connects through the relay at `options.url`, checks the host key, logs in with
 * the private key, runs the command and returns its output and exit status.
 *
 * @example
 * ```ts ignore
 * const r = await runCommand({
 *   url: "ws://127.0.0.1:8022/ssh",
 *   username: "deploy",
 *   privateKey: keyText,
 *   trustedHostKeys: ["SHA256:..."],
 *   command: "uname -a",
 * });
 * console.log(r.exitStatus, r.stdout);
 * ```
 */
export function runCommand(options: RunCommandOptions): Promise<RunCommandResult> {
  const key = importPrivateKey(options.privateKey);
  const conn = new ClientConnection({
    username: options.username,
    suite: createDefaultSuite(),
    algorithms: defaultAlgorithmPreferences(),
    publicKeys: [{ keyType: key.getAlgorithm(), publicKeyBlob: key.publicBlob }],
  });
  const ws = new WebSocket(options.url);
  ws.binaryType = "arraybuffer";
  const decoder = { out: new TextDecoder(), err: new TextDecoder() };
  let stdout = "";
  let stderr = "";
  let exitStatus: number | null = null;
  let sawEof = false;
  let hostKey = "";
  let kex = "";
  let cipher = "";
  let channel = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;

  return new Promise<RunCommandResult>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
      if (!conn.closed) conn.disconnect();
      flush();
      ws.close();
      if (error) reject(error);
      else resolve({ stdout, stderr, exitStatus, hostKey, kex, cipher });
    };
    const giveUp = setTimeout(
      () => finish(new Error(`No answer within ${options.timeoutMs ?? 20_000} ms`)),
      options.timeoutMs ?? 20_000,
    );

    // Sends what the engine queued, then arms a timer for its next deadline.
    const flush = () => {
      for (const chunk of conn.takeOutgoing()) {
        if (ws.readyState === WebSocket.OPEN) ws.send(chunk);
      }
      clearTimeout(timer);
      const deadline = conn.nextDeadline();
      if (deadline !== undefined && !settled) {
        timer = setTimeout(() => {
          conn.handleTimeout(Date.now());
          pump();
        }, Math.max(0, deadline - Date.now()));
      }
    };

    // Answers every queued event, then sends what the answers produced.
    const pump = () => {
      try {
        for (let e; (e = conn.pollEvent()) !== undefined;) {
          switch (e.type) {
            case "hostKey": {
              hostKey = SSHKey.fromPublicBlob(e.keyBlob).getFingerprint();
              if (options.trustedHostKeys.includes(hostKey)) conn.acceptHostKey(e.id);
              else conn.rejectHostKey(e.id, `Host key ${hostKey} is not trusted`);
              break;
            }
            case "kexComplete":
              kex = e.algorithms.kex;
              cipher = e.algorithms.cipherC2S;
              break;
            case "authSignRequest":
              conn.provideSignature(e.id, key.sign(e.data, e.algorithm));
              break;
            case "authPasswordRequest":
              conn.providePassword(e.id, null); // no password: publickey only
              break;
            case "authSuccess":
              channel = conn.openChannel("session");
              break;
            case "channelOpen":
              conn.sendChannelRequest(channel, "exec", true, encodeStringArg(options.command));
              break;
            case "channelOpenFailure":
              finish(new Error(`The server refused a session: ${e.description}`));
              break;
            case "channelRequestReply":
              if (!e.success) finish(new Error(`The server refused to run the command`));
              break;
            case "channelData":
              if (e.stream === 0) stdout += decoder.out.decode(e.data, { stream: true });
              else stderr += decoder.err.decode(e.data, { stream: true });
              conn.consume(e.channelId, e.data.length); // reopens the window as we read
              break;
            case "channelRequest":
              if (e.request === "exit-status") exitStatus = decodeExitStatus(e.data);
              if (e.wantReply) conn.replyChannelRequest(e.channelId, false);
              if (exitStatus !== null && sawEof) conn.closeChannel(e.channelId);
              break;
            case "channelEof":
              // sshd may send EOF before exit-status: closing now would drop the status
              // (a closed side gets no more requests), so close once both are in. The
              // server's own CLOSE is answered by the engine either way.
              sawEof = true;
              if (exitStatus !== null) conn.closeChannel(e.channelId);
              break;
            case "channelClose":
              stdout += decoder.out.decode();
              stderr += decoder.err.decode();
              finish();
              break;
            case "globalRequest":
              if (e.wantReply) conn.replyGlobalRequest(e.requestId, false);
              break;
            case "disconnect":
              finish(e.error);
              break;
          }
        }
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
      flush();
    };

    ws.onopen = () => {
      conn.handleTimeout(Date.now());
      flush(); // our version line and KEXINIT
    };
    ws.onmessage = (ev: MessageEvent) => {
      conn.receiveData(new Uint8Array(ev.data as ArrayBuffer));
      pump();
    };
    ws.onerror = () => finish(new Error(`WebSocket error on ${options.url}`));
    ws.onclose = () => {
      if (!settled) conn.receiveEof();
      pump();
      finish(new Error("The relay closed the connection"));
    };
  });
}
