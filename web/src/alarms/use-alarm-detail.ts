/** What the opened alarm panel reads (the detail, the last positions) and does (take, comment, resolve, cancel). */
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type AlarmSummary, alarmDetail, alarmSummary, positionHistory } from "@vakt/schemas";
import { useRef } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { api, data } from "../api/typed";
import { liveKeys, queueCacheOf } from "../live-data";
import {
  type Action,
  type AlarmActionInput,
  type AlarmActionRequest,
  alarmActionForm,
  emptyAlarmAction,
} from "./alarm-action-form";

/** One action on the alarm, each by its own path, with the body its schema made. */
function post(id: string, r: AlarmActionRequest) {
  const params = { path: { id } };
  switch (r.action) {
    case "take":
      return api.POST("/api/v1/alarms/{id}/take", { params, body: r.body });
    case "comment":
      return api.POST("/api/v1/alarms/{id}/comments", { params, body: r.body });
    case "resolve":
      return api.POST("/api/v1/alarms/{id}/resolve", { params, body: r.body });
    case "cancel":
      return api.POST("/api/v1/alarms/{id}/cancel", { params, body: r.body });
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

/**
 * The note and the outcome (a form checked, for the button pressed, by that action's schema) and the
 * action posting them; the answer goes into the queue like a live event.
 */
export function useAlarmActions(alarmId: string, reload: () => Promise<void>) {
  const client = useQueryClient();
  const pressed = useRef<Action>("comment");
  const form = useForm<AlarmActionInput, unknown, AlarmActionRequest>({
    resolver: (values, context, options) =>
      zodResolver(alarmActionForm(pressed.current))(values, context, options),
    defaultValues: emptyAlarmAction,
  });
  const act = useMutation({
    mutationFn: (r: AlarmActionRequest) => data(post(alarmId, r), z.union([alarmSummary, z.unknown()])),
    onSuccess: (updated) => {
      const parsed = alarmSummary.safeParse(updated);
      // The answer is an event like any other for the queue (the socket's may come before or after).
      if (parsed.success) queueCacheOf(client).live(parsed.data, null);
      form.reset({ ...emptyAlarmAction, outcome: form.getValues("outcome") });
      return reload();
    },
  });
  /** The button `action` was pressed: check the form for it, then post. */
  const press = (action: Action) => {
    pressed.current = action;
    void form.handleSubmit((r) => act.mutate(r))();
  };
  return { form, pressed, press, act };
}

export type AlarmActionsState = ReturnType<typeof useAlarmActions>;
