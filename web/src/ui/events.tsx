// Events of the school and of the user's courses: upcoming ones with the user's answer and
// waitlist place, the calendar link for calendar apps, and for staff an editor, cancelling and
// the list of who is coming.

import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { api, requestId } from "../api/client";
import type { StoredSession } from "../api/session";
import {
  AttendanceStatus,
  EventDetailsSchema,
  EventStatus,
  type MyResponse,
  type SchoolEvent,
} from "../gen/campus/courses/v1/events_pb";
import { FieldProblem, Page, ProblemBanner, useAction, useLoad } from "./common";
import { formatEventTime, zonedInstant, zonedLocal } from "./format";

/** The browser's own zone, the editor's default. */
const HOME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

function isSchoolAdmin(user: StoredSession): boolean {
  return user.roles.includes("SCHOOL_ADMIN");
}

/** Whether the page offers `user` changing `event` (the server decides in the end). */
function mayChange(user: StoredSession, event: SchoolEvent): boolean {
  return isSchoolAdmin(user) || (user.roles.includes("INSTRUCTOR") && event.courseId !== "");
}

/** The user's answer in words. */
function answerWords(mine: MyResponse | undefined): string {
  switch (mine?.status) {
    case AttendanceStatus.GOING:
      return "You are going.";
    case AttendanceStatus.WAITLISTED:
      return `You are on the waitlist: number ${mine.waitlistPosition}.`;
    case AttendanceStatus.NOT_GOING:
      return "You are not going.";
    default:
      return "You have not answered.";
  }
}

/** Going, waitlist and capacity in words. */
function countWords(event: SchoolEvent): string {
  const going = `${event.going} going`;
  const waitlist = event.waitlisted > 0 ? ` · ${event.waitlisted} on the waitlist` : "";
  const places = event.capacity === 1 ? "place" : "places";
  const capacity = event.capacity > 0 ? ` · ${event.capacity} ${places}` : "";
  return going + waitlist + capacity;
}

export function EventsPage({ user }: { user: StoredSession }) {
  const upcoming = useLoad(
    () => api.events.listUpcomingEvents({ pageSize: 100 }).then((page) => page.events),
    "upcoming",
  );
  const teaching = useLoad(
    () =>
      user.roles.includes("INSTRUCTOR") || isSchoolAdmin(user)
        ? api.courses
            .listCourses({
              schoolId: user.schoolId,
              instructorId: isSchoolAdmin(user) ? "" : user.userId,
              pageSize: 200,
            })
            .then((page) => page.courses)
        : Promise.resolve([]),
    `teaching:${user.userId}`,
  );
  const [editing, setEditing] = useState<SchoolEvent | null>(null);
  const answer = useAction();
  const staff = user.roles.includes("INSTRUCTOR") || isSchoolAdmin(user);

  const respond = (event: SchoolEvent, status: AttendanceStatus) =>
    void answer.run(async () => {
      await api.events.respondToEvent({ requestId: requestId(), eventId: event.id, status });
      upcoming.reload();
    });
  const cancel = (event: SchoolEvent) =>
    void answer.run(async () => {
      if (!window.confirm(`Cancel ${event.title}? Everyone's calendar shows it as cancelled.`))
        return;
      await api.events.cancelEvent({ eventId: event.id });
      upcoming.reload();
    });

  return (
    <Page title="Events">
      <ProblemBanner problem={upcoming.problem ?? answer.problem} />
      {upcoming.data && upcoming.data.length === 0 && <p>No upcoming events.</p>}
      <ul class="cards events" aria-label="Upcoming events">
        {upcoming.data?.map(({ event, mine }) =>
          event ? (
            <li
              class="card event"
              key={event.id}
              data-status={EventStatus[event.status]}
              aria-label={event.title}
            >
              <h2>
                {event.title}
                {event.status === EventStatus.CANCELLED && <span class="badge"> Cancelled</span>}
              </h2>
              <p>{formatEventTime(event.startsAt, event.endsAt, event.timeZone)}</p>
              {event.place && <p>{event.place}</p>}
              {event.link && (
                <p>
                  <a href={event.link} rel="noopener noreferrer" target="_blank">
                    {event.link}
                  </a>
                </p>
              )}
              {event.description && <p class="muted">{event.description}</p>}
              <p class="muted">{countWords(event)}</p>
              <p role="status" class="answer">
                {answerWords(mine)}
              </p>
              {event.status !== EventStatus.CANCELLED && (
                <div class="event-actions">
                  <button
                    type="button"
                    disabled={answer.busy}
                    aria-pressed={
                      mine?.status === AttendanceStatus.GOING ||
                      mine?.status === AttendanceStatus.WAITLISTED
                    }
                    onClick={() => respond(event, AttendanceStatus.GOING)}
                  >
                    Going <span class="sr-only">to {event.title}</span>
                  </button>
                  <button
                    type="button"
                    disabled={answer.busy}
                    aria-pressed={mine?.status === AttendanceStatus.NOT_GOING}
                    onClick={() => respond(event, AttendanceStatus.NOT_GOING)}
                  >
                    Not going <span class="sr-only">to {event.title}</span>
                  </button>
                  {mayChange(user, event) && (
                    <>
                      <button type="button" onClick={() => setEditing(event)}>
                        Edit <span class="sr-only">{event.title}</span>
                      </button>
                      <button type="button" disabled={answer.busy} onClick={() => cancel(event)}>
                        Cancel event <span class="sr-only">{event.title}</span>
                      </button>
                    </>
                  )}
                </div>
              )}
              {mayChange(user, event) && <Attendees event={event} />}
            </li>
          ) : null,
        )}
      </ul>
      <CalendarLink />
      {staff && (
        <EventEditor
          key={editing?.id ?? "new"}
          user={user}
          courses={teaching.data?.map((course) => ({ id: course.id, title: course.title })) ?? []}
          editing={editing}
          onSaved={() => {
            setEditing(null);
            upcoming.reload();
          }}
        />
      )}
    </Page>
  );
}

/** Who is coming, then the waitlist in order, with names. */
function Attendees({ event }: { event: SchoolEvent }) {
  const [open, setOpen] = useState(false);
  const listed = useLoad(async () => {
    if (!open) return [];
    const { attendees } = await api.events.listAttendees({ eventId: event.id, pageSize: 200 });
    const ids = attendees.map((attendee) => attendee.userId);
    const { users } =
      ids.length > 0 ? await api.users.batchGetUsers({ userIds: ids }) : { users: [] };
    const names = new Map(users.map((person) => [person.id, person.displayName]));
    return attendees.map((attendee) => ({ ...attendee, name: names.get(attendee.userId) ?? "" }));
  }, `${event.id}:${open}:${event.version}:${event.going}:${event.waitlisted}`);
  return (
    <details onToggle={(toggle) => setOpen((toggle.currentTarget as HTMLDetailsElement).open)}>
      <summary>Who is coming</summary>
      <ProblemBanner problem={listed.problem} />
      <ol aria-label={`Attendees of ${event.title}`}>
        {listed.data?.map((attendee) => (
          <li key={attendee.userId}>
            {attendee.name || attendee.userId}
            {attendee.status === AttendanceStatus.WAITLISTED &&
              ` (waitlist ${attendee.waitlistPosition})`}
          </li>
        ))}
      </ol>
    </details>
  );
}

/** The link a calendar app subscribes to, and a way to replace a leaked one. */
function CalendarLink() {
  const [url, setUrl] = useState("");
  const action = useAction();
  const fetchUrl = (reset: boolean) =>
    void action.run(async () => {
      const answer = await api.events.getCalendarUrl({ reset });
      setUrl(new URL(answer.url, window.location.origin).toString());
    });
  return (
    <section class="panel" aria-labelledby="calendar-title">
      <h2 id="calendar-title">Your calendar</h2>
      <p class="muted">
        Subscribe to this link in your calendar app to see the events you are going to, with changes
        and cancellations. Keep it private: anyone with it sees your events.
      </p>
      <ProblemBanner problem={action.problem} />
      {url ? (
        <>
          <label>
            Calendar link
            <input readOnly value={url} onFocus={(event) => event.currentTarget.select()} />
          </label>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(url)}>
            Copy link
          </button>
          <button type="button" disabled={action.busy} onClick={() => fetchUrl(true)}>
            Replace link
          </button>
        </>
      ) : (
        <button type="button" disabled={action.busy} onClick={() => fetchUrl(false)}>
          Show calendar link
        </button>
      )}
    </section>
  );
}

/** The form's fields, as typed. */
interface Draft {
  title: string;
  description: string;
  starts: string;
  ends: string;
  timeZone: string;
  place: string;
  link: string;
  capacity: string;
  courseId: string;
}

function draftOf(event: SchoolEvent | null): Draft {
  if (!event?.startsAt || !event.endsAt) {
    return {
      title: "",
      description: "",
      starts: "",
      ends: "",
      timeZone: HOME_ZONE,
      place: "",
      link: "",
      capacity: "0",
      courseId: "",
    };
  }
  return {
    title: event.title,
    description: event.description,
    starts: zonedLocal(timestampDate(event.startsAt), event.timeZone),
    ends: zonedLocal(timestampDate(event.endsAt), event.timeZone),
    timeZone: event.timeZone,
    place: event.place,
    link: event.link,
    capacity: String(event.capacity),
    courseId: event.courseId,
  };
}

/** The API's details of a draft; times the browser cannot read are left unset for the server
 * to name. */
function detailsOf(draft: Draft): MessageInitShape<typeof EventDetailsSchema> {
  const starts = zonedInstant(draft.starts, draft.timeZone);
  const ends = zonedInstant(draft.ends, draft.timeZone);
  return {
    title: draft.title,
    description: draft.description,
    startsAt: starts ? timestampFromMs(starts.getTime()) : undefined,
    endsAt: ends ? timestampFromMs(ends.getTime()) : undefined,
    timeZone: draft.timeZone,
    place: draft.place,
    link: draft.link,
    capacity: Number.parseInt(draft.capacity, 10) || 0,
  };
}

/** Announces an event, or changes `editing`. */
function EventEditor({
  user,
  courses,
  editing,
  onSaved,
}: {
  user: StoredSession;
  courses: { id: string; title: string }[];
  editing: SchoolEvent | null;
  onSaved(): void;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(editing));
  const save = useAction();
  const field = (name: keyof Draft) => (event: { currentTarget: { value: string } }) =>
    setDraft({ ...draft, [name]: event.currentTarget.value });

  const submit = (event: Event) => {
    event.preventDefault();
    void save.run(async () => {
      if (editing) {
        await api.events.updateEvent({
          eventId: editing.id,
          version: editing.version,
          details: detailsOf(draft),
        });
      } else {
        await api.events.createEvent({
          requestId: requestId(),
          schoolId: user.schoolId,
          courseId: draft.courseId,
          details: detailsOf(draft),
        });
      }
      setDraft(draftOf(null));
      onSaved();
    });
  };

  const heading = editing ? `Change ${editing.title}` : "Announce an event";
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="event-editor-title">
      <h2 id="event-editor-title">{heading}</h2>
      {!editing && (
        <label>
          Audience
          <select value={draft.courseId} onChange={field("courseId")}>
            {isSchoolAdmin(user) && <option value="">The whole school</option>}
            {!isSchoolAdmin(user) && <option value="">Choose a course</option>}
            {courses.map((course) => (
              <option key={course.id} value={course.id}>
                {course.title}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Title
        <input required value={draft.title} onInput={field("title")} />
        <FieldProblem problem={save.problem} field="details.title" />
      </label>
      <label>
        Starts
        <input type="datetime-local" required value={draft.starts} onInput={field("starts")} />
        <FieldProblem problem={save.problem} field="details.starts_at" />
      </label>
      <label>
        Ends
        <input type="datetime-local" required value={draft.ends} onInput={field("ends")} />
        <FieldProblem problem={save.problem} field="details.ends_at" />
      </label>
      <label>
        Time zone
        <input
          required
          list="time-zones"
          value={draft.timeZone}
          onInput={field("timeZone")}
          autocomplete="off"
        />
        <datalist id="time-zones">
          {Intl.supportedValuesOf("timeZone").map((zone) => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
        <FieldProblem problem={save.problem} field="details.time_zone" />
      </label>
      <label>
        Place
        <input value={draft.place} onInput={field("place")} />
        <FieldProblem problem={save.problem} field="details.place" />
      </label>
      <label>
        Online link
        <input type="url" value={draft.link} onInput={field("link")} />
        <FieldProblem problem={save.problem} field="details.link" />
      </label>
      <label>
        Places (0 for no limit)
        <input
          type="number"
          min="0"
          value={draft.capacity}
          onInput={field("capacity")}
          inputMode="numeric"
        />
        <FieldProblem problem={save.problem} field="details.capacity" />
      </label>
      <label>
        Description
        <textarea value={draft.description} onInput={field("description")} />
        <FieldProblem problem={save.problem} field="details.description" />
      </label>
      <ProblemBanner problem={save.problem} />
      <button type="submit" disabled={save.busy}>
        {editing ? "Save changes" : "Announce"}
      </button>
    </form>
  );
}
