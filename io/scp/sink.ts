/**
 * The receiving side of legacy SCP (`scp -t` on a server, the client of
 * `scp -f`): reads records, checks them, writes through a {@link SinkTarget}
 * and acknowledges. A protocol violation or an unsafe record ends the
 * transfer with a fatal record to the peer and an {@link SCPError}; a file
 * cut mid-way is removed by its target and the error names it.
 *
 * @module
 */

import { MAX_DEPTH, SCPError, type SCPRecord, type SCPTimes } from "../../sftp/scp/records.ts";
import type { SCPStream } from "./stream.ts";

/** A file being received. */
export interface SinkFile {
  /** The path shown in messages and progress. */
  readonly path: string;
  /** Writes the next bytes. */
  write(data: Uint8Array): Promise<void>;
  /** All bytes arrived: applies times and mode as asked and closes. */
  finish(): Promise<void>;
  /** The transfer failed: closes and removes the partial file. */
  abort(): Promise<void>;
}

/**
 * Where a sink writes. `dirs` are the names of the directories entered so
 * far (empty at the top of the transfer).
 */
export interface SinkTarget {
  /** A file record arrived. */
  openFile(
    dirs: readonly string[],
    name: string,
    mode: number,
    size: number,
    times: SCPTimes | undefined,
  ): Promise<SinkFile>;
  /** A directory record arrived: create or enter it. */
  enterDir(
    dirs: readonly string[],
    name: string,
    mode: number,
    times: SCPTimes | undefined,
  ): Promise<void>;
  /** The directory `dirs` (its last name) is complete. */
  leaveDir(dirs: readonly string[]): Promise<void>;
}

/** Options of {@link runSink}. */
export interface SinkOptions {
  /** Accept directories (`-r`). */
  readonly recurse: boolean;
  /** The names the peer may send at the top (CVE-2019-6111); any safe name when absent. */
  readonly expect?: ((name: string) => boolean) | undefined;
  /** What was asked for, for the error when a name does not match. */
  readonly requested?: string | undefined;
  /** Stops the transfer. */
  readonly signal?: AbortSignal | undefined;
  /** Bytes done and total of the file at `path`. */
  readonly onProgress?: ((done: number, total: number, path: string) => void) | undefined;
}

/** What a sink run ended with. */
export interface SinkResult {
  /** Files received whole. */
  readonly files: number;
  /** Errors the peer reported or we reported to it (escaped); the transfer went on. */
  readonly warnings: readonly string[];
}

/** File data is read in pieces of at most this many bytes. */
const DATA_CHUNK = 256 * 1024;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs the sink until the peer ends its stream. Sends the first "ready"
 * byte itself.
 *
 * @example
 * ```ts ignore
 * const { files, warnings } = await runSink(stream, target, { recurse: true });
 * ```
 */
export async function runSink(
  s: SCPStream,
  target: SinkTarget,
  o: SinkOptions,
): Promise<SinkResult> {
  const warnings: string[] = [];
  const dirs: string[] = [];
  let files = 0;
  let times: SCPTimes | undefined;
  let open: SinkFile | undefined;
  const refuse = async (message: string) => {
    warnings.push(message);
    await s.send({ type: "warning", message: `scp: ${message}` });
  };
  try {
    await s.sendAck();
    for (;;) {
      o.signal?.throwIfAborted();
      const r: SCPRecord | null = await s.record();
      if (r === null) {
        if (dirs.length > 0) {
          throw new SCPError(
            `The peer ended the transfer inside the directory "${dirs.join("/")}"`,
            { reason: "cut" },
          );
        }
        break;
      }
      switch (r.type) {
        case "warning":
          warnings.push(r.message);
          continue;
        case "fatal":
          throw new SCPError(`The peer stopped the transfer: ${r.message}`, { reason: "remote" });
        case "times":
          times = r;
          await s.sendAck();
          continue;
        case "end": {
          if (dirs.length === 0) throw new SCPError("Peer sent an end of directory at the top");
          try {
            await target.leaveDir(dirs);
          } catch (e) {
            warnings.push(errorText(e));
          }
          dirs.pop();
          times = undefined;
          await s.sendAck();
          continue;
        }
        case "dir":
        case "file": {
          const t = times;
          times = undefined;
          if (dirs.length === 0 && o.expect && !o.expect(r.name)) {
            throw new SCPError(
              `Peer sent an unexpected name ${JSON.stringify(r.name)}` +
                (o.requested !== undefined ? ` (asked for ${JSON.stringify(o.requested)})` : ""),
              { reason: "unexpected-name", path: r.name },
            );
          }
          if (r.type === "dir") {
            if (!o.recurse) throw new SCPError("Peer sent a directory without -r");
            if (dirs.length >= MAX_DEPTH) {
              throw new SCPError(`Peer nested directories deeper than ${MAX_DEPTH}`, {
                reason: "limit",
              });
            }
            try {
              await target.enterDir(dirs, r.name, r.mode, t);
            } catch (e) {
              await refuse(errorText(e));
              continue;
            }
            dirs.push(r.name);
            await s.sendAck();
            continue;
          }
          try {
            open = await target.openFile(dirs, r.name, r.mode, r.size, t);
          } catch (e) {
            await refuse(errorText(e));
            continue;
          }
          const f = open;
          await s.sendAck();
          let done = 0;
          let writeError: unknown;
          o.onProgress?.(0, r.size, f.path);
          while (done < r.size) {
            const d = await s.data(Math.min(DATA_CHUNK, r.size - done));
            if (d === null) {
              open = undefined;
              await f.abort().catch(() => {});
              throw new SCPError(
                `The transfer of "${f.path}" was cut after ${done} of ${r.size} bytes; ` +
                  "the partial file was removed",
                { reason: "cut", path: f.path },
              );
            }
            done += d.length;
            if (writeError === undefined) {
              try {
                await f.write(d);
              } catch (e) {
                writeError = e;
              }
            }
            o.onProgress?.(done, r.size, f.path);
          }
          const ack = await s.ack();
          open = undefined;
          if (ack.type !== "ok") {
            await f.abort().catch(() => {});
            if (ack.type === "fatal") {
              throw new SCPError(`The peer stopped the transfer: ${ack.message}`, {
                reason: "remote",
                path: f.path,
              });
            }
            warnings.push(ack.message);
            await s.sendAck(); // the source waits for an answer either way (as OpenSSH's sink does)
            continue;
          }
          if (writeError !== undefined) {
            await f.abort().catch(() => {});
            await refuse(errorText(writeError));
            continue;
          }
          try {
            await f.finish();
          } catch (e) {
            await refuse(errorText(e));
            continue;
          }
          files++;
          await s.sendAck();
        }
      }
    }
  } catch (e) {
    if (open) await open.abort().catch(() => {});
    if (e instanceof SCPError && e.reason !== "remote" && e.reason !== "cut") {
      await s.send({ type: "fatal", message: `scp: ${e.message}` }).catch(() => {});
    }
    s.cancel();
    // An abort closes the channel; say it was the abort, not a cut transfer.
    if (o.signal?.aborted) throw o.signal.reason;
    throw e;
  }
  return { files, warnings };
}
