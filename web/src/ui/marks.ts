// Attendance marks as they are written, on any device: one WatchAttendance of a course or
// of a school, resumed from its last token after a reconnect, for as long as the page is open.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { follow, type LiveState } from "../api/live";
import type {
  AttendanceMark,
  WatchAttendanceResponse,
} from "../gen/campus/progress/v1/progress_pb";

/** What is watched: one course, or every course of a school. */
export type MarkScope = { case: "courseId"; value: string } | { case: "schoolId"; value: string };

/** Calls `onMark` with each new or changed mark of `scope`; returns the stream's state. */
export function useMarks(scope: MarkScope, onMark: (mark: AttendanceMark) => void): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  useEffect(() => {
    const controller = new AbortController();
    void follow<WatchAttendanceResponse>(
      {
        open: (resumeToken, signal, onOpen) =>
          api.progress.watchAttendance(
            { scope, resumeToken },
            { signal, onHeader: onOpen, timeoutMs: 0 },
          ),
        onMessage: (message) => message.mark && onMark(message.mark),
        onState: (next) => setState(next),
      },
      controller.signal,
    );
    return () => controller.abort();
  }, [scope.case, scope.value]);
  return state;
}
