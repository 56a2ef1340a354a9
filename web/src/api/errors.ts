// Every gRPC error in words, with what the page should do about it.

import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../gen/google/rpc/error_details_pb";
import { SignedOut } from "./session";

/** What went wrong, for people, and what to do next. */
export interface Problem {
  /** One sentence to show. */
  message: string;
  /** Messages for form fields, by the request field's name (`email`, `password`, …). */
  fields: Record<string, string>;
  /** What the page does: show it, sign in again, wait and retry, or resume a stream now. */
  action: "show" | "sign-in" | "retry" | "resume";
  /** How long to wait before trying again, when the server said (else the caller's backoff). */
  retryAfterMs: number | null;
}

function durationMs(seconds: bigint, nanos: number): number {
  return Number(seconds) * 1000 + Math.round(nanos / 1e6);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith(".") ? "" : ".");
}

function waitWords(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/**
 * Turns any error a call can raise into a [`Problem`]. While `signingIn`, UNAUTHENTICATED is
 * the answer to the credentials (shown as is), not an ended session.
 */
export function describe(error: unknown, { signingIn = false } = {}): Problem {
  if (error instanceof SignedOut) {
    return { message: error.message, fields: {}, action: "sign-in", retryAfterMs: null };
  }
  const connect = ConnectError.from(error);
  const fields: Record<string, string> = {};
  for (const badRequest of connect.findDetails(BadRequestSchema)) {
    for (const violation of badRequest.fieldViolations) {
      fields[violation.field] = violation.description;
    }
  }
  const retry = connect.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const retryAfterMs = retry ? durationMs(retry.seconds, retry.nanos) : null;
  const reason = connect.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
  const text = connect.rawMessage;
  switch (connect.code) {
    case Code.InvalidArgument:
      return {
        message:
          Object.keys(fields).length > 0
            ? `Please correct: ${Object.entries(fields)
                .map(([field, description]) => `${field.replaceAll("_", " ")} ${description}`)
                .join("; ")}.`
            : text,
        fields,
        action: "show",
        retryAfterMs: null,
      };
    case Code.Unauthenticated:
      return signingIn
        ? { message: capitalised(text), fields, action: "show", retryAfterMs: null }
        : { message: "Please sign in again.", fields, action: "sign-in", retryAfterMs: null };
    case Code.PermissionDenied:
      return { message: `Not allowed: ${text}`, fields, action: "show", retryAfterMs: null };
    case Code.NotFound:
      return { message: `Not found: ${text}`, fields, action: "show", retryAfterMs: null };
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
    case Code.Aborted:
      return { message: text, fields, action: "show", retryAfterMs: null };
    case Code.ResourceExhausted:
      if (reason === "STREAM_LAGGED") {
        return { message: "Catching up…", fields, action: "resume", retryAfterMs: 0 };
      }
      if (reason === "TOO_MANY_STREAMS") {
        return {
          message: "Too many live views are open; close another tab. Retrying shortly…",
          fields,
          action: "retry",
          retryAfterMs: retryAfterMs ?? 5_000,
        };
      }
      if (reason === "LOGIN_THROTTLED") {
        const wait = retryAfterMs ?? 60_000;
        return {
          message: `Too many failed sign-ins. Try again in ${waitWords(wait)}.`,
          fields,
          action: "show",
          retryAfterMs: wait,
        };
      }
      return {
        message: "Campus is busy; retrying shortly…",
        fields,
        action: "retry",
        retryAfterMs,
      };
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return {
        message: "Campus cannot be reached; retrying…",
        fields,
        action: "retry",
        retryAfterMs,
      };
    default:
      return {
        message: `Something went wrong (${Code[connect.code]}): ${text}`,
        fields,
        action: "show",
        retryAfterMs: null,
      };
  }
}
