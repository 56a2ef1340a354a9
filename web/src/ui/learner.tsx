// What a learner sees: their courses with progress, a course's lessons and materials, their
// attendance.

import { useRoute } from "preact-iso";
import { api, requestId } from "../api/client";
import type { StoredSession } from "../api/session";
import { ProgressState } from "../gen/campus/courses/v1/courses_pb";
import { AttendanceStatus, LessonProgressState } from "../gen/campus/progress/v1/progress_pb";
import { Page, ProblemBanner, ProgressBar, useAction, useLoad } from "./common";
import { useCourseAndLessons } from "./course";
import { formatDay, formatShare, formatTime, lastDays } from "./format";
import { Materials } from "./materials";

export function MyCourses() {
  const { data, problem } = useLoad(
    () => api.courses.listCoursesForUser({ pageSize: 100 }).then((page) => page.courses),
    "mine",
  );
  return (
    <Page title="My courses">
      <ProblemBanner problem={problem} />
      {data && data.length === 0 && <p>You are not enrolled in any course yet.</p>}
      <ul class="cards" aria-label="Courses">
        {data?.map(({ course, instructorDisplayName, progressState, progress }) =>
          course ? (
            <li class="card" key={course.id}>
              <h2>
                <a href={`/courses/${course.id}`}>{course.title}</a>
              </h2>
              <p class="muted">with {instructorDisplayName}</p>
              {progressState === ProgressState.KNOWN && progress ? (
                <ProgressBar
                  done={progress.completedLessons}
                  total={progress.totalLessons}
                  label={`Progress in ${course.title}`}
                />
              ) : (
                <p class="muted">Progress is not available right now.</p>
              )}
            </li>
          ) : null,
        )}
      </ul>
    </Page>
  );
}

export function CoursePage() {
  const { params } = useRoute();
  const courseId = params.courseId ?? "";
  const { course, lessons } = useCourseAndLessons(courseId);
  const progress = useLoad(() => api.progress.getCourseProgress({ courseId }), courseId);
  const action = useAction();
  const states = new Map(progress.data?.lessons.map((lesson) => [lesson.lessonId, lesson.state]));

  const record = (lessonId: string, state: LessonProgressState) =>
    void action.run(async () => {
      await api.progress.recordLessonProgress({
        requestId: requestId(),
        courseId,
        lessonId,
        state,
      });
      progress.reload();
    });

  const total = progress.data?.progress;
  return (
    <Page title={course.data?.course?.title ?? "Course"}>
      <ProblemBanner problem={course.problem ?? lessons.problem ?? progress.problem} />
      <p>{course.data?.course?.description}</p>
      {total && (
        <ProgressBar
          done={total.completedLessons}
          total={total.totalLessons}
          label="Course progress"
        />
      )}
      <ProblemBanner problem={action.problem} />
      <ol class="lessons" aria-label="Lessons">
        {lessons.data?.map((lesson) => {
          const state = states.get(lesson.id) ?? LessonProgressState.UNSPECIFIED;
          return (
            <li key={lesson.id} class="lesson" data-state={LessonProgressState[state]}>
              <div>
                <h2>{lesson.title}</h2>
                <p>{lesson.content}</p>
              </div>
              <div class="lesson-actions">
                {state === LessonProgressState.COMPLETED ? (
                  <span class="done">Completed</span>
                ) : (
                  <>
                    {state !== LessonProgressState.STARTED && (
                      <button
                        type="button"
                        disabled={action.busy}
                        onClick={() => record(lesson.id, LessonProgressState.STARTED)}
                      >
                        Start <span class="sr-only">{lesson.title}</span>
                      </button>
                    )}
                    <button
                      type="button"
                      disabled={action.busy}
                      onClick={() => record(lesson.id, LessonProgressState.COMPLETED)}
                    >
                      Mark completed <span class="sr-only">{lesson.title}</span>
                    </button>
                  </>
                )}
              </div>
            </li>
          );
        })}
      </ol>
      <Materials courseId={courseId} lessons={lessons.data ?? []} staff={false} />
    </Page>
  );
}

const STATUS_WORDS: Record<AttendanceStatus, string> = {
  [AttendanceStatus.UNSPECIFIED]: "—",
  [AttendanceStatus.PRESENT]: "Present",
  [AttendanceStatus.ABSENT]: "Absent",
  [AttendanceStatus.LATE]: "Late",
  [AttendanceStatus.EXCUSED]: "Excused",
};

/** Attendance status in words. */
export function statusWords(status: AttendanceStatus): string {
  return STATUS_WORDS[status];
}

export function MyAttendance({ user }: { user: StoredSession }) {
  const { data, problem } = useLoad(
    () =>
      api.progress
        .listAttendance({
          filter: {
            case: "byStudent",
            value: { studentId: user.userId, dateRange: lastDays(365) },
          },
          pageSize: 200,
        })
        .then((page) => page.marks),
    user.userId,
  );
  const marks = data ?? [];
  const attended = marks.filter(
    (mark) => mark.status === AttendanceStatus.PRESENT || mark.status === AttendanceStatus.LATE,
  ).length;
  return (
    <Page title="My attendance">
      <ProblemBanner problem={problem} />
      {data && (
        <p class="rate" data-rate={marks.length ? attended / marks.length : 0}>
          Attended {attended} of {marks.length} sessions
          {marks.length > 0 && ` · ${formatShare(attended / marks.length)}`}
        </p>
      )}
      <table>
        <caption class="sr-only">Attendance marks</caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Status</th>
            <th scope="col">Marked</th>
          </tr>
        </thead>
        <tbody>
          {marks.map((mark) => (
            <tr key={mark.sessionId}>
              <td>{formatDay(mark.sessionDate)}</td>
              <td>{statusWords(mark.status)}</td>
              <td>{formatTime(mark.markedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
