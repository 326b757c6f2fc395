/**
 * Percentiles of a sample, for the benches of every package (`@vakt/schemas/stats`): nearest rank,
 * the value at index floor(q·n) of the sorted sample (q = 1 is the maximum), NaN for an empty one.
 */

/** The q-quantile (0 ≤ q ≤ 1) of `xs`. */
export function percentile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Count, p50, p95, p99 and maximum of a sample, in its unit. */
export function percentiles(xs: readonly number[]): {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  const at = (q: number) => percentile(xs, q);
  return { n: xs.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}
