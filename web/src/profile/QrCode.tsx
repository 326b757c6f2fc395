import { useMemo } from "react";
import { qrPath } from "./qr";

const QUIET = 4;

/** The QR code of `text`, scaled to `px`, with the standard quiet zone, dark on white in any theme. */
export function QrCode(props: { text: string; label: string; px?: number }) {
  const { size, d } = useMemo(() => qrPath(props.text), [props.text]);
  const side = size + 2 * QUIET;
  return (
    <svg
      role="img"
      aria-label={props.label}
      width={props.px ?? 220}
      height={props.px ?? 220}
      viewBox={`${-QUIET} ${-QUIET} ${side} ${side}`}
      shapeRendering="crispEdges"
      data-testid="totp-qr"
    >
      <rect x={-QUIET} y={-QUIET} width={side} height={side} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}
