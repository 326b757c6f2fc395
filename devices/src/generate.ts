/** Device lists for brokers that do not check credentials (tests, demos) or to provision from. */
import { z } from "zod";
import { destination } from "./geo";
import { round } from "./movement";
import { latLon, type SimDevice } from "./options";
import { gaussian, hex, pick, type Random, seededRandom, uniform } from "./random";

export const townCentre = latLon.extend({
  name: z.string().max(100).optional(),
  /** Most homes lie within this distance of the centre. */
  radiusM: z.number().positive().max(100_000).default(2000),
});
export type TownCentre = z.input<typeof townCentre>;

export const defaultCentres: TownCentre[] = [
  { name: "Oslo", lat: 59.9139, lon: 10.7522, radiusM: 5000 },
  { name: "Bergen", lat: 60.3913, lon: 5.3221, radiusM: 3000 },
  { name: "Trondheim", lat: 63.4305, lon: 10.3951, radiusM: 3000 },
  { name: "Tromsø", lat: 69.6492, lon: 18.9553, radiusM: 2000 },
];

/** A home near the centre: denser in the middle, thinning out to about twice the radius. */
export function homeNear(centre: TownCentre, random: Random) {
  const radius = centre.radiusM ?? 2000;
  const distance = Math.min(2 * radius, Math.abs(gaussian(random)) * radius * 0.7);
  const p = destination(centre, uniform(random, 0, 360), distance);
  return { lat: round(p.lat, 6), lon: round(p.lon, 6) };
}

/** `n` devices with serials `<prefix>-000001`..., random secrets, homes around `centres`; same seed, same list. */
export function generateDevices(
  n: number,
  centres: readonly TownCentre[] = defaultCentres,
  seed = 1,
  prefix = "SIM",
): SimDevice[] {
  if (!Number.isInteger(n) || n < 0) throw new Error("device count must be a whole number");
  if (centres.length === 0) throw new Error("at least one town centre is needed");
  const random = seededRandom(seed);
  const width = Math.max(6, String(n).length);
  return Array.from({ length: n }, (_, i) => ({
    serial: `${prefix}-${String(i + 1).padStart(width, "0")}`,
    secret: hex(random, 16),
    home: homeNear(pick(random, centres), random),
  }));
}
