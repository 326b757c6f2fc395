/**
 * Work asked for by key, done in batches: keys asked for while a batch runs (or before the deferred
 * start) join the next one, so many NOTIFYs for one device in a few milliseconds cost one query, and
 * at most one batch is in flight. Every key asked for is in a batch that starts after it was asked.
 * The start is deferred (setImmediate), so work that starts at once (alarms) goes first.
 */
export function coalescing(
  work: (keys: ReadonlySet<string>) => Promise<void>,
  onError: (err: unknown) => void,
  defer: (start: () => void) => void = setImmediate,
) {
  let pending = new Set<string>();
  let running = false;
  let scheduled = false;
  const schedule = () => {
    if (running || scheduled || pending.size === 0) return;
    scheduled = true;
    defer(start);
  };
  const start = () => {
    scheduled = false;
    if (running || pending.size === 0) return;
    const batch = pending;
    pending = new Set();
    running = true;
    void Promise.resolve()
      .then(() => work(batch))
      .catch(onError)
      .finally(() => {
        running = false;
        schedule();
      });
  };
  return {
    add(key: string) {
      pending.add(key);
      schedule();
    },
    /** Keys waiting for the next batch (for tests and metrics). */
    pendingCount: () => pending.size,
  };
}
