/** A schema of login/answers.ts, fetched when it is first needed (see there why). */
import type { z } from "zod";
import { ApiProblem } from "../api/client";

type Answers = typeof import("./answers");
type Name = { [K in keyof Answers]: Answers[K] extends z.ZodType ? K : never }[keyof Answers];

export function later<N extends Name>(name: N): () => Promise<Answers[N]> {
  return () =>
    import("./answers").then(
      (m) => m[name],
      // Offline, or a deploy removed the chunk: a network problem in the user's language, not the browser's English.
      (err: unknown) => {
        throw new ApiProblem(0, "network", err instanceof Error ? err.message : String(err), null);
      },
    );
}
