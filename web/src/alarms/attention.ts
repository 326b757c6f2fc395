/** Getting a night-shift operator's attention: a beep made with Web Audio and a blinking tab title. */

let audio: AudioContext | null = null;

/** Browsers allow sound only after a user gesture; the first click or key press unlocks it. */
export function unlockAudioOnGesture() {
  const unlock = () => {
    if (!audio) audio = new AudioContext();
    void audio.resume();
  };
  window.addEventListener("pointerdown", unlock, { once: true });
  window.addEventListener("keydown", unlock, { once: true });
}

/** Three short 880 Hz beeps. */
export function beep() {
  try {
    if (!audio) audio = new AudioContext();
    const ctx = audio;
    const start = ctx.currentTime + 0.01;
    for (let i = 0; i < 3; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      const t0 = start + i * 0.25;
      gain.gain.setValueAtTime(0.0001, t0);
      gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0);
      osc.stop(t0 + 0.16);
    }
  } catch {
    // No audio device (or not yet allowed): the blinking title and the queue still show it.
  }
}

/** The title for frame `n` of the blink: the alert on even frames, the normal title on odd ones. */
export function blinkFrame(base: string, alert: string, n: number): string {
  return n % 2 === 0 ? `🔴 ${alert} – ${base}` : base;
}

let blinkTimer: number | null = null;

/** Blinks the tab title until the page is visible and focused again. */
export function blinkTitle(alert: string) {
  stopBlinking();
  const base = document.title.replace(/^🔴 .* – /, "");
  let n = 0;
  blinkTimer = window.setInterval(() => {
    document.title = blinkFrame(base, alert, n++);
    if (document.hasFocus() && document.visibilityState === "visible" && n > 6) stopBlinking(base);
  }, 800);
  document.title = blinkFrame(base, alert, n++);
}

export function stopBlinking(base?: string) {
  if (blinkTimer !== null) window.clearInterval(blinkTimer);
  blinkTimer = null;
  if (base) document.title = base;
  else document.title = document.title.replace(/^🔴 .* – /, "");
}

/** Desktop notifications (Notification API), only where the user allowed them. */
const shown = new Map<string, Notification>();

export function desktopPermission(): NotificationPermission | "unsupported" {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

export async function askDesktopPermission(): Promise<NotificationPermission | "unsupported"> {
  if (typeof Notification === "undefined") return "unsupported";
  return Notification.requestPermission();
}

/** One notification per alarm (a later step replaces it); clicking it brings the console forward. */
export function notifyDesktop(tag: string, title: string, body: string) {
  if (desktopPermission() !== "granted") return;
  try {
    shown.get(tag)?.close();
    const n = new Notification(title, { body, tag, requireInteraction: true });
    n.onclick = () => {
      window.focus();
      n.close();
    };
    shown.set(tag, n);
  } catch {
    // Some browsers allow notifications only from a service worker: the sound and the title still go.
  }
}

export function closeDesktop(tag: string) {
  shown.get(tag)?.close();
  shown.delete(tag);
}
