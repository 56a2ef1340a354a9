// A server stream followed for as long as the page wants it: reconnects after errors and
// resumes from the last resume token, so no event is missed or shown twice.

import { describe } from "./errors";

/** What a live view shows next to its title. */
export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

/** One message of a resumable stream. */
export interface Resumable {
  resumeToken: string;
}

/** How to open the stream from a resume token ("" for now), and what to do with it. */
export interface Follow<T extends Resumable> {
  open(resumeToken: string, signal: AbortSignal, onOpen: () => void): AsyncIterable<T>;
  onMessage(message: T): void;
  onState(state: LiveState, detail?: string): void;
  /** Waits `ms` or until `signal` aborts; tests replace it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The longest pause between attempts. */
const MAX_PAUSE_MS = 10_000;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Follows the stream until `signal` aborts or the session ends. A lagged stream
 * (RESOURCE_EXHAUSTED, STREAM_LAGGED) resumes at once; other failures wait the server's
 * RetryInfo delay or an exponential pause up to ten seconds.
 */
export async function follow<T extends Resumable>(
  spec: Follow<T>,
  signal: AbortSignal,
): Promise<void> {
  const sleep = spec.sleep ?? abortableSleep;
  let resumeToken = "";
  let failures = 0;
  spec.onState("connecting");
  while (!signal.aborted) {
    try {
      const stream = spec.open(resumeToken, signal, () => {
        failures = 0;
        spec.onState("live");
      });
      for await (const message of stream) {
        if (message.resumeToken) resumeToken = message.resumeToken;
        spec.onMessage(message);
      }
    } catch (error) {
      if (signal.aborted) break;
      const problem = describe(error);
      if (problem.action === "sign-in") {
        spec.onState("stopped", problem.message);
        return;
      }
      spec.onState("reconnecting", problem.message);
      if (problem.action === "resume") continue;
      failures += 1;
      const backoff = Math.min(MAX_PAUSE_MS, 250 * 2 ** (failures - 1));
      await sleep(problem.retryAfterMs ?? backoff, signal);
      continue;
    }
    if (signal.aborted) break;
    // The server ended the stream (e.g. it is shutting down): pick up where it stopped.
    spec.onState("reconnecting");
    failures += 1;
    await sleep(Math.min(MAX_PAUSE_MS, 250 * 2 ** (failures - 1)), signal);
  }
  spec.onState("stopped");
}
