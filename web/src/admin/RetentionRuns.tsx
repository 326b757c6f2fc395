import { useQuery } from "@tanstack/react-query";
import { type RetentionRun, retentionRun } from "@vakt/schemas";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import type { MessageKey } from "../i18n/dict";
import { useUi } from "../session/context";
import { errorText } from "./queries";

/** The categories the retention job counts, in the order a reader takes them in. */
export const RUN_CATEGORIES = [
  "positions",
  "deviceStatus",
  "deviceMessages",
  "deadLetters",
  "alarms",
  "activityLog",
  "recipientsErased",
  "staffUsersErased",
] as const;

/** What a run removed, as dictionary keys with counts: the known categories first, none of zero. */
export function runRemovals(run: Pick<RetentionRun, "counts">): { key: MessageKey; count: number }[] {
  const known = new Set<string>(RUN_CATEGORIES);
  const out: { key: MessageKey; count: number }[] = [];
  for (const c of RUN_CATEGORIES) {
    const n = run.counts[c] ?? 0;
    if (n > 0) out.push({ key: `retention.removed.${c}`, count: n });
  }
  // A category added to the job before the console knows it is still counted, in general words.
  const other = Object.entries(run.counts)
    .filter(([c]) => !known.has(c))
    .reduce((sum, [, n]) => sum + n, 0);
  if (other > 0) out.push({ key: "retention.removed.other", count: other });
  return out;
}

/** The latest runs of the retention job: when, how it was started, how it went and what it removed. */
export function RetentionRuns() {
  const { t, dateTime, number } = useUi();
  const runs = useQuery({
    queryKey: queryKeys.retentionRuns,
    queryFn: () => data(api.GET("/api/v1/privacy/retention/runs"), z.array(retentionRun)),
  });
  return (
    <section aria-labelledby="retention-runs-title" data-testid="retention-runs">
      <h2 id="retention-runs-title">{t("retention.runs")}</h2>
      {runs.error && <p className="error">{errorText(runs.error)}</p>}
      {runs.data?.length === 0 && <p className="muted">{t("retention.noRuns")}</p>}
      {runs.data && runs.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("retention.startedAt")}</th>
              <th>{t("retention.finishedAt")}</th>
              <th>{t("retention.trigger")}</th>
              <th>{t("retention.status")}</th>
              <th>{t("retention.removed")}</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map((run) => {
              const removed = runRemovals(run);
              return (
                <tr key={run.id} data-testid="retention-run">
                  <td>{dateTime(run.startedAt)}</td>
                  <td>{run.finishedAt ? dateTime(run.finishedAt) : "–"}</td>
                  <td>{t(`retention.trigger.${run.trigger}`)}</td>
                  <td>{t(`retention.status.${run.status}`)}</td>
                  <td>
                    {removed.length === 0 ? (
                      // A run that failed or still runs has not said what it removed.
                      <span className="muted">
                        {run.status === "succeeded" ? t("retention.removedNothing") : "–"}
                      </span>
                    ) : (
                      <ul className="plain">
                        {removed.map((r) => (
                          <li key={r.key}>{t(r.key, { count: r.count, n: number(r.count) })}</li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
