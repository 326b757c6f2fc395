/**
 * A QR code as one SVG path (dark modules as unit squares), drawn by React: no innerHTML, and the
 * secret in it never leaves the browser.
 */
import qrcode from "qrcode-generator";

export interface QrPath {
  /** Modules per side, without the quiet zone. */
  size: number;
  d: string;
}

export function qrPath(text: string): QrPath {
  // Error correction M: scans well off a screen; type 0 picks the smallest version that fits.
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const size = qr.getModuleCount();
  let d = "";
  for (let row = 0; row < size; row++)
    for (let col = 0; col < size; col++) if (qr.isDark(row, col)) d += `M${col} ${row}h1v1h-1z`;
  return { size, d };
}
