/**
 * A seeded random source, so that movement and events are reproducible in tests
 * and demos. sfc32 seeded through splitmix32: small, fast and well distributed.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A deterministic random source from a 32-bit seed. */
export function seededRandom(seed: number): Random {
  const mix = splitmix32(seed);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const random: Random = {
    next() {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) >>> 0;
      return t / 4_294_967_296;
    },
  };
  for (let i = 0; i < 12; i++) random.next();
  return random;
}

/** A new independent stream derived from `random`, e.g. one per device. */
export function forkRandom(random: Random): Random {
  return seededRandom(Math.floor(random.next() * 4_294_967_296));
}

export function uniform(random: Random, min: number, max: number): number {
  return min + (max - min) * random.next();
}

export function integer(random: Random, min: number, maxInclusive: number): number {
  return Math.min(maxInclusive, min + Math.floor(random.next() * (maxInclusive - min + 1)));
}

export function chance(random: Random, probability: number): boolean {
  return random.next() < probability;
}

/** Standard normal deviate (Box-Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random.next() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** Probability that an event with `perHour` rate (Poisson) happens within `dtS` seconds. */
export function happensWithin(random: Random, perHour: number, dtS: number): boolean {
  if (perHour <= 0 || dtS <= 0) return false;
  return random.next() < 1 - Math.exp((-perHour * dtS) / 3600);
}

/** Lower-case base-36 token of `length` characters. */
export function token(random: Random, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += Math.floor(random.next() * 36).toString(36);
  return out;
}

/** Hex string of `bytes` random bytes. */
export function hex(random: Random, bytes: number): string {
  let out = "";
  for (let i = 0; i < bytes; i++)
    out += Math.floor(random.next() * 256)
      .toString(16)
      .padStart(2, "0");
  return out;
}
