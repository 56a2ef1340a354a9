// What a school admin sees of the school's attendance: the rate per day and per course over a
// chosen range, and the marks being taken right now, live, from one WatchAttendance of the
// school.

import { useState } from "preact/hooks";
import { api } from "../api/client";
import type { StoredSession } from "../api/session";
import { type AttendanceMark, SummaryGroupBy } from "../gen/campus/progress/v1/progress_pb";
import { PointsChart } from "./chart";
import { LiveBadge, Page, ProblemBanner, useLoad } from "./common";
import { formatDay, formatRate, formatTime, lastDays } from "./format";
import { statusWords } from "./learner";
import { useMarks } from "./marks";

/** Marks the live list keeps, newest first. */
const RECENT = 20;

export function SchoolAttendance({ user }: { user: StoredSession }) {
  const [range, setRange] = useState(() => lastDays(30));
  const key = `${range.startDate}|${range.endDate}`;
  const summary = (groupBy: SummaryGroupBy) =>
    api.progress.getAttendanceSummary({ schoolId: user.schoolId, groupBy, dateRange: range });
  const byDay = useLoad(() => summary(SummaryGroupBy.DAY), `day|${key}`);
  const byCourse = useLoad(() => summary(SummaryGroupBy.COURSE), `course|${key}`);
  const courses = useLoad(
    () =>
      api.courses
        .listCourses({ schoolId: user.schoolId, pageSize: 200 })
        .then((page) => new Map(page.courses.map((course) => [course.id, course.title]))),
    user.schoolId,
  );
  const [recent, setRecent] = useState<AttendanceMark[]>([]);
  const [names, setNames] = useState(new Map<string, string>());
  const live = useMarks({ case: "schoolId", value: user.schoolId }, (mark) => {
    setRecent((before) => [mark, ...before].slice(0, RECENT));
    if (!names.has(mark.studentId)) {
      void api.users.batchGetUsers({ userIds: [mark.studentId] }).then(({ users }) =>
        setNames((before) => {
          const next = new Map(before);
          for (const found of users) next.set(found.id, found.displayName);
          return next;
        }),
      );
    }
  });

  const total = byDay.data?.total;
  const titleOf = (courseId: string) => courses.data?.get(courseId) ?? courseId;
  return (
    <Page title="School attendance" aside={<LiveBadge state={live} />}>
      <ProblemBanner problem={byDay.problem ?? byCourse.problem ?? courses.problem} />
      <form class="panel inline" aria-label="Date range" onSubmit={(e) => e.preventDefault()}>
        <label>
          From
          <input
            type="date"
            value={range.startDate}
            max={range.endDate}
            onChange={(e) => setRange({ ...range, startDate: e.currentTarget.value })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            value={range.endDate}
            min={range.startDate}
            onChange={(e) => setRange({ ...range, endDate: e.currentTarget.value })}
          />
        </label>
      </form>
      {total && (
        <p class="rate" data-rate-bp={total.attendanceRateBp}>
          Attendance {formatRate(total.attendanceRateBp)} over {String(total.totalMarks)} marks
        </p>
      )}
      {byDay.data && byDay.data.rows.length > 0 && (
        <PointsChart
          kind="line"
          title="Attendance rate per day"
          points={byDay.data.rows.map((row) => ({
            label: formatDay(row.date),
            value: row.attendanceRateBp,
          }))}
          format={formatRate}
          max={10_000}
        />
      )}
      {byCourse.data && byCourse.data.rows.length > 0 && (
        <PointsChart
          kind="bar"
          title="Attendance rate per course"
          points={byCourse.data.rows.map((row) => ({
            label: titleOf(row.courseId),
            value: row.attendanceRateBp,
          }))}
          format={formatRate}
          max={10_000}
        />
      )}
      <h2>Marks being taken</h2>
      {recent.length === 0 && <p class="muted">Marks taken anywhere in the school appear here.</p>}
      <ol class="recent" aria-label="Marks being taken">
        {recent.map((mark) => (
          <li key={`${mark.sessionId}|${mark.studentId}|${formatTime(mark.markedAt)}`}>
            {formatTime(mark.markedAt)} · {titleOf(mark.courseId)} ·{" "}
            {names.get(mark.studentId) ?? mark.studentId}: {statusWords(mark.status)}
          </li>
        ))}
      </ol>
    </Page>
  );
}
