// A course and its lessons, as both the learner's course page and the editor show them.

import { api } from "../api/client";
import { useLoad } from "./common";

/** Loads the course and its lessons (up to 200, the most a page of lessons holds). */
export function useCourseAndLessons(courseId: string) {
  const course = useLoad(() => api.courses.getCourse({ courseId }), courseId);
  const lessons = useLoad(
    () => api.courses.listLessons({ courseId, pageSize: 200 }).then((page) => page.lessons),
    courseId,
  );
  return { course, lessons };
}
