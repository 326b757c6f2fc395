import { type AlarmSummary, alarmConflict } from "@vakt/schemas";
import { ApiProblem } from "../api/client";
import { LocateButton } from "../map/LocateButton";
import { can, useSession, useUi } from "../session/context";
import {
  AlarmActions,
  AlarmDeliveries,
  AlarmFacts,
  AlarmPositions,
  AlarmTransitions,
} from "./AlarmDetailParts";
import { CallList } from "./CallList";
import { CancelCountdown } from "./CancelCountdown";
import { useAlarmActions, useAlarmDetail } from "./use-alarm-detail";

/** The opened alarm: notes for responders, device state, positions, who has it, and what to do. */
export function AlarmDetailPanel(props: {
  summary: AlarmSummary;
  reason: string | null;
  onShowOnMap(lat: number, lon: number, recipientId: string | null): void;
}) {
  const { t } = useUi();
  const session = useSession();
  const a = props.summary;
  const { detail, detailError, reload, last } = useAlarmDetail(a, props.reason);
  const actions = useAlarmActions(a.id, reload);
  const { act } = actions;
  const failure = act.error ?? detailError;
  const message =
    failure instanceof ApiProblem && failure.status === 409 && failure === act.error
      ? conflictText(t, failure.body)
      : failure
        ? t("common.error", { message: failure.message })
        : null;

  const mine = a.assignee?.id === session.me.user.id;
  const canAct = session.me.permissions.includes("alarm:acknowledge");
  const people = new Map<string, string>();
  for (const tr of detail?.transitions ?? [])
    if (tr.actor.type === "user" && tr.actor.id && tr.actor.name && tr.actor.id !== session.me.user.id)
      people.set(tr.actor.id, tr.actor.name);

  return (
    <div id={`alarm-${a.id}`} className="alarm-detail" data-testid="alarm-detail">
      {a.recipient && (can(session, "alarm:acknowledge") || can(session, "recipient:manage")) && (
        // First: on a night shift the question is who to phone.
        <CallList alarmId={a.id} recipientId={a.recipient.id} onLogged={() => void reload()} />
      )}
      {detail?.responderNotes && (
        <p className="responder-notes">
          <strong>{t("alarm.responderNotes")}:</strong> {detail.responderNotes}
        </p>
      )}
      {a.state === "open" && <CancelCountdown until={a.cancelWindowUntil} detailed />}
      <AlarmFacts a={a} last={last} people={people} />
      <AlarmPositions a={a} last={last} onShowOnMap={props.onShowOnMap} />
      {a.recipient && (can(session, "position:read") || can(session, "position:locate")) && (
        <LocateButton
          deviceId={a.device.id}
          recipientId={a.recipient.id}
          reason={props.reason}
          onShowOnMap={(lat, lon) => props.onShowOnMap(lat, lon, a.recipient?.id ?? null)}
        />
      )}
      <AlarmDeliveries detail={detail} />
      <AlarmTransitions detail={detail} />
      {canAct && <AlarmActions a={a} mine={mine} actions={actions} />}
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}

/** Someone else took it first: say who. */
function conflictText(t: ReturnType<typeof useUi>["t"], body: unknown): string {
  const c = alarmConflict.safeParse(body);
  return t("alarm.conflict", { name: c.success ? (c.data.holder?.name ?? "?") : "?" });
}
