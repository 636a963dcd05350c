/**
 * One side of an SCP conversation over a byte stream (a channel's stdout and
 * its write function): the pure {@link SCPReader} fed from the stream, with
 * async reads of records, acknowledgements and file data.
 *
 * @module
 */

import {
  ACK_OK,
  encodeRecord,
  type SCPAck,
  SCPError,
  SCPReader,
  type SCPRecord,
} from "../../sftp/scp/records.ts";
import { readOwned } from "../engine/channel.ts";

/** Where SCP bytes go: resolves when the bytes were accepted (flow control). */
export type SCPWrite = (bytes: Uint8Array) => Promise<void>;

/**
 * Reads and writes SCP records on a stream pair.
 *
 * @example
 * ```ts ignore
 * const s = new SCPStream(process.stdout, (b) => process.channel.write(b));
 * await s.sendAck();
 * const r = await s.record();
 * ```
 */
export class SCPStream {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #write: SCPWrite;
  readonly #in = new SCPReader();
  #eof = false;
  #writeError: unknown;

  /**
   * Reads from `readable`, a channel's readable whose chunks nobody else holds (so a consumer
   * may free a chunk it used up, see `readOwned`), and writes with `write`.
   */
  constructor(readable: ReadableStream<Uint8Array>, write: SCPWrite) {
    this.#reader = readable.getReader();
    this.#write = write;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const { value, done } = await readOwned(this.#reader);
    if (done) {
      this.#eof = true;
      return false;
    }
    this.#in.push(value);
    return true;
  }

  /** The next record, or null at a clean end of stream (between records). */
  async record(): Promise<SCPRecord | null> {
    for (;;) {
      const r = this.#in.readRecord();
      if (r) return r;
      if (!(await this.#fill())) {
        if (this.#in.buffered === 0) return null;
        throw new SCPError("The peer closed the stream in the middle of a record", {
          reason: "cut",
        });
      }
    }
  }

  /** The next acknowledgement; the stream ending first is an error. */
  async ack(): Promise<SCPAck> {
    for (;;) {
      const a = this.#in.readAck();
      if (a) return a;
      if (!(await this.#fill())) {
        throw new SCPError("The peer closed the stream before it answered", { reason: "cut" });
      }
    }
  }

  /** Up to `max` bytes of file data, or null when the stream ended. */
  async data(max: number): Promise<Uint8Array | null> {
    for (;;) {
      const d = this.#in.readData(max);
      if (d) return d;
      if (!(await this.#fill())) return null;
    }
  }

  /**
   * Sends raw bytes. A failed write (the peer closed the channel) is
   * remembered, not thrown: the peer's last words are still read, and the
   * stream's end then ends the transfer with the reason the peer gave.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#writeError !== undefined) return;
    try {
      await this.#write(bytes);
    } catch (e) {
      this.#writeError ??= e;
    }
  }

  /** The first write that failed, if any. */
  get writeError(): unknown {
    return this.#writeError;
  }

  /** Sends a record. */
  send(r: SCPRecord): Promise<void> {
    return this.write(encodeRecord(r));
  }

  /** Sends the "ok" byte. */
  sendAck(): Promise<void> {
    return this.write(ACK_OK);
  }

  /** Stops reading (the rest of the input is discarded). */
  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}
