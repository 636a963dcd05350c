/**
 * Splits a byte stream into SFTP packets (`uint32 length` + body) with a cap
 * on the length, so a hostile length can neither make us allocate nor wait
 * forever for bytes that will never fit.
 *
 * @module
 */

/** The packet's length field is 0 or above the cap. */
export class FrameError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/**
 * Bodies of at most this many bytes that arrive lent are copied into a buffer of their own
 * size; larger ones (bulk DATA replies) into one from `allocate` (a pool's, which is sized
 * for a DATA reply: a listing of some KiB should not take one).
 */
const SMALL_PACKET = 64 * 1024;

/**
 * Chunks held by reference at most: past this, what they hold and what comes next is
 * copied into the packet bodies instead (the lent path). A chunk costs some 150 bytes
 * besides its data, so a peer splitting its packets into one-byte channel packets made a
 * session's few MiB of buffered input hold tens of MiB; a bulk reply spans a few chunks.
 */
const MAX_HELD_CHUNKS = 64;

/**
 * Collects chunks and returns whole packet bodies. A body that lies inside
 * one chunk is returned as a view of it (no copy); one that spans chunks is
 * copied once. A lent chunk ({@link PacketFramer.pushBorrowed}) is copied from
 * at once, each byte once, into the packet bodies it carries.
 *
 * @example
 * ```ts
 * import { PacketFramer } from "@sshts/ssh/sftp";
 * const f = new PacketFramer(1024);
 * f.push(new Uint8Array([0, 0, 0, 2, 7]));
 * console.log(f.next()); // undefined (one byte missing)
 * f.push(new Uint8Array([9]));
 * console.log(f.next()); // Uint8Array [7, 9]
 * ```
 */
export class PacketFramer {
  readonly #max: number;
  readonly #alloc: (n: number) => Uint8Array;
  #chunks: Uint8Array[] = [];
  #head = 0; // offset into #chunks[0]
  #buffered = 0;
  /** Whether a packet returned as a view of `#chunks[0]` (no copy) may still be in use. */
  #headViewed = false;
  readonly #release: ((chunk: Uint8Array) => void) | undefined;
  // Lent input (pushBorrowed): bodies assembled as the bytes arrive.
  /** Whole bodies assembled from lent chunks, not yet returned, and their bytes. */
  #complete: Uint8Array[] = [];
  #completeBytes = 0;
  /** The body being filled, and how much of it is. */
  #filling: Uint8Array | null = null;
  #filled = 0;
  /** A length field split across lent chunks. */
  readonly #lengthBytes = new Uint8Array(4);
  #lengthHave = 0;
  /** A bad length read from lent input: `next()` throws once the bodies before it are taken. */
  #badLength: number | undefined;

  /**
   * Accepts packets whose body is at most `maxLength` bytes. `allocate` gives
   * the buffer a packet spanning chunks is copied into (default: a new one),
   * so a caller can recycle buffers it knows are free. `release` gets back
   * each pushed chunk whose bytes were all copied out, none returned as a view,
   * once the framer no longer refers to it (so it can be freed at once).
   */
  constructor(
    maxLength: number,
    allocate: (n: number) => Uint8Array = (n) => new Uint8Array(n),
    release?: (chunk: Uint8Array) => void,
  ) {
    this.#max = maxLength;
    this.#alloc = allocate;
    this.#release = release;
  }

  /** Bytes held that do not yet form a whole packet. */
  get buffered(): number {
    return this.#buffered + this.#completeBytes + this.#lengthHave +
      (this.#filling ? 4 + this.#filled : 0);
  }

  /**
   * Pieces held: chunks kept by reference and whole bodies not yet taken. Each costs some
   * 150 bytes besides its bytes: a consumer that bounds what it holds counts these too.
   */
  get pieces(): number {
    return this.#chunks.length + this.#complete.length;
  }

  /** Whether {@link next} would return a packet (or throw on a bad length). */
  get ready(): boolean {
    if (this.#complete.length > 0 || this.#badLength !== undefined) return true;
    if (this.#buffered < 4) return false;
    const len = this.#peekLength();
    return len === 0 || len > this.#max || this.#buffered >= 4 + len;
  }

  /**
   * Adds bytes from the stream (kept by reference until consumed; past
   * {@link MAX_HELD_CHUNKS} chunks, copied like lent ones).
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#chunks.length >= MAX_HELD_CHUNKS) this.#copyHeld();
    if (this.#lending) {
      this.pushBorrowed(chunk); // after lent input: keep to its path, in order
      this.#release?.(chunk); // copied whole
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Moves the bytes of the chunks held by reference to the lent path (copied, in order). */
  #copyHeld(): void {
    const held = this.#chunks;
    const head = this.#head;
    const viewed = this.#headViewed;
    this.#chunks = [];
    this.#head = 0;
    this.#buffered = 0;
    this.#headViewed = false;
    for (let i = 0; i < held.length; i++) {
      const c = held[i]!;
      this.pushBorrowed(i === 0 ? c.subarray(head) : c);
      // A packet handed out as a view of the first may still be in use: not released.
      if (i > 0 || !viewed) this.#release?.(c);
    }
  }

  /**
   * Adds bytes that are only lent: `chunk` may change once this returns, so its bytes are
   * copied now, each once, into the bodies they belong to (a buffer from `allocate` for a
   * large body, allocated whole when its length arrives: at most `maxLength` bytes). For a
   * consumer whose input is a view of someone else's buffer (a channel's lent data).
   */
  pushBorrowed(chunk: Uint8Array): void {
    if (this.#chunks.length > 0) {
      this.push(chunk.slice()); // chunks held by reference come first
      return;
    }
    const n = chunk.length;
    let off = 0;
    while (off < n && this.#badLength === undefined) {
      const body = this.#filling;
      if (body !== null) {
        const k = Math.min(body.length - this.#filled, n - off);
        body.set(chunk.subarray(off, off + k), this.#filled);
        this.#filled += k;
        off += k;
        if (this.#filled === body.length) {
          this.#complete.push(body);
          this.#completeBytes += 4 + body.length;
          this.#filling = null;
        }
        continue;
      }
      // The length field, which may be split across chunks.
      const b = this.#lengthBytes;
      while (this.#lengthHave < 4 && off < n) b[this.#lengthHave++] = chunk[off++]!;
      if (this.#lengthHave < 4) break;
      this.#lengthHave = 0;
      const len = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      if (len === 0 || len > this.#max) {
        this.#badLength = len;
        break;
      }
      this.#filling = len <= SMALL_PACKET ? new Uint8Array(len) : this.#alloc(len);
      this.#filled = 0;
    }
  }

  /** Whether lent input is being framed (its bodies, a split length, or a bad one, pending). */
  get #lending(): boolean {
    return this.#complete.length > 0 || this.#filling !== null || this.#lengthHave > 0 ||
      this.#badLength !== undefined;
  }

  /** The next whole packet body, or undefined; throws {@link FrameError} on a bad length. */
  next(): Uint8Array | undefined {
    const done = this.#complete.shift();
    if (done) {
      this.#completeBytes -= 4 + done.length;
      return done;
    }
    if (this.#badLength !== undefined) throw lengthError(this.#badLength, this.#max);
    if (this.#buffered < 4) return undefined;
    const len = this.#peekLength();
    if (len === 0 || len > this.#max) throw lengthError(len, this.#max);
    if (this.#buffered < 4 + len) return undefined;
    this.#skip(4);
    return this.#take(len);
  }

  #peekLength(): number {
    let v = 0;
    let need = 4;
    let ci = 0;
    let off = this.#head;
    while (need > 0) {
      const c = this.#chunks[ci]!;
      while (off < c.length && need > 0) {
        v = v * 256 + c[off++]!;
        need--;
      }
      ci++;
      off = 0;
    }
    return v;
  }

  #skip(n: number): void {
    while (n > 0) {
      const c = this.#chunks[0]!;
      const left = c.length - this.#head;
      if (left > n) {
        this.#head += n;
        this.#buffered -= n;
        return;
      }
      n -= left;
      this.#buffered -= left;
      this.#chunks.shift();
      this.#head = 0;
      if (!this.#headViewed) this.#release?.(c);
      this.#headViewed = false;
    }
  }

  #take(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length - this.#head >= n) {
      const v = first.subarray(this.#head, this.#head + n);
      this.#headViewed = true;
      this.#skip(n);
      return v;
    }
    const out = this.#alloc(n);
    let o = 0;
    while (o < n) {
      const c = this.#chunks[0]!;
      const part = Math.min(c.length - this.#head, n - o);
      out.set(c.subarray(this.#head, this.#head + part), o);
      o += part;
      this.#skip(part);
    }
    return out;
  }
}

function lengthError(len: number, max: number): FrameError {
  if (len === 0) return new FrameError("Peer sent an empty SFTP packet");
  const text = String.fromCharCode(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  // A length that reads as text is text: something wrote to the channel before SFTP began,
  // most often a remote shell's startup file on a server that runs the subsystem through it.
  const hint = /^[\t\n\r\x20-\x7e]{4}$/.test(text)
    ? ` (its length reads as the text ${JSON.stringify(text)}: something printed before ` +
      "SFTP began; make sure the remote shell prints nothing for non-interactive sessions)"
    : "";
  return new FrameError(`Peer sent a ${len}-byte SFTP packet; the limit is ${max}${hint}`);
}
