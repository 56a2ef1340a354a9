import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe as suite, expect, it } from "vitest";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../gen/google/rpc/error_details_pb";
import { describe } from "./errors";
import { SignedOut } from "./session";

function error(
  code: Code,
  message: string,
  details: ConstructorParameters<typeof ConnectError>[3] = [],
): ConnectError {
  return new ConnectError(message, code, undefined, details);
}

const badRequest = {
  desc: BadRequestSchema,
  value: create(BadRequestSchema, {
    fieldViolations: [{ field: "email", description: "is not an email address" }],
  }),
};
const throttled = [
  { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "LOGIN_THROTTLED" }) },
  {
    desc: RetryInfoSchema,
    value: create(RetryInfoSchema, { retryDelay: { seconds: 90n, nanos: 0 } }),
  },
];

suite("describe", () => {
  it("puts field violations next to their fields", () => {
    const problem = describe(error(Code.InvalidArgument, "invalid request", [badRequest]));
    expect(problem.fields).toEqual({ email: "is not an email address" });
    expect(problem.message).toBe("Please correct: email is not an email address.");
    expect(problem.action).toBe("show");
  });

  it("tells a throttled sign-in how long to wait", () => {
    const problem = describe(error(Code.ResourceExhausted, "too many failed logins", throttled));
    expect(problem.message).toBe("Too many failed sign-ins. Try again in 2 minutes.");
    expect(problem.retryAfterMs).toBe(90_000);
  });

  it("resumes a lagged stream at once and backs off when overloaded", () => {
    const lagged = describe(
      error(Code.ResourceExhausted, "lagged", [
        { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "STREAM_LAGGED" }) },
      ]),
    );
    expect(lagged.action).toBe("resume");
    const overloaded = describe(
      error(Code.ResourceExhausted, "busy", [
        { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "OVERLOADED" }) },
        {
          desc: RetryInfoSchema,
          value: create(RetryInfoSchema, { retryDelay: { seconds: 0n, nanos: 100_000_000 } }),
        },
      ]),
    );
    expect(overloaded).toMatchObject({ action: "retry", retryAfterMs: 100 });
    const capped = describe(
      error(Code.ResourceExhausted, "too many", [
        { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "TOO_MANY_STREAMS" }) },
        {
          desc: RetryInfoSchema,
          value: create(RetryInfoSchema, { retryDelay: { seconds: 5n, nanos: 0 } }),
        },
      ]),
    );
    // Not "resume": reconnecting at once would be refused again.
    expect(capped).toMatchObject({ action: "retry", retryAfterMs: 5_000 });
    expect(capped.message).toContain("Too many live views");
  });

  it("reads details that arrive encoded, as from the wire", () => {
    const wire = error(Code.InvalidArgument, "invalid request");
    wire.details.push({
      type: "google.rpc.BadRequest",
      value: toBinary(BadRequestSchema, badRequest.value),
    });
    expect(describe(wire).fields).toEqual({ email: "is not an email address" });
  });

  it("says UNAVAILABLE is being retried", () => {
    expect(describe(error(Code.Unavailable, "connection refused"))).toMatchObject({
      action: "retry",
      message: "Campus cannot be reached; retrying…",
    });
  });

  it("sends an ended session to sign-in, but shows a wrong password as such", () => {
    expect(describe(error(Code.Unauthenticated, "token expired")).action).toBe("sign-in");
    expect(describe(new SignedOut()).action).toBe("sign-in");
    const wrong = describe(error(Code.Unauthenticated, "wrong email or password"), {
      signingIn: true,
    });
    expect(wrong).toMatchObject({ action: "show", message: "Wrong email or password." });
  });
});
