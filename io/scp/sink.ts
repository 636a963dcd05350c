/**
 * The receiving side of legacy SCP (`scp -t` on a server, the client of
 * `scp -f`): drives the pure {@link SCPSinkMachine} with bytes from the
 * stream and writes what it reports through a {@link SinkTarget}. A protocol
 * violation or an unsafe record ends the transfer with a fatal record to
 * the peer and an {@link SCPError}; a file cut mid-way is dealt with by its
 * target (see {@link SinkFileFate}) and the error says what is left.
 *
 * @module
 */

import { errorMessage } from "../../core/errors.ts";
import { releaseTransient } from "../../core/transient_buffers.ts";
import { SCPError, type SCPTimes } from "../../sftp/scp/records.ts";
import { SCPSinkMachine } from "../../sftp/scp/sink_machine.ts";
import type { SCPStream } from "./stream.ts";

/** A file being received. */
export interface SinkFile {
  /** The path shown in messages and progress. */
  readonly path: string;
  /** Writes the next bytes. */
  write(data: Uint8Array): Promise<void>;
  /** All bytes arrived: applies times and mode as asked and closes. */
  finish(): Promise<void>;
  /**
   * The transfer failed: closes and removes the partial file (only a regular file this
   * transfer created or truncated), empties the file a symbolic link led to (the link
   * stays), leaves a device, FIFO or socket in place, or (a file relayed to another host's
   * `scp -t`) cuts that transfer short. Resolves with what became of the partial file,
   * for the error message.
   */
  abort(): Promise<SinkFileFate>;
}

/**
 * What became of a file whose transfer failed: `removed` (a regular file the transfer
 * created or truncated), `emptied` (written through a symbolic link, which stays: the file
 * it leads to was truncated to 0 bytes), `left` (a device, FIFO or socket: left in place,
 * never unlinked), `cut short` (relayed: the destination's transfer was stopped).
 */
export type SinkFileFate = "removed" | "emptied" | "left" | "cut short";

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
  /**
   * True when each file's `write()` has copied the bytes by the time it resolves, so the
   * input may be freed after it (a relay that sends the bytes on by reference: false).
   */
  readonly copiesData?: boolean;
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
  /**
   * Those of {@link warnings} that were the target's own failures (a file or directory it
   * could not make or write), which we reported to the peer.
   */
  readonly targetErrors: readonly string[];
  /** The first of the target's failures, as it threw it (a local file's path and cause). */
  readonly targetError?: unknown;
}

/** How many warnings a transfer keeps, and how many bytes of them at most. */
const MAX_WARNINGS = 100;
const MAX_WARNING_BYTES = 64 * 1024;

/**
 * The warnings of one transfer, bounded: a peer may send `\x01` records as fast as it
 * likes (they need no answer), so past {@link MAX_WARNINGS} or {@link MAX_WARNING_BYTES}
 * they are only counted.
 */
class WarningList {
  readonly #kept: string[] = [];
  #bytes = 0;
  #dropped = 0;

  push(message: string): void {
    if (this.#kept.length < MAX_WARNINGS && this.#bytes + message.length <= MAX_WARNING_BYTES) {
      this.#kept.push(message);
      this.#bytes += message.length;
    } else {
      this.#dropped++;
    }
  }

  list(): string[] {
    return this.#dropped === 0
      ? [...this.#kept]
      : [...this.#kept, `(${this.#dropped} more warnings not kept)`];
  }
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
  const m = new SCPSinkMachine({ recurse: o.recurse, expect: o.expect, requested: o.requested });
  const warnings = new WarningList();
  const targetErrors = new WarningList();
  let files = 0;
  let open: SinkFile | undefined;
  let writeError: unknown;
  let lastInput: Uint8Array | undefined;
  const flush = async () => {
    for (const b of m.takeOutgoing()) await s.write(b);
  };
  let targetError: unknown;
  // The target failed (its message names the path): the peer is told, and so is our caller.
  const refuse = (err: unknown) => {
    const message = errorMessage(err);
    targetError ??= err;
    warnings.push(message);
    targetErrors.push(message);
    m.refuse(message);
  };
  try {
    m.start();
    for (;;) {
      await flush();
      o.signal?.throwIfAborted();
      const e = m.pollEvent();
      if (!e) {
        await flush(); // answers queued while parsing (a T record's) go out before we wait
        // The last input was handed out whole, and every file write of it copied it: its
        // channel chunk is freed now rather than at the next GC.
        if (lastInput && m.buffered === 0 && target.copiesData) releaseTransient(lastInput);
        const d = await s.data(Number.MAX_SAFE_INTEGER);
        lastInput = d ?? undefined;
        if (d === null) m.receiveEnd();
        else m.receive(d);
        continue;
      }
      switch (e.type) {
        case "end":
          return {
            files,
            warnings: warnings.list(),
            targetErrors: targetErrors.list(),
            ...(targetError === undefined ? {} : { targetError }),
          };
        case "error":
          await flush();
          throw e.error;
        case "warning":
          warnings.push(e.message);
          break;
        case "dir":
          try {
            await target.enterDir(e.dirs, e.name, e.mode, e.times);
            m.accept();
          } catch (err) {
            refuse(err);
          }
          break;
        case "endDir":
          try {
            await target.leaveDir(e.dirs);
          } catch (err) {
            warnings.push(errorMessage(err));
            targetErrors.push(errorMessage(err));
            targetError ??= err;
          }
          break;
        case "file":
          writeError = undefined;
          try {
            open = await target.openFile(e.dirs, e.name, e.mode, e.size, e.times);
          } catch (err) {
            refuse(err);
            break;
          }
          m.accept();
          o.onProgress?.(0, e.size, open.path);
          break;
        case "data":
          if (writeError === undefined) {
            try {
              await open!.write(e.data);
            } catch (err) {
              writeError = err;
            }
          }
          o.onProgress?.(e.done, e.size, open!.path);
          break;
        case "fileFailed": {
          const f = open!;
          open = undefined;
          await f.abort().catch(() => {});
          warnings.push(e.message);
          break;
        }
        case "fileDone": {
          const f = open!;
          open = undefined;
          if (writeError !== undefined) {
            await f.abort().catch(() => {});
            refuse(writeError);
            break;
          }
          try {
            await f.finish();
          } catch (err) {
            refuse(err);
            break;
          }
          files++;
          m.accept();
          break;
        }
      }
    }
  } catch (e) {
    if (open) {
      const f = open;
      const fate = await f.abort().catch(() => undefined);
      if (e instanceof SCPError && e.reason === "cut") {
        s.cancel();
        if (o.signal?.aborted) throw o.signal.reason;
        const what = fate === "removed"
          ? `the partial file "${f.path}" was removed`
          : fate === "emptied"
          ? `"${f.path}" is a symbolic link: it was kept, and the file it leads to, which ` +
            "held only the part received, was emptied"
          : fate === "left"
          ? `"${f.path}" is not a regular file (a device, FIFO or socket): it was left in place`
          : fate === "cut short"
          ? `"${f.path}" was cut short at the destination (its transfer stopped there too)`
          : `the partial file "${f.path}" could not be removed`;
        throw new SCPError(`${e.message}; ${what}`, {
          reason: "cut",
          path: f.path,
          cause: e,
        });
      }
    }
    s.cancel();
    // An abort closes the channel; say it was the abort, not a cut transfer.
    if (o.signal?.aborted) throw o.signal.reason;
    throw e;
  }
}
