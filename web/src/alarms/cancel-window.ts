/** Whole seconds left of an alarm's cancel window at `nowMs` (rounded up: "1 s" until it has ended), or null once over. */
export function windowSecondsLeft(until: string | null, nowMs: number): number | null {
  if (!until) return null;
  const left = Date.parse(until) - nowMs;
  if (!Number.isFinite(left) || left <= 0) return null;
  return Math.ceil(left / 1000);
}
