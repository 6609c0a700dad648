// A small typed event emitter that works the same in browsers and Node
// (Node's EventEmitter is not in browsers, EventTarget is untyped).
export type Listener<A extends unknown[]> = (...args: A) => void;

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  private listeners = new Map<keyof Events, Set<Function>>();

  /** on subscribes and returns the function that unsubscribes. */
  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  off<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(fn);
  }

  // A throwing listener must not break the client's state machine: its
  // error is reported asynchronously, as an uncaught error of the app.
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        (fn as (...a: unknown[]) => void)(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
