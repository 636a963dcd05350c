/**
 * The receiving side of legacy SCP as a sans-IO state machine: bytes from
 * the source go in (`receive`, `receiveEnd`), events come out
 * (`pollEvent`), answers go back (`takeOutgoing`). It owns every protocol
 * rule and every check on what a hostile source may send: record syntax and
 * bounds (via {@link SCPReader}), names that must match what was asked for
 * at the top (CVE-2019-6111), directories only with `recurse`, a nesting
 * cap, end-of-directory balance, data exactly as long as announced. Where
 * files go is the caller's business: it answers each `file` and `dir`
 * event with {@link SCPSinkMachine.accept} or {@link SCPSinkMachine.refuse},
 * and each `fileDone` with {@link SCPSinkMachine.accept} (or `refuse` when
 * it could not store the file).
 *
 * @module
 */

import { ACK_OK, encodeRecord, MAX_DEPTH, SCPError, SCPReader, type SCPTimes } from "./records.ts";

/** What the sink machine reports. */
export type SCPSinkEvent =
  | {
    /** A file starts: answer with accept() (data follows) or refuse(). */
    readonly type: "file";
    readonly dirs: readonly string[];
    readonly name: string;
    readonly mode: number;
    readonly size: number;
    readonly times: SCPTimes | undefined;
  }
  | {
    /** A directory starts: answer with accept() or refuse() (its contents are then skipped). */
    readonly type: "dir";
    readonly dirs: readonly string[];
    readonly name: string;
    readonly mode: number;
    readonly times: SCPTimes | undefined;
  }
  | { readonly type: "endDir"; readonly dirs: readonly string[] }
  | {
    readonly type: "data";
    readonly data: Uint8Array;
    readonly done: number;
    readonly size: number;
  }
  | {
    /** All data arrived and the source said ok: store it, then accept() or refuse(). */
    readonly type: "fileDone";
  }
  | {
    /** The source reported an error after the data: discard the file (already answered). */
    readonly type: "fileFailed";
    readonly message: string;
  }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "end" }
  | { readonly type: "error"; readonly error: SCPError };

/** Options of {@link SCPSinkMachine}. */
export interface SCPSinkOptions {
  /** Accept directories (`-r`). */
  readonly recurse: boolean;
  /** Names allowed at the top (CVE-2019-6111); any safe name when absent. */
  readonly expect?: ((name: string) => boolean) | undefined;
  /** What was asked for, for the error when a name does not match. */
  readonly requested?: string | undefined;
}

type State =
  | "record" // waiting for the next record
  | "answer" // a file/dir/fileDone event is out; waiting for accept/refuse
  | "data" // reading file data
  | "status" // reading the source's status byte after the data
  | "done"; // ended (cleanly or with an error)

/**
 * The sink protocol, sans-IO.
 *
 * @example Receive one file
 * ```ts
 * import { SCPSinkMachine } from "@sshts/ssh/sftp";
 * const m = new SCPSinkMachine({ recurse: false, expect: (n) => n === "a.txt" });
 * m.start();
 * m.receive(new TextEncoder().encode("C0644 2 a.txt\nhi\0"));
 * const file = m.pollEvent(); // { type: "file", name: "a.txt", size: 2, ... }
 * m.accept();
 * console.log(file?.type, m.pollEvent()?.type, m.pollEvent()?.type); // "file" "data" "fileDone"
 * m.accept();
 * m.receiveEnd();
 * console.log(m.pollEvent()?.type, m.takeOutgoing().length); // "end" 3
 * ```
 */
export class SCPSinkMachine {
  readonly #o: SCPSinkOptions;
  readonly #in = new SCPReader();
  readonly #out: Uint8Array[] = [];
  readonly #dirs: string[] = [];
  #state: State = "record";
  #times: SCPTimes | undefined;
  #pending: "file" | "dir" | "fileDone" | undefined;
  #pendingName = "";
  #size = 0;
  #done = 0;
  #ended = false;

  /** A sink with `options`. */
  constructor(options: SCPSinkOptions) {
    this.#o = options;
  }

  /** Queues the first "ready" byte. */
  start(): void {
    this.#out.push(ACK_OK);
  }

  /** Bytes from the source (kept by reference). */
  receive(bytes: Uint8Array): void {
    this.#in.push(bytes);
  }

  /** Bytes received and not yet handed out (0: no view of a received chunk is held). */
  get buffered(): number {
    return this.#in.buffered;
  }

  /** The source's stream ended. */
  receiveEnd(): void {
    this.#ended = true;
  }

  /** The directories entered so far. */
  get dirs(): readonly string[] {
    return this.#dirs;
  }

  /** Whether the machine waits for accept() or refuse(). */
  get awaitingAnswer(): boolean {
    return this.#state === "answer";
  }

  /** Answers to send to the source, in order. */
  takeOutgoing(): Uint8Array[] {
    return this.#out.splice(0);
  }

  /** Accepts the pending file, directory or finished file. */
  accept(): void {
    const p = this.#answer("accept");
    this.#out.push(ACK_OK);
    if (p === "file") {
      this.#state = this.#size > 0 ? "data" : "status";
      return;
    }
    if (p === "dir") this.#dirs.push(this.#pendingName);
    this.#state = "record";
  }

  /** Refuses the pending item with a message the source sees (a `\x01` answer). */
  refuse(message: string): void {
    this.#answer("refuse");
    this.#out.push(encodeRecord({ type: "warning", message: `scp: ${message}` }));
    this.#state = "record";
  }

  #answer(what: string): "file" | "dir" | "fileDone" {
    const p = this.#pending;
    if (this.#state !== "answer" || !p) {
      throw new SCPError(`${what}() called with nothing to answer`, { reason: "usage" });
    }
    this.#pending = undefined;
    return p;
  }

  #fail(error: SCPError): SCPSinkEvent {
    this.#state = "done";
    if (error.reason !== "remote" && error.reason !== "cut") {
      this.#out.push(encodeRecord({ type: "fatal", message: `scp: ${error.message}` }));
    }
    return { type: "error", error };
  }

  /** The next event, or undefined when more input (or an answer) is needed. */
  pollEvent(): SCPSinkEvent | undefined {
    try {
      return this.#next();
    } catch (e) {
      if (e instanceof SCPError) return this.#fail(e);
      throw e;
    }
  }

  #next(): SCPSinkEvent | undefined {
    switch (this.#state) {
      case "done":
      case "answer":
        return undefined;
      case "data": {
        const d = this.#in.readData(this.#size - this.#done);
        if (!d) return this.#ended ? this.#cut() : undefined;
        this.#done += d.length;
        if (this.#done === this.#size) this.#state = "status";
        return { type: "data", data: d, done: this.#done, size: this.#size };
      }
      case "status": {
        const a = this.#in.readAck();
        if (!a) return this.#ended ? this.#cut() : undefined;
        if (a.type === "fatal") {
          throw new SCPError(`The peer stopped the transfer: ${a.message}`, { reason: "remote" });
        }
        if (a.type === "warning") {
          this.#out.push(ACK_OK); // the source waits for an answer either way (as OpenSSH's sink)
          this.#state = "record";
          return { type: "fileFailed", message: a.message };
        }
        this.#state = "answer";
        this.#pending = "fileDone";
        return { type: "fileDone" };
      }
      case "record":
        return this.#record();
    }
  }

  #cut(): SCPSinkEvent {
    return this.#fail(
      new SCPError(
        `The transfer of "${[...this.#dirs, this.#pendingName].join("/")}" was cut after ` +
          `${this.#done} of ${this.#size} bytes`,
        { reason: "cut", path: this.#pendingName },
      ),
    );
  }

  #record(): SCPSinkEvent | undefined {
    for (;;) {
      const e = this.#oneRecord();
      if (e !== "again") return e;
    }
  }

  #oneRecord(): SCPSinkEvent | undefined | "again" {
    const r = this.#in.readRecord();
    if (!r) {
      if (!this.#ended) return undefined;
      if (this.#in.buffered > 0) {
        throw new SCPError("The peer closed the stream in the middle of a record", {
          reason: "cut",
        });
      }
      if (this.#dirs.length > 0) {
        throw new SCPError(
          `The peer ended the transfer inside the directory "${this.#dirs.join("/")}"`,
          { reason: "cut" },
        );
      }
      this.#state = "done";
      return { type: "end" };
    }
    switch (r.type) {
      case "warning":
        return { type: "warning", message: r.message };
      case "fatal":
        throw new SCPError(`The peer stopped the transfer: ${r.message}`, { reason: "remote" });
      case "times":
        this.#times = r;
        this.#out.push(ACK_OK);
        return "again";
      case "end": {
        if (this.#dirs.length === 0) throw new SCPError("Peer sent an end of directory at the top");
        const dirs = [...this.#dirs];
        this.#dirs.pop();
        this.#times = undefined;
        this.#out.push(ACK_OK);
        return { type: "endDir", dirs };
      }
      case "dir":
      case "file": {
        const times = this.#times;
        this.#times = undefined;
        if (this.#dirs.length === 0 && this.#o.expect && !this.#o.expect(r.name)) {
          throw new SCPError(
            `Peer sent an unexpected name ${JSON.stringify(r.name)}` +
              (this.#o.requested !== undefined
                ? ` (asked for ${JSON.stringify(this.#o.requested)})`
                : ""),
            { reason: "unexpected-name", path: r.name },
          );
        }
        const dirs = [...this.#dirs];
        this.#pendingName = r.name;
        this.#state = "answer";
        this.#pending = r.type;
        if (r.type === "dir") {
          if (!this.#o.recurse) throw new SCPError("Peer sent a directory without -r");
          if (this.#dirs.length >= MAX_DEPTH) {
            throw new SCPError(`Peer nested directories deeper than ${MAX_DEPTH}`, {
              reason: "limit",
            });
          }
          return { type: "dir", dirs, name: r.name, mode: r.mode, times };
        }
        this.#size = r.size;
        this.#done = 0;
        return { type: "file", dirs, name: r.name, mode: r.mode, size: r.size, times };
      }
    }
  }
}
