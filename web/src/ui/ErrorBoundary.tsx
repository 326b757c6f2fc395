/**
 * Each screen's error boundary. After a deploy the old console asks for lazy
 * chunks that are gone; without a boundary React unmounts everything and the
 * night shift stares at a blank page. Here it says the console was updated and
 * offers a reload; any other failure says the screen stopped working, also
 * with a reload (React.lazy keeps a failed import, so only a reload retries).
 */
import { Component, type ReactNode } from "react";
import { useUi } from "../session/context";

/** A dynamic import that failed: Chromium, Firefox and Safari word it differently, Vite names its own. */
export function isChunkLoadError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    /dynamically imported module|Importing a module script failed|error loading dynamically imported module|Unable to preload CSS|ChunkLoadError/i.test(
      error.message,
    ) || error.name === "ChunkLoadError"
  );
}

function Fallback(props: { error: unknown }) {
  const { t } = useUi();
  const updated = isChunkLoadError(props.error);
  return (
    <main className="page" data-testid="error-boundary" data-kind={updated ? "updated" : "failed"}>
      <section role="alert" aria-labelledby="boundary-title">
        <h1 id="boundary-title">{t(updated ? "boundary.updatedTitle" : "boundary.failedTitle")}</h1>
        <p>{t(updated ? "boundary.updated" : "boundary.failed")}</p>
        <button type="button" className="primary" onClick={() => location.reload()}>
          {t("boundary.reload")}
        </button>
      </section>
    </main>
  );
}

interface Props {
  /** The screen's path: going to another screen clears the error. */
  resetKey: string;
  children: ReactNode;
}

export class ScreenBoundary extends Component<Props, { error: unknown; key: string }> {
  override state = { error: null as unknown, key: this.props.resetKey };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: { error: unknown; key: string }) {
    return props.resetKey === state.key ? null : { error: null, key: props.resetKey };
  }

  override componentDidCatch(error: unknown) {
    // As text, so a log or a browser test reads the cause without a debugger.
    console.error(
      "screen failed",
      error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error),
    );
  }

  override render() {
    return this.state.error ? <Fallback error={this.state.error} /> : this.props.children;
  }
}
