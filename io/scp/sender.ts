/**
 * The sending side of legacy SCP (`scp -f` on a server, the client of
 * `scp -t`): sends records and file data, and reads the sink's answers.
 * Refusals (`\x01`) are collected as warnings and the item is skipped; a
 * fatal answer ends the transfer with an {@link SCPError}.
 *
 * @module
 */

import { SCPError, type SCPTimes } from "../../sftp/scp/records.ts";
import type { SCPStream } from "./stream.ts";

/**
 * Sends files and directories to a sink.
 *
 * @example
 * ```ts ignore
 * const tx = new SCPSender(stream);
 * await tx.start();
 * await tx.beginFile("a.txt", 0o644, 5);
 * await tx.data(new TextEncoder().encode("hello"));
 * await tx.endFile();
 * ```
 */
export class SCPSender {
  readonly #s: SCPStream;
  /** The sink's refusals and our own skipped items (escaped). */
  readonly warnings: string[] = [];
  #left = 0;
  #size = 0;
  #name = "";

  /** Sends on `stream`. */
  constructor(stream: SCPStream) {
    this.#s = stream;
  }

  /** Waits for the sink to say it is ready. */
  async start(): Promise<void> {
    const a = await this.#s.ack();
    if (a.type !== "ok") {
      throw new SCPError(`The peer refused the transfer: ${a.message}`, { reason: "remote" });
    }
  }

  /** Reads an answer: true for ok, false for a refusal (recorded). */
  async #answer(path: string): Promise<boolean> {
    const a = await this.#s.ack();
    if (a.type === "ok") return true;
    if (a.type === "fatal") {
      throw new SCPError(`The peer stopped the transfer: ${a.message}`, {
        reason: "remote",
        path,
      });
    }
    this.warnings.push(a.message);
    return false;
  }

  async #times(times: SCPTimes | undefined, name: string): Promise<boolean> {
    if (!times) return true;
    await this.#s.send({ type: "times", mtime: times.mtime, atime: times.atime });
    return await this.#answer(name);
  }

  /** Starts a directory; false when the sink refused it (skip its contents). */
  async dir(name: string, mode: number, times?: SCPTimes): Promise<boolean> {
    if (!(await this.#times(times, name))) return false;
    await this.#s.send({ type: "dir", mode, name });
    return await this.#answer(name);
  }

  /** Ends the current directory. */
  async end(): Promise<void> {
    await this.#s.send({ type: "end" });
    await this.#answer("");
  }

  /** Announces a file; false when the sink refused it (send no data). */
  async beginFile(name: string, mode: number, size: number, times?: SCPTimes): Promise<boolean> {
    if (!(await this.#times(times, name))) return false;
    await this.#s.send({ type: "file", mode, size, name });
    if (!(await this.#answer(name))) return false;
    this.#left = size;
    this.#size = size;
    this.#name = name;
    return true;
  }

  /** Bytes of the announced file still to send. */
  get remaining(): number {
    return this.#left;
  }

  /** Sends file data; more than announced is an error. */
  async data(chunk: Uint8Array): Promise<void> {
    if (chunk.length > this.#left) {
      throw new SCPError(
        `Cannot send more than the ${this.#size} bytes announced for "${this.#name}"`,
        { reason: "usage", path: this.#name },
      );
    }
    this.#left -= chunk.length;
    await this.#s.write(chunk);
  }

  /**
   * Ends the file: with `error`, pads the rest with zeros and reports the
   * error instead of "ok" (the sink then discards the file). Resolves true
   * when the sink accepted the file.
   */
  async endFile(error?: string): Promise<boolean> {
    if (this.#left > 0 && error === undefined) {
      throw new SCPError(
        `Only ${this.#size - this.#left} of the ${this.#size} bytes announced for ` +
          `"${this.#name}" were sent`,
        { reason: "usage", path: this.#name },
      );
    }
    const zeros = new Uint8Array(Math.min(this.#left, 64 * 1024));
    while (this.#left > 0) {
      const n = Math.min(this.#left, zeros.length);
      this.#left -= n;
      await this.#s.write(zeros.subarray(0, n));
    }
    if (error !== undefined) {
      this.warnings.push(error);
      await this.#s.send({ type: "warning", message: `scp: ${error}` });
    } else {
      await this.#s.sendAck();
    }
    return await this.#answer(this.#name) && error === undefined;
  }

  /** Tells the sink about a skipped item (no answer is expected). */
  async warn(message: string): Promise<void> {
    this.warnings.push(message);
    await this.#s.send({ type: "warning", message: `scp: ${message}` });
  }
}
