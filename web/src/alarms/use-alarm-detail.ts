/** What the opened alarm panel reads (the detail, the last positions) and does (take, comment, resolve, cancel). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  type AlarmOutcome,
  type AlarmSummary,
  alarmDetail,
  alarmOutcome,
  alarmSummary,
  positionHistory,
} from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { liveKeys, queueCacheOf } from "../live-data";

export const outcomes = alarmOutcome.options.filter(
  (o): o is Exclude<AlarmOutcome, "false_alarm"> => o !== "false_alarm",
);
export type Outcome = (typeof outcomes)[number];
export type Action = "take" | "comment" | "resolve" | "cancel";

/** One action on the alarm, each by its own path (the note is optional where the API says so). */
function post(id: string, action: Action, note: string, outcome: Outcome) {
  const params = { path: { id } };
  const optional = note.trim() ? { note } : {};
  switch (action) {
    case "take":
      return api.POST("/api/v1/alarms/{id}/take", { params, body: optional });
    case "comment":
      return api.POST("/api/v1/alarms/{id}/comments", { params, body: { note } });
    case "resolve":
      return api.POST("/api/v1/alarms/{id}/resolve", { params, body: { outcome, note } });
    case "cancel":
      return api.POST("/api/v1/alarms/{id}/cancel", { params, body: optional });
  }
}

/** The alarm's detail (every live event about it invalidates it) and its recipient's last ten positions. */
export function useAlarmDetail(a: AlarmSummary, reason: string | null) {
  const client = useQueryClient();
  // Every live event about the alarm invalidates this (who was asked, comments, calls).
  const detailQuery = useQuery({
    queryKey: liveKeys.alarm(a.id),
    queryFn: () => data(api.GET("/api/v1/alarms/{id}", { params: { path: { id: a.id } } }), alarmDetail),
  });
  const detail = detailQuery.data ?? null;
  const reload = () => client.invalidateQueries({ queryKey: liveKeys.alarm(a.id) });

  const recipientId = a.recipient?.id ?? null;
  const lastQuery = useQuery({
    queryKey: ["positions", "around-alarm", a.id, recipientId, reason],
    enabled: recipientId !== null,
    queryFn: async () => {
      const to = new Date();
      const from = new Date(Math.min(Date.parse(a.raisedAt), to.getTime()) - 2 * 3_600_000);
      const h = await data(
        api.GET("/api/v1/positions/recipients/{id}/history", {
          params: {
            path: { id: recipientId ?? "" },
            query: {
              from: from.toISOString(),
              to: to.toISOString(),
              maxPoints: 20_000,
              reason: reason ?? undefined,
            },
          },
        }),
        positionHistory,
      );
      return h.points.slice(-10).reverse();
    },
  });
  const last = lastQuery.data ?? [];
  return { detail, detailError: detailQuery.error, reload, last };
}

/** The note, the outcome, and the action posting them; the answer goes into the queue like a live event. */
export function useAlarmActions(alarmId: string, reload: () => Promise<void>) {
  const client = useQueryClient();
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<Outcome>("helped_on_site");
  const act = useMutation({
    mutationFn: (action: Action) =>
      data(post(alarmId, action, note, outcome), z.union([alarmSummary, z.unknown()])),
    onSuccess: (updated) => {
      const parsed = alarmSummary.safeParse(updated);
      // The answer is an event like any other for the queue (the socket's may come before or after).
      if (parsed.success) queueCacheOf(client).live(parsed.data, null);
      setNote("");
      return reload();
    },
  });
  return { note, setNote, outcome, setOutcome, act };
}

export type AlarmActionsState = ReturnType<typeof useAlarmActions>;
