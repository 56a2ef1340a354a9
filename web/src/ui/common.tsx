// Pieces every view uses: loading with errors in words, the live indicator, progress bars.

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describe, type Problem } from "../api/errors";
import type { LiveState } from "../api/live";
import { formatShare } from "./format";

/** What [`useLoad`] returns. */
export interface Loaded<T> {
  data: T | undefined;
  problem: Problem | null;
  reload(): void;
}

/**
 * Loads data when `key` changes. An ended session goes back to sign-in (through the
 * session's change event); UNAVAILABLE and overload are retried after their pause.
 */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [attempt, setAttempt] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    loadRef.current().then(
      (value) => {
        if (!current) return;
        setData(value);
        setProblem(null);
      },
      (error: unknown) => {
        if (!current) return;
        const described = describe(error);
        setProblem(described);
        if (described.action === "retry") {
          timer = setTimeout(() => setAttempt((n) => n + 1), described.retryAfterMs ?? 1000);
        }
      },
    );
    return () => {
      current = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, attempt]);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { data, problem, reload };
}

/** Runs user actions one at a time, keeping the last problem to show. */
export function useAction(): {
  busy: boolean;
  problem: Problem | null;
  run(action: () => Promise<void>): Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
      setProblem(null);
      return true;
    } catch (error) {
      setProblem(describe(error));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, run };
}

/** A problem, in words, announced to screen readers. */
export function ProblemBanner({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return (
    <p class={`problem problem-${problem.action}`} role="alert">
      {problem.message}
    </p>
  );
}

/** A field's message from the server's BadRequest, if any. */
export function FieldProblem({ problem, field }: { problem: Problem | null; field: string }) {
  const message = problem?.fields[field];
  if (!message) return null;
  return (
    <span class="field-problem" id={`${field}-problem`} role="alert">
      {message}
    </span>
  );
}

const LIVE_WORDS: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Stopped",
};

/** Whether a live view is receiving, shown beside its title. */
export function LiveBadge({ state }: { state: LiveState }) {
  return (
    <span class={`live live-${state}`} role="status" aria-live="polite" data-state={state}>
      {LIVE_WORDS[state]}
    </span>
  );
}

/** A labelled progress bar. */
export function ProgressBar({
  done,
  total,
  label,
  unit = "lessons",
}: {
  done: number;
  total: number;
  label: string;
  unit?: string;
}) {
  const share = total > 0 ? done / total : 0;
  return (
    <div class="progress-row">
      <progress max={total || 1} value={done} aria-label={label} />
      <span>
        {done} of {total} {unit} · {formatShare(share)}
      </span>
    </div>
  );
}

/** A page's title and contents. */
export function Page({
  title,
  children,
  aside,
}: {
  title: string;
  children: ComponentChildren;
  aside?: ComponentChildren;
}) {
  useEffect(() => {
    document.title = `${title} · Campus`;
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-header">
        <h1 id="page-title">{title}</h1>
        {aside}
      </header>
      {children}
    </section>
  );
}

/** Page tokens of a paginated list: the current one, and moving forward and back. */
export interface Pages {
  token: string;
  next(token: string): void;
  previous(): void;
  reset(): void;
  hasPrevious: boolean;
}

/** Keeps the tokens of the pages before the current one, so "previous" needs no server. */
export function usePages(): Pages {
  const [tokens, setTokens] = useState<string[]>([""]);
  return {
    token: tokens[tokens.length - 1] ?? "",
    next: (token) => setTokens([...tokens, token]),
    previous: () => setTokens(tokens.slice(0, -1)),
    reset: () => setTokens([""]),
    hasPrevious: tokens.length > 1,
  };
}

/** Previous and next buttons of a list; `next` is the token the server gave ("" at the end). */
export function Pager({ pages, next }: { pages: Pages; next: string }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={!pages.hasPrevious} onClick={pages.previous}>
        Previous page
      </button>
      <button type="button" disabled={!next} onClick={() => pages.next(next)}>
        Next page
      </button>
    </nav>
  );
}

/** A table's header row; a column named `""` is the row's actions, named for screen readers. */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th scope="col" key={column}>
            {column || <span class="sr-only">Actions</span>}
          </th>
        ))}
      </tr>
    </thead>
  );
}
