import { useEffect, useState } from "react";
import { useUi } from "../session/context";
import { windowSecondsLeft } from "./cancel-window";

/**
 * The cancel window's countdown: nobody has been alerted yet, and the wearer
 * (from the device) or staff can still cancel. Ticks each second until it ends.
 */
export function CancelCountdown(props: { until: string | null; detailed?: boolean }) {
  const { t } = useUi();
  const [now, setNow] = useState(() => Date.now());
  const left = windowSecondsLeft(props.until, now);
  useEffect(() => {
    if (!props.until) return;
    const end = Date.parse(props.until);
    const timer = setInterval(() => {
      const at = Date.now();
      setNow(at);
      if (!(at < end)) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [props.until]);
  if (left === null) return null;
  return (
    <span className="cancel-window" role="timer" aria-live="off" data-testid="cancel-window">
      {t("cancelWindow.left", { seconds: left })}
      {props.detailed && <span className="cancel-window__hint"> {t("cancelWindow.hint")}</span>}
    </span>
  );
}
