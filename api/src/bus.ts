/**
 * The API process's in-process bus: alarm and device changes made here, to live's sockets and to alert
 * routing. Its events and their payloads are declared once, in @vakt/schemas' InProcessEvents.
 * Listeners run synchronously in the order they subscribed, as Node's EventEmitter ran them.
 */
import type { InProcessEvent, InProcessEvents } from "@vakt/schemas";

export type BusListener<E extends InProcessEvent> = (payload: InProcessEvents[E]) => void;

export interface Bus {
  emit<E extends InProcessEvent>(event: E, payload: InProcessEvents[E]): void;
  /** Subscribes; returns the unsubscribe. */
  on<E extends InProcessEvent>(event: E, listener: BusListener<E>): () => void;
}

export function createBus(): Bus {
  // One entry per subscription, so subscribing the same function twice needs two unsubscribes.
  const subscriptions = new Map<InProcessEvent, Set<{ listener: (payload: never) => void }>>();
  return {
    emit(event, payload) {
      for (const s of [...(subscriptions.get(event) ?? [])])
        (s.listener as BusListener<typeof event>)(payload);
    },
    on(event, listener) {
      const entry = { listener };
      const set = subscriptions.get(event) ?? new Set();
      subscriptions.set(event, set.add(entry));
      return () => {
        set.delete(entry);
      };
    },
  };
}
