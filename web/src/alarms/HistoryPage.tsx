import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { type AlarmSummary, alarmDetail, alarmList } from "@vakt/schemas";
import { useCallback, useState } from "react";
import type { z } from "zod";
import { api, data } from "../api/typed";
import { formatTime } from "../format/time";
import { liveKeys } from "../live-data";
import { saveFile } from "../recipients/privacy";
import { useSession, useUi } from "../session/context";
import { calledText } from "./CallList";
import { HistoryFilterForm } from "./HistoryFilters";
import { formatDuration, historyCsv, timeline, timeToClose, timeToTake, windowRow } from "./history";
import { allClosed, type HistoryFilters } from "./history-filter-form";
import { ReopenAlarm } from "./ReopenAlarm";

const PAGE = 50;
/** The export reads every page of the filtered history up to this many alarms. */
const EXPORT_MAX = 5000;

const listAlarms = (f: HistoryFilters, limit: number, cursor: string | undefined) =>
  data(api.GET("/api/v1/alarms", { params: { query: { ...f, limit, cursor } } }), alarmList);

const who = (a: AlarmSummary) =>
  a.recipient
    ? `${a.recipient.firstName ?? ""} ${a.recipient.lastName ?? ""}`.trim()
    : (a.device.serial ?? "");

/** Closed alarms (resolved or cancelled), filtered, each with its full timeline, and a CSV export. */
export function HistoryPage() {
  const { t } = useUi();
  const [filters, setFilters] = useState<HistoryFilters>(allClosed);
  const [open, setOpen] = useState<string | null>(null);
  const [reopened, setReopened] = useState<string | null>(null);
  const { busy, exportError, exportCsv } = useHistoryExport(filters);
  const pages = useInfiniteQuery({
    queryKey: ["alarms", "history", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => listAlarms(filters, PAGE, pageParam),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const failure = exportError ?? pages.error;
  const error = failure
    ? t("common.error", { message: failure instanceof Error ? failure.message : String(failure) })
    : null;

  const apply = useCallback((f: HistoryFilters) => {
    setOpen(null);
    setFilters(f);
  }, []);

  return (
    <main className="page" data-testid="history">
      <h1>{t("history.title")}</h1>
      <HistoryFilterForm onApply={apply} busy={busy} onExport={() => void exportCsv()} />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <p role="status" data-testid="history-reopened">
        {reopened && t("alarm.reopen.done", { name: reopened })}
      </p>
      {items.length === 0 ? (
        <p className="muted">{t("history.none")}</p>
      ) : (
        <HistoryTable
          items={items}
          open={open}
          setOpen={(id) => {
            setReopened(null);
            setOpen(id);
          }}
          onReopened={(a) => {
            setOpen(null);
            setReopened(who(a));
          }}
        />
      )}
      {pages.hasNextPage && (
        <button type="button" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
          {t("looked.older")}
        </button>
      )}
    </main>
  );
}

/** The CSV export of every page of the filtered history (up to EXPORT_MAX alarms). */
function useHistoryExport(filters: HistoryFilters) {
  const [exportError, setExportError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const exportCsv = async () => {
    setBusy(true);
    setExportError(null);
    try {
      const all: AlarmSummary[] = [];
      let next: string | undefined;
      do {
        const l = await listAlarms(filters, 500, next);
        all.push(...l.items);
        next = l.nextCursor ?? undefined;
      } while (next && all.length < EXPORT_MAX);
      saveFile(
        new Blob([historyCsv(all)], { type: "text/csv;charset=utf-8" }),
        `alarm-history-${new Date().toISOString().slice(0, 10)}.csv`,
      );
    } catch (e) {
      setExportError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, exportError, exportCsv };
}

function HistoryTable(props: {
  items: AlarmSummary[];
  open: string | null;
  setOpen(id: string | null): void;
  onReopened(a: AlarmSummary): void;
}) {
  const { t, dateTime } = useUi();
  const { items, open, setOpen } = props;
  return (
    <table data-testid="history-table">
      <thead>
        <tr>
          <th>{t("alarm.raised")}</th>
          <th>{t("history.type")}</th>
          <th>{t("history.recipient")}</th>
          <th>{t("history.department")}</th>
          <th>{t("alarm.outcome")}</th>
          <th>{t("history.takenBy")}</th>
          <th>{t("history.toTake")}</th>
          <th>{t("history.toClose")}</th>
          <th>
            <span className="sr-only">{t("history.timeline")}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {items.flatMap((a) => {
          const row = (
            <tr key={a.id} data-testid="history-row" data-alarm-id={a.id}>
              <td>{dateTime(a.raisedAt)}</td>
              <td>{t(`alarm.type.${a.type}`)}</td>
              <td>{who(a)}</td>
              <td>{a.department.name}</td>
              <td>{a.outcome ? t(`alarm.outcome.${a.outcome}`) : t(`history.state.${a.state}`)}</td>
              <td>{a.assignee?.name ?? "–"}</td>
              <td>{formatDuration(timeToTake(a))}</td>
              <td>{formatDuration(timeToClose(a))}</td>
              <td>
                <button
                  type="button"
                  aria-expanded={open === a.id}
                  aria-controls={`history-${a.id}`}
                  onClick={() => setOpen(open === a.id ? null : a.id)}
                >
                  {t("history.timeline")}
                </button>
              </td>
            </tr>
          );
          return open === a.id
            ? [
                row,
                <tr key={`${a.id}-timeline`} id={`history-${a.id}`}>
                  <td colSpan={9}>
                    <Timeline alarmId={a.id} />
                    <ReopenAlarm alarm={a} who={who(a)} onReopened={props.onReopened} />
                  </td>
                </tr>,
              ]
            : [row];
        })}
      </tbody>
    </table>
  );
}

function windowText(
  t: ReturnType<typeof useUi>["t"],
  phase: "opened" | "ended",
  w: NonNullable<z.infer<typeof alarmDetail>["cancelWindow"]>,
): string {
  const row = windowRow(phase, w);
  return t(row.key, row.values);
}

/** Raised, every alert by step and channel with its result, taken, comments, resolved or cancelled. */
function Timeline(props: { alarmId: string }) {
  const { t, lang } = useUi();
  const zone = useSession().organisation.timeZone;
  // To the second: on a night like this, seconds between the alert and the take matter.
  const at = (iso: string) => formatTime(iso, zone, lang);
  const detailQuery = useQuery({
    queryKey: liveKeys.alarm(props.alarmId),
    queryFn: () =>
      data(api.GET("/api/v1/alarms/{id}", { params: { path: { id: props.alarmId } } }), alarmDetail),
  });
  const detail = detailQuery.data ?? null;
  const error = detailQuery.error?.message ?? null;
  if (error)
    return (
      <p className="error" role="alert">
        {t("common.error", { message: error })}
      </p>
    );
  if (!detail) return <p className="muted">{t("common.loading")}</p>;
  return (
    <ol className="timeline" data-testid="history-timeline">
      {timeline(detail.transitions, detail.deliveries, detail.cancelWindow).map((item) =>
        item.kind === "window" ? (
          <li key={`w${item.phase}`} className="timeline__window" data-testid={`window-${item.phase}`}>
            <time dateTime={item.at}>{at(item.at)}</time> {windowText(t, item.phase, item.window)}
          </li>
        ) : item.kind === "transition" ? (
          <li key={`t${item.transition.id}`}>
            <time dateTime={item.at}>{at(item.at)}</time> {t(`alarm.transition.${item.transition.kind}`)}
            {item.transition.kind === "escalated" && typeof item.transition.details.step === "number"
              ? ` (${item.transition.details.reminder === true ? t("alarm.reminder") : t("asked.step", { step: item.transition.details.step })})`
              : ""}
            {item.transition.kind === "called" ? calledText(t, item.transition.details) : ""}
            {item.transition.actor.name ? ` · ${item.transition.actor.name}` : ""}
            {item.transition.note ? `: ${item.transition.note}` : ""}
          </li>
        ) : (
          <li key={`d${item.delivery.id}`} className="timeline__delivery">
            <time dateTime={item.at}>{at(item.at)}</time>{" "}
            {item.delivery.step === null ? t("alarm.noStep") : t("asked.step", { step: item.delivery.step })}{" "}
            · {t(`alarm.channel.${item.delivery.channel}`)} ·{" "}
            {item.delivery.targetName ?? item.delivery.target} · {t(`alarm.delivery.${item.delivery.result}`)}
            {item.delivery.reason
              ? ` (${t(`alarm.skipReason.${item.delivery.reason}`)})`
              : item.delivery.detail
                ? ` (${item.delivery.detail})`
                : ""}
          </li>
        ),
      )}
    </ol>
  );
}
