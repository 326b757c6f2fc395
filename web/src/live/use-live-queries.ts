/** What the night shift's screen reads: active alarms, positions, devices, and the focused recipient's fences and trail. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  type AlarmSummary,
  alarmList,
  currentPositions,
  device as deviceSchema,
  geofence,
  positionHistory,
} from "@vakt/schemas";
import { useMemo } from "react";
import { z } from "zod";
import { keepOpen } from "../alarms/asked";
import { activeAlarmsKey } from "../alarms/queue-cache";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { devicesByRecipient, fetchedPositions, liveKeys, type Positions, queueCacheOf } from "../live-data";
import type { TrailPoint } from "../map/LiveMap";
import type { AlarmAttention } from "./use-alarm-attention";

const NO_ALARMS: AlarmSummary[] = [];
// Stable empties: the map redraws when what it is given changes.
const NO_TRAIL: TrailPoint[] = [];
export const NO_FENCES: z.infer<typeof geofence>[] = [];

interface LiveReads {
  readsAlarms: boolean;
  readsDevices: boolean;
  locator: boolean;
  showPositions: boolean;
}

export function useLiveQueries(
  { readsAlarms, readsDevices, locator, showPositions }: LiveReads,
  attention: AlarmAttention,
) {
  const client = useQueryClient();
  const queue = queueCacheOf(client);
  const { newAlarmSound, setAsked } = attention;
  const positionsKey = liveKeys.positions(locator);
  const alarmsQuery = useQuery({
    queryKey: activeAlarmsKey,
    enabled: readsAlarms,
    queryFn: async () => {
      const merged = await queue.fetch(() =>
        data(
          api.GET("/api/v1/alarms", { params: { query: { state: ["open", "acknowledged"], limit: 500 } } }),
          alarmList,
        ).then(
          (l) => l.items,
          (e: unknown) => {
            // Without the alarm routes (an older API) the map still works.
            if (e instanceof ApiProblem && e.status === 404) return [];
            throw e;
          },
        ),
      );
      newAlarmSound.fetched(merged);
      // Taken while this console was away (a reload, a lost connection): stop its ringing.
      setAsked((m) => keepOpen(m, merged));
      return merged;
    },
  });
  const alarms = readsAlarms ? (alarmsQuery.data ?? NO_ALARMS) : NO_ALARMS;
  // Locators look up one recipient at a time (LocatorLookup); the bulk positions are not theirs.
  const positionsQuery = useQuery({
    queryKey: positionsKey,
    enabled: showPositions && !locator,
    queryFn: async () => {
      const fc = await data(api.GET("/api/v1/positions/current"), currentPositions);
      // Read after the answer: a live position that came meanwhile is newer than the list.
      return fetchedPositions(fc, client.getQueryData<Positions>(positionsKey));
    },
  });
  const devicesQuery = useQuery({
    queryKey: liveKeys.devices,
    enabled: readsDevices,
    queryFn: () => data(api.GET("/api/v1/devices"), z.array(deviceSchema)),
  });
  const positions = showPositions ? positionsQuery.data : undefined;
  const devices = useMemo(() => devicesByRecipient(devicesQuery.data), [devicesQuery.data]);
  const failed = [alarmsQuery.error, positionsQuery.error, devicesQuery.error].find(
    (e) => e && !(e instanceof ApiProblem && e.status === 401),
  );
  return { queue, positionsKey, alarms, positions, devices, failed };
}

/** The focused recipient's geofences and trail. */
export function useFocusQueries(
  focusId: string | null,
  trailHours: number,
  reason: string | null,
  showPositions: boolean,
) {
  const fences = useQuery({
    queryKey: liveKeys.geofences(focusId),
    enabled: focusId !== null,
    queryFn: () =>
      data(
        api.GET("/api/v1/geofences", { params: { query: { recipientId: focusId ?? "" } } }),
        z.array(geofence),
      ),
  });
  const trailKey = liveKeys.trail(focusId, trailHours, reason);
  const showTrail = focusId !== null && trailHours > 0 && showPositions;
  const trailQuery = useQuery({
    queryKey: trailKey,
    enabled: showTrail,
    queryFn: async (): Promise<TrailPoint[]> => {
      const to = new Date();
      const h = await data(
        api.GET("/api/v1/positions/recipients/{id}/history", {
          params: {
            path: { id: focusId ?? "" },
            query: {
              from: new Date(to.getTime() - trailHours * 3_600_000).toISOString(),
              to: to.toISOString(),
              maxPoints: 2000,
              reason: reason ?? undefined,
            },
          },
        }),
        positionHistory,
      );
      return h.points;
    },
  });
  const trail = showTrail ? (trailQuery.data ?? NO_TRAIL) : NO_TRAIL;
  const geofences = focusId ? (fences.data ?? NO_FENCES) : NO_FENCES;
  return { trailKey, trail, geofences };
}
