/**
 * Reopening a closed (resolved or cancelled) alarm from the history: asked first, with the reason
 * the API requires (alarmReopenBody), for those who may act on alarms (alarm:acknowledge, the
 * permission the route is guarded by). The reopened alarm is open again: it goes into the queue and
 * leaves the history.
 */
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type AlarmReopenBody, type AlarmSummary, alarmReopenBody, alarmSummary } from "@vakt/schemas";
import { useEffect, useId, useRef, useState } from "react";
import { useForm } from "react-hook-form";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { liveKeys, queueCacheOf } from "../live-data";
import { can, useSession, useUi } from "../session/context";

/** What to say of a refused reopen: a 409 means it is not closed any more (someone was first). */
export function reopenProblemKey(e: unknown): "alarm.reopen.conflict" | null {
  return e instanceof ApiProblem && e.status === 409 ? "alarm.reopen.conflict" : null;
}

export function useReopenAlarm(alarmId: string, onReopened: (a: AlarmSummary) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: AlarmReopenBody) =>
      data(api.POST("/api/v1/alarms/{id}/reopen", { params: { path: { id: alarmId } }, body }), alarmSummary),
    onSuccess: (reopened) => {
      // Into the queue like a live event (the socket's may come before or after), out of the history.
      queueCacheOf(client).live(reopened, null);
      onReopened(reopened);
      return Promise.all([
        client.invalidateQueries({ queryKey: ["alarms", "history"] }),
        client.invalidateQueries({ queryKey: liveKeys.alarm(alarmId) }),
      ]);
    },
  });
}

/** The "Reopen" button of a closed alarm and, once pressed, the confirmation with its reason. */
export function ReopenAlarm(props: { alarm: AlarmSummary; who: string; onReopened(a: AlarmSummary): void }) {
  const { t } = useUi();
  const session = useSession();
  const [asking, setAsking] = useState(false);
  const closed = props.alarm.state === "resolved" || props.alarm.state === "cancelled";
  if (!closed || !can(session, "alarm:acknowledge")) return null;
  if (!asking)
    return (
      <button
        type="button"
        aria-label={t("alarm.reopen.for", { name: props.who })}
        onClick={() => setAsking(true)}
      >
        {t("alarm.reopen")}
      </button>
    );
  return <ReopenForm {...props} onCancel={() => setAsking(false)} />;
}

function ReopenForm(props: {
  alarm: AlarmSummary;
  who: string;
  onReopened(a: AlarmSummary): void;
  onCancel(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<AlarmReopenBody>({
    resolver: zodResolver(alarmReopenBody),
    defaultValues: { note: "" },
  });
  const reopen = useReopenAlarm(props.alarm.id, props.onReopened);
  const field = useRef<HTMLTextAreaElement | null>(null);
  useEffect(() => field.current?.focus(), []);
  const error = form.formState.errors.note;
  const noteField = form.register("note");
  const conflict = reopenProblemKey(reopen.error);
  return (
    <form
      className="confirm"
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="reopen-alarm"
      onSubmit={form.handleSubmit((body) => reopen.mutate(body))}
    >
      <p id={`${id}-title`}>
        <strong>{t("alarm.reopen.ask", { name: props.who })}</strong>
      </p>
      <p className="muted small">{t("alarm.reopen.hint")}</p>
      <label>
        {t("alarm.reopen.reason")}
        <textarea
          rows={2}
          {...noteField}
          ref={(el) => {
            noteField.ref(el);
            field.current = el;
          }}
          {...(error ? { "aria-invalid": true as const, "aria-describedby": `${id}-note-error` } : {})}
        />
      </label>
      {error && (
        <p id={`${id}-note-error`} className="error small" role="alert">
          {t(error.type === "too_big" ? "alarm.reopen.tooLong" : "alarm.reopen.reasonRequired")}
        </p>
      )}
      <div className="buttons">
        <button type="submit" className="danger" disabled={reopen.isPending}>
          {t("alarm.reopen.confirm")}
        </button>
        <button
          type="button"
          onClick={() => {
            reopen.reset();
            props.onCancel();
          }}
        >
          {t("common.cancel")}
        </button>
      </div>
      {reopen.error && (
        <p className="error" role="alert">
          {conflict ? t(conflict) : t("common.error", { message: reopen.error.message })}
        </p>
      )}
    </form>
  );
}
