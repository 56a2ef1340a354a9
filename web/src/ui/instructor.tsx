// What an instructor sees: their courses and the course editor (with its materials), sessions
// with attendance charts, and the roster grid where attendance is taken, with marks from other
// devices live.

import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { useLocation, useRoute } from "preact-iso";
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, requestId, session } from "../api/client";
import type { StoredSession } from "../api/session";
import { CourseStatus } from "../gen/campus/courses/v1/courses_pb";
import {
  AttendanceStatus,
  SummaryGroupBy,
  type AttendanceMark,
} from "../gen/campus/progress/v1/progress_pb";
import { PointsChart } from "./chart";
import { useCourseAndLessons } from "./course";
import { Materials } from "./materials";
import { FieldProblem, LiveBadge, Page, ProblemBanner, useAction, useLoad } from "./common";
import { formatDay, formatRate, formatTime, lastDays, today } from "./format";
import { statusWords } from "./learner";
import { useMarks } from "./marks";

export function Teaching({ user }: { user: StoredSession }) {
  const { route } = useLocation();
  const courses = useLoad(
    () =>
      api.courses
        .listCourses({
          schoolId: user.schoolId,
          // A school admin looks after every course of the school; an instructor, their own.
          instructorId: user.roles.includes("SCHOOL_ADMIN") ? "" : user.userId,
          pageSize: 200,
        })
        .then((page) => page.courses),
    user.userId,
  );
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const create = useAction();
  const createCourse = (event: Event) => {
    event.preventDefault();
    void create.run(async () => {
      const { course } = await api.courses.createCourse({
        requestId: requestId(),
        schoolId: user.schoolId,
        title,
        description,
        instructorId: user.userId,
      });
      if (course) route(`/teaching/${course.id}`);
    });
  };
  return (
    <Page title="Teaching">
      <ProblemBanner problem={courses.problem} />
      <ul class="cards" aria-label="My courses">
        {courses.data?.map((course) => (
          <li class="card" key={course.id}>
            <h2>
              <a href={`/teaching/${course.id}`}>{course.title}</a>
            </h2>
            <p class="muted">
              {CourseStatus[course.status].toLowerCase()} · {course.lessonCount} lessons
            </p>
            <a href={`/teaching/${course.id}/sessions`}>Sessions and attendance</a>
          </li>
        ))}
      </ul>
      <form class="panel" onSubmit={createCourse} aria-labelledby="new-course">
        <h2 id="new-course">New course</h2>
        <label>
          Title
          <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
          <FieldProblem problem={create.problem} field="title" />
        </label>
        <label>
          Description
          <textarea value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <ProblemBanner problem={create.problem} />
        <button type="submit" disabled={create.busy}>
          Create course
        </button>
      </form>
    </Page>
  );
}

export function CourseEditor() {
  const { params } = useRoute();
  const courseId = params.courseId ?? "";
  const { course, lessons } = useCourseAndLessons(courseId);
  const current = course.data?.course;
  const [title, setTitle] = useState<string | null>(null);
  const [description, setDescription] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ id: string; title: string; content: string } | null>(
    null,
  );
  const [lessonTitle, setLessonTitle] = useState("");
  const [lessonContent, setLessonContent] = useState("");
  const action = useAction();

  const save = (event: Event) => {
    event.preventDefault();
    if (!current) return;
    void action.run(async () => {
      await api.courses.updateCourse({
        courseId,
        version: current.version,
        title: title ?? current.title,
        description: description ?? current.description,
      });
      course.reload();
    });
  };
  const publish = () =>
    current &&
    void action.run(async () => {
      await api.courses.publishCourse({ courseId, version: current.version });
      course.reload();
    });
  const addLesson = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      await api.courses.addLesson({
        requestId: requestId(),
        courseId,
        title: lessonTitle,
        content: lessonContent,
      });
      setLessonTitle("");
      setLessonContent("");
      lessons.reload();
      course.reload();
    });
  };
  const move = (index: number, by: number) => {
    const ids = lessons.data?.map((lesson) => lesson.id) ?? [];
    const target = index + by;
    if (target < 0 || target >= ids.length) return;
    [ids[index], ids[target]] = [ids[target] ?? "", ids[index] ?? ""];
    void action.run(async () => {
      await api.courses.reorderLessons({ courseId, lessonIds: ids });
      lessons.reload();
    });
  };
  const saveLesson = (event: Event) => {
    event.preventDefault();
    if (!editing) return;
    void action
      .run(async () => {
        await api.courses.updateLesson({
          courseId,
          lessonId: editing.id,
          title: editing.title,
          content: editing.content,
        });
        lessons.reload();
      })
      .then((saved) => saved && setEditing(null));
  };
  const remove = (lessonId: string) =>
    void action.run(async () => {
      await api.courses.removeLesson({ courseId, lessonId });
      lessons.reload();
      course.reload();
    });

  return (
    <Page
      title={current?.title ?? "Course"}
      aside={current && <span class="badge">{CourseStatus[current.status].toLowerCase()}</span>}
    >
      <ProblemBanner problem={course.problem ?? lessons.problem} />
      <p>
        <a href={`/teaching/${courseId}/sessions`}>Sessions and attendance</a>
      </p>
      {current && (
        <form class="panel" onSubmit={save} aria-labelledby="course-details">
          <h2 id="course-details">Details</h2>
          <label>
            Title
            <input
              value={title ?? current.title}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
            <FieldProblem problem={action.problem} field="title" />
          </label>
          <label>
            Description
            <textarea
              value={description ?? current.description}
              onInput={(e) => setDescription(e.currentTarget.value)}
            />
          </label>
          <div class="buttons">
            <button type="submit" disabled={action.busy}>
              Save
            </button>
            {current.status === CourseStatus.DRAFT && (
              <button type="button" onClick={publish} disabled={action.busy}>
                Publish
              </button>
            )}
          </div>
        </form>
      )}
      <ProblemBanner problem={action.problem} />
      <h2>Lessons</h2>
      <ol class="lessons" aria-label="Lessons">
        {lessons.data?.map((lesson, index) =>
          editing?.id === lesson.id ? (
            <li class="lesson" key={lesson.id}>
              <form class="lesson-edit" onSubmit={saveLesson} aria-label={`Edit ${lesson.title}`}>
                <label>
                  Lesson title
                  <input
                    value={editing.title}
                    onInput={(e) => setEditing({ ...editing, title: e.currentTarget.value })}
                    required
                  />
                  <FieldProblem problem={action.problem} field="title" />
                </label>
                <label>
                  Content
                  <textarea
                    value={editing.content}
                    onInput={(e) => setEditing({ ...editing, content: e.currentTarget.value })}
                  />
                  <FieldProblem problem={action.problem} field="content" />
                </label>
                <div class="buttons">
                  <button type="submit" disabled={action.busy}>
                    Save lesson
                  </button>
                  <button type="button" onClick={() => setEditing(null)}>
                    Cancel
                  </button>
                </div>
              </form>
            </li>
          ) : (
            <li class="lesson" key={lesson.id}>
              <div>
                <h3>{lesson.title}</h3>
                <p>{lesson.content}</p>
              </div>
              <div class="lesson-actions">
                <button
                  type="button"
                  onClick={() =>
                    setEditing({ id: lesson.id, title: lesson.title, content: lesson.content })
                  }
                >
                  Edit <span class="sr-only">{lesson.title}</span>
                </button>
                <button type="button" onClick={() => move(index, -1)} disabled={index === 0}>
                  Up <span class="sr-only">{lesson.title}</span>
                </button>
                <button
                  type="button"
                  onClick={() => move(index, 1)}
                  disabled={index === (lessons.data?.length ?? 0) - 1}
                >
                  Down <span class="sr-only">{lesson.title}</span>
                </button>
                <button type="button" onClick={() => remove(lesson.id)}>
                  Remove <span class="sr-only">{lesson.title}</span>
                </button>
              </div>
            </li>
          ),
        )}
      </ol>
      <form class="panel" onSubmit={addLesson} aria-labelledby="new-lesson">
        <h3 id="new-lesson">Add a lesson</h3>
        <label>
          Lesson title
          <input
            value={lessonTitle}
            onInput={(e) => setLessonTitle(e.currentTarget.value)}
            required
          />
        </label>
        <label>
          Content
          <textarea
            value={lessonContent}
            onInput={(e) => setLessonContent(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={action.busy}>
          Add lesson
        </button>
      </form>
      <Materials courseId={courseId} lessons={lessons.data ?? []} staff />
    </Page>
  );
}

export function SessionsPage() {
  const { params } = useRoute();
  const courseId = params.courseId ?? "";
  const { route } = useLocation();
  const course = useLoad(() => api.courses.getCourse({ courseId }), courseId);
  const sessions = useLoad(
    () =>
      api.progress
        .listAttendanceSessions({ courseId, pageSize: 200 })
        .then((page) => page.sessions),
    courseId,
  );
  const summary = useLoad(
    () =>
      api.progress.getAttendanceSummary({
        schoolId: session.current()?.schoolId ?? "",
        courseId,
        groupBy: SummaryGroupBy.DAY,
        dateRange: lastDays(120),
      }),
    courseId,
  );
  const [title, setTitle] = useState("Class");
  const [date, setDate] = useState(today());
  const [time, setTime] = useState("09:00");
  const [minutes, setMinutes] = useState(50);
  const create = useAction();
  const createSession = (event: Event) => {
    event.preventDefault();
    void create.run(async () => {
      const startsAt = new Date(`${date}T${time}`);
      const endsAt = new Date(startsAt.getTime() + minutes * 60_000);
      const created = await api.progress.createAttendanceSession({
        requestId: requestId(),
        courseId,
        title,
        sessionDate: date,
        startsAt: timestampFromMs(startsAt.getTime()),
        endsAt: timestampFromMs(endsAt.getTime()),
      });
      if (created.session) route(`/teaching/${courseId}/sessions/${created.session.id}`);
    });
  };
  const rows = summary.data?.rows ?? [];
  const total = summary.data?.total;
  return (
    <Page title={`Sessions · ${course.data?.course?.title ?? ""}`}>
      <ProblemBanner problem={course.problem ?? sessions.problem ?? summary.problem} />
      {total && total.totalMarks > 0n && (
        <p class="rate" data-rate-bp={total.attendanceRateBp}>
          Attendance {formatRate(total.attendanceRateBp)} over {String(total.totalMarks)} marks
        </p>
      )}
      {rows.length > 0 && (
        <PointsChart
          kind="line"
          title="Attendance rate per day"
          points={rows.map((row) => ({
            label: formatDay(row.date),
            value: row.attendanceRateBp,
          }))}
          format={formatRate}
          max={10_000}
        />
      )}
      <form class="panel inline" onSubmit={createSession} aria-labelledby="new-session">
        <h2 id="new-session">New session</h2>
        <label>
          Title
          <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
        </label>
        <label>
          Date
          <input
            type="date"
            value={date}
            onInput={(e) => setDate(e.currentTarget.value)}
            required
          />
          <FieldProblem problem={create.problem} field="session_date" />
        </label>
        <label>
          Starts at
          <input
            type="time"
            value={time}
            onInput={(e) => setTime(e.currentTarget.value)}
            required
          />
          <FieldProblem problem={create.problem} field="starts_at" />
        </label>
        <label>
          Minutes
          <input
            type="number"
            min={5}
            max={600}
            value={minutes}
            onInput={(e) => setMinutes(Number(e.currentTarget.value))}
            required
          />
          <FieldProblem problem={create.problem} field="ends_at" />
        </label>
        <button type="submit" disabled={create.busy}>
          Create and take attendance
        </button>
        <ProblemBanner problem={create.problem} />
      </form>
      <ul class="sessions" aria-label="Sessions">
        {[...(sessions.data ?? [])]
          .sort((a, b) => b.sessionDate.localeCompare(a.sessionDate))
          .map((session) => (
            <li key={session.id}>
              <a href={`/teaching/${courseId}/sessions/${session.id}`}>
                {formatDay(session.sessionDate)} · {session.title}
              </a>
            </li>
          ))}
      </ul>
    </Page>
  );
}

const MARKABLE = [
  AttendanceStatus.PRESENT,
  AttendanceStatus.ABSENT,
  AttendanceStatus.LATE,
  AttendanceStatus.EXCUSED,
] as const;

/** Keys that mark the focused learner, then move to the next. */
const KEYS: Record<string, AttendanceStatus> = {
  p: AttendanceStatus.PRESENT,
  a: AttendanceStatus.ABSENT,
  l: AttendanceStatus.LATE,
  e: AttendanceStatus.EXCUSED,
};

interface Learner {
  id: string;
  name: string;
}

export function TakeAttendance() {
  const { params } = useRoute();
  const courseId = params.courseId ?? "";
  const sessionId = params.sessionId ?? "";
  const roster = useLoad(async (): Promise<Learner[]> => {
    const { enrollments } = await api.courses.listEnrollments({
      filter: { case: "courseId", value: courseId },
      pageSize: 200,
    });
    const ids = enrollments.map((enrollment) => enrollment.userId);
    if (ids.length === 0) return [];
    const { users } = await api.users.batchGetUsers({ userIds: ids });
    const names = new Map(users.map((user) => [user.id, user.displayName]));
    return ids
      .map((id) => ({ id, name: names.get(id) ?? id }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }, courseId);
  const existing = useLoad(
    () =>
      api.progress
        .listAttendance({
          filter: { case: "bySession", value: { sessionId } },
          pageSize: 200,
        })
        .then((page) => page.marks),
    sessionId,
  );
  const [saved, setSaved] = useState(new Map<string, AttendanceStatus>());
  const [draft, setDraft] = useState(new Map<string, AttendanceStatus>());
  const [recent, setRecent] = useState<AttendanceMark[]>([]);
  const [saveId, setSaveId] = useState(requestId);
  const save = useAction();

  useEffect(() => {
    if (existing.data) {
      setSaved(new Map(existing.data.map((mark) => [mark.studentId, mark.status])));
    }
  }, [existing.data]);

  const live = useMarks({ case: "courseId", value: courseId }, (mark) => {
    if (mark.sessionId !== sessionId) return;
    setSaved((before) => new Map(before).set(mark.studentId, mark.status));
    setRecent((before) => [mark, ...before].slice(0, 20));
  });

  const names = useMemo(
    () => new Map((roster.data ?? []).map((learner) => [learner.id, learner.name])),
    [roster.data],
  );
  const statusOf = (id: string) => draft.get(id) ?? saved.get(id) ?? AttendanceStatus.UNSPECIFIED;
  const mark = (id: string, status: AttendanceStatus) => {
    setDraft((before) => new Map(before).set(id, status));
    setSaveId(requestId());
  };
  const markAll = () => {
    const next = new Map(draft);
    for (const learner of roster.data ?? []) {
      if (statusOf(learner.id) === AttendanceStatus.UNSPECIFIED) {
        next.set(learner.id, AttendanceStatus.PRESENT);
      }
    }
    setDraft(next);
    setSaveId(requestId());
  };
  const submit = () =>
    void save.run(async () => {
      const marks = [...draft].map(([studentId, status]) => ({ studentId, status, note: "" }));
      if (marks.length === 0) return;
      await api.progress.batchMarkAttendance({ requestId: saveId, sessionId, marks });
      setSaved((before) => {
        const next = new Map(before);
        for (const [id, status] of draft) next.set(id, status);
        return next;
      });
      setDraft(new Map());
      setSaveId(requestId());
    });
  const onRowKey = (event: KeyboardEvent, index: number, id: string) => {
    const status = KEYS[event.key.toLowerCase()];
    if (status === undefined) return;
    event.preventDefault();
    mark(id, status);
    const rows = document.querySelectorAll<HTMLElement>("tr.roster-row");
    rows[Math.min(index + 1, rows.length - 1)]?.focus();
  };

  return (
    <Page title="Take attendance" aside={<LiveBadge state={live} />}>
      <ProblemBanner problem={roster.problem ?? existing.problem} />
      <p class="muted">
        Keys: <kbd>P</kbd> present, <kbd>A</kbd> absent, <kbd>L</kbd> late, <kbd>E</kbd> excused, on
        a focused row; the next row takes focus.
      </p>
      <div class="attendance">
        <div>
          <table class="roster">
            <caption class="sr-only">Class roster</caption>
            <thead>
              <tr>
                <th scope="col">Learner</th>
                {MARKABLE.map((status) => (
                  <th scope="col" key={status}>
                    {statusWords(status)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {roster.data?.map((learner, index) => {
                const status = statusOf(learner.id);
                return (
                  <tr
                    key={learner.id}
                    class={`roster-row${draft.has(learner.id) ? " changed" : ""}`}
                    tabIndex={0}
                    data-learner={learner.name}
                    data-status={AttendanceStatus[status]}
                    onKeyDown={(event) => onRowKey(event, index, learner.id)}
                  >
                    <th scope="row">{learner.name}</th>
                    {MARKABLE.map((option) => (
                      <td key={option}>
                        <input
                          type="radio"
                          name={`mark-${learner.id}`}
                          aria-label={`${learner.name}: ${statusWords(option)}`}
                          checked={status === option}
                          onChange={() => mark(learner.id, option)}
                          tabIndex={-1}
                        />
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div class="buttons">
            <button type="button" onClick={markAll}>
              Mark the rest present
            </button>
            <button type="button" onClick={submit} disabled={save.busy || draft.size === 0}>
              Save {draft.size > 0 ? `${draft.size} marks` : ""}
            </button>
          </div>
          <ProblemBanner problem={save.problem} />
        </div>
        <aside class="panel" aria-labelledby="live-board">
          <h2 id="live-board">Live board</h2>
          <ol class="live-marks" aria-live="polite">
            {recent.map((entry) => (
              <li
                key={`${entry.studentId}-${entry.markedAt?.seconds}.${entry.markedAt?.nanos}-${entry.status}`}
              >
                <strong>{names.get(entry.studentId) ?? entry.studentId}</strong>{" "}
                {statusWords(entry.status)} ·{" "}
                <time dateTime={entry.markedAt ? timestampDate(entry.markedAt).toISOString() : ""}>
                  {formatTime(entry.markedAt)}
                </time>
              </li>
            ))}
          </ol>
        </aside>
      </div>
    </Page>
  );
}
