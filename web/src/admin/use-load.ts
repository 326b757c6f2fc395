import { useCallback, useEffect, useState } from "react";
import { ApiProblem } from "../api/client";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  /** The API answered 404 for the whole resource: that part of the API is not there (yet). */
  missing: boolean;
  reload(): void;
}

/** Loads once and on reload(); errors become a message instead of an exception. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what its loader depends on
  const run = useCallback(load, deps);
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick is the reload() trigger
  useEffect(() => {
    let live = true;
    run().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (!live) return;
        setMissing(e instanceof ApiProblem && e.status === 404 && e.detail.startsWith("No route"));
        setError(e instanceof Error ? e.message : String(e));
      },
    );
    return () => {
      live = false;
    };
  }, [run, tick]);
  return { data, error, missing, reload: () => setTick((n) => n + 1) };
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
