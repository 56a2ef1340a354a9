import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb";
import { follow, type LiveState } from "./live";

interface Event {
  resumeToken: string;
  n: number;
}

describe("follow", () => {
  it("resumes from the last token after a drop, at once when the stream lagged", async () => {
    const opened: string[] = [];
    const seen: number[] = [];
    const states: LiveState[] = [];
    const pauses: number[] = [];
    const controller = new AbortController();
    const lagged = new ConnectError("lagged", Code.ResourceExhausted, undefined, [
      { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "STREAM_LAGGED" }) },
    ]);
    const scripts: Array<{ events: number[]; then: Error | "abort" }> = [
      { events: [1, 2], then: new ConnectError("reset", Code.Unavailable) },
      { events: [3], then: lagged },
      { events: [4], then: "abort" },
    ];
    await follow<Event>(
      {
        open(resumeToken, _signal, onOpen) {
          opened.push(resumeToken);
          const script = scripts.shift();
          return (async function* () {
            onOpen();
            for (const n of script?.events ?? []) yield { resumeToken: `t${n}`, n };
            if (script?.then === "abort") controller.abort();
            else throw script?.then;
          })();
        },
        onMessage: (event) => seen.push(event.n),
        onState: (state) => states.push(state),
        sleep: async (ms) => void pauses.push(ms),
      },
      controller.signal,
    );
    expect(opened).toEqual(["", "t2", "t3"]);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(pauses).toEqual([250]);
    expect(states).toEqual([
      "connecting",
      "live",
      "reconnecting",
      "live",
      "reconnecting",
      "live",
      "stopped",
    ]);
  });
});
