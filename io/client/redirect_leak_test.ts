/**
 * Redirection leaves nothing behind: feeding stdin from a long async iterable adds no
 * reaction per chunk to the channel's close promise, and a refused redirect takes no
 * stream's writer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { feedSource, type RedirectableProcess, redirectProcess } from "./redirect.ts";

/**
 * A pending promise that counts `then` calls on itself and on the promises derived from
 * it (`then` makes them of this class too): a reaction each.
 */
class CountingPromise<T> extends Promise<T> {
  static calls = 0;
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    CountingPromise.calls++;
    return super.then(onFulfilled, onRejected);
  }
}

/** A promise to settle later, and its settlers. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test("feedSource(): an async iterable's chunks add no reaction each to a pending stop", async () => {
  let settleStop!: () => void;
  const stop = new CountingPromise<void>((res) => (settleStop = res)); // the channel still open
  const chunk = new Uint8Array(1);
  const n = 1000;
  async function* chunks() {
    for (let i = 0; i < n; i++) yield chunk;
  }
  let written = 0;
  CountingPromise.calls = 0;
  await feedSource(chunks(), () => Promise.resolve(void written++), 0, stop);
  assert.equal(written, n);
  // One reaction to turn `stop` into the feed's signal and one to act on it; a race per
  // chunk made it n more.
  assert.ok(
    CountingPromise.calls <= 4,
    `${CountingPromise.calls} reactions on stop for ${n} chunks`,
  );
  settleStop();
});

test("feedSource(): a stop still ends an iterable's feed, and the iterator is returned", async () => {
  for (const how of ["resolve", "reject"] as const) {
    const stop = deferred<void>();
    const pending = deferred<IteratorResult<Uint8Array>>();
    let nexts = 0;
    let returned = false;
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next:
          () => (++nexts === 1 ? Promise.resolve({ value: new Uint8Array([7]) }) : pending.promise),
        return: () => {
          returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
    const written: number[] = [];
    let firstWrite!: () => void;
    const wrote = new Promise<void>((r) => (firstWrite = r));
    const fed = feedSource(
      source,
      (c) => {
        written.push(...c);
        firstWrite();
        return Promise.resolve();
      },
      0,
      stop.promise,
    );
    await wrote; // the second next() is under way and never answers by itself
    if (how === "resolve") stop.resolve();
    else stop.reject(new Error("connection lost"));
    await fed; // ends without the source's next value
    assert.deepEqual(written, [7], how);
    // The source's return() is queued behind its pending next(): called once that settles.
    pending.resolve({ done: false, value: new Uint8Array([8]) });
    for (let i = 0; i < 20 && !returned; i++) await new Promise((r) => setTimeout(r, 0));
    assert.ok(returned, `return() called after a stop (${how})`);
    assert.deepEqual(written, [7], how);
  }
});

test("feedSource(): an iterable's error still rejects the feed while stop is pending", async () => {
  const stop = new Promise<void>(() => {});
  async function* failing() {
    yield new Uint8Array(1);
    throw new Error("source broke");
  }
  await assert.rejects(feedSource(failing(), async () => {}, 0, stop), /source broke/);
});

/** A process for redirectProcess() with no stdin: output streams that each carry `text`. */
function fakeProcess(text: string): RedirectableProcess {
  return {
    channel: {} as RedirectableProcess["channel"],
    rawOutput: (s) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(`${text}${s}`));
          c.close();
        },
      }),
    write: async () => {},
    writeEof: () => {},
  };
}

/** A WritableStream that collects what is written to it as text. */
function collector(): { stream: WritableStream<Uint8Array>; text: () => string } {
  let text = "";
  const stream = new WritableStream<Uint8Array>({
    write: (c) => void (text += new TextDecoder().decode(c)),
  });
  return { stream, text: () => text };
}

test("redirectProcess(): a locked target is refused with no other target's writer taken", async () => {
  for (const lockedOne of ["stdout", "stderr"] as const) {
    const locked = new WritableStream<Uint8Array>();
    const holder = locked.getWriter(); // someone else writes to it
    const other = collector();
    const misuse = lockedOne === "stdout"
      ? { stdout: locked, stderr: other.stream }
      : { stdout: other.stream, stderr: locked };
    assert.throws(() => redirectProcess(fakeProcess("x"), misuse), TypeError, lockedOne);
    assert.equal(other.stream.locked, false, `the other stream left locked (${lockedOne} locked)`);
    // The caller fixes the locked one and tries again with the same other stream.
    holder.releaseLock();
    const fixed = collector();
    const retry = lockedOne === "stdout"
      ? { stdout: fixed.stream, stderr: other.stream }
      : { stdout: other.stream, stderr: fixed.stream };
    await redirectProcess(fakeProcess("out"), retry);
    assert.equal(fixed.text(), lockedOne === "stdout" ? "out0" : "out1");
    assert.equal(other.text(), lockedOne === "stdout" ? "out1" : "out0");
  }
});
