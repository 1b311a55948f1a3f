// A minimal typed event emitter shaped like vscode.Event, so core classes can expose events
// that UI code subscribes to without the core importing vscode.

export interface Disposable { dispose(): void }

export type Event<T> = (listener: (e: T) => void) => Disposable;

export class Emitter<T> {
  private listeners = new Set<(e: T) => void>();

  /** Listener errors go here: one listener's bug must not stop the others or the proxy that fired. */
  constructor(private readonly onListenerError: (err: unknown) => void = (err) => console.error('[llm-lens] event listener failed:', err)) {}

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => { this.listeners.delete(listener); } };
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try { l(e); } catch (err) { this.onListenerError(err); }
    }
  }

  get listenerCount(): number { return this.listeners.size; }

  dispose(): void { this.listeners.clear(); }
}
