/**
 * Two connection layers wired back to back without a transport: what one sends,
 * the other handles when `run()` is called. For tests of the channel rules.
 *
 * @module
 */

import { ConnectionLayer } from "./channels.ts";
import type { ConnectionEvent } from "./events.ts";

/** One side of a {@link LayerPair}. */
export interface LayerSide {
  readonly layer: ConnectionLayer;
  /** Messages it sent, not yet delivered. */
  readonly outbox: Uint8Array[];
  /** Events it raised, in order. */
  readonly events: ConnectionEvent[];
}

/**
 * Connection layers `a` and `b`, talking to each other.
 *
 * @example
 * ```ts ignore
 * const p = new LayerPair();
 * const id = p.a.layer.openChannel("session");
 * p.run(); // b sees channelOpenRequest
 * ```
 */
export class LayerPair {
  readonly a: LayerSide;
  readonly b: LayerSide;

  /** Creates both sides; `onB`/`onA` may answer events as they arrive. */
  constructor(
    options: {
      maxChannels?: number;
      onA?: (e: ConnectionEvent, p: LayerPair) => void;
      onB?: (e: ConnectionEvent, p: LayerPair) => void;
    } = {},
  ) {
    const side = (on?: (e: ConnectionEvent, p: LayerPair) => void): LayerSide => {
      const outbox: Uint8Array[] = [];
      const events: ConnectionEvent[] = [];
      const layer = new ConnectionLayer(
        (head, body) => {
          if (!body) return void outbox.push(head);
          const m = new Uint8Array(head.length + body.length);
          m.set(head);
          m.set(body, head.length);
          outbox.push(m);
        },
        (e) => {
          events.push(e);
          on?.(e, this);
        },
        options.maxChannels,
      );
      return { layer, outbox, events };
    };
    this.a = side(options.onA);
    this.b = side(options.onB);
  }

  /** Delivers messages both ways until neither side has anything to send. */
  run(): void {
    for (let i = 0; i < 10_000; i++) {
      const ma = this.a.outbox.splice(0);
      const mb = this.b.outbox.splice(0);
      if (ma.length === 0 && mb.length === 0) return;
      for (const m of ma) this.b.layer.handleMessage(m[0]!, m);
      for (const m of mb) this.a.layer.handleMessage(m[0]!, m);
    }
    throw new Error("LayerPair did not settle");
  }

  /** Events of `side` with the given type. */
  static of<T extends ConnectionEvent["type"]>(
    side: LayerSide,
    type: T,
  ): Extract<ConnectionEvent, { type: T }>[] {
    return side.events.filter((e) => e.type === type) as Extract<ConnectionEvent, { type: T }>[];
  }
}
