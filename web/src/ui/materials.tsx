// A course's materials: for everyone who sees the course, the list with a player that seeks
// and downloads; for its staff, an upload form with progress (new files and new versions)
// and deleting. Files play and download through short-lived signed URLs, because `<video src>`
// and `<a download>` cannot send the session's token.

import { timestampMs } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { api, requestId } from "../api/client";
import { uploadFile, type UploadProgress } from "../api/upload";
import type { Lesson } from "../gen/campus/courses/v1/courses_pb";
import type { Resource } from "../gen/campus/courses/v1/materials_pb";
import { FieldProblem, ProblemBanner, useAction, useLoad } from "./common";
import { formatShare, formatSize } from "./format";

/** Whether a `<video>` element plays it (it plays audio too). */
function playable(mediaType: string): boolean {
  return mediaType.startsWith("video/") || mediaType.startsWith("audio/");
}

/** What the player shows: the resource, its signed URL until when, and where to start. */
interface Playing {
  resource: Resource;
  url: string;
  expiresAtMs: number;
  startAt: number;
}

/** The materials section of a course page; `staff` adds uploading and deleting. */
export function Materials({
  courseId,
  lessons,
  staff,
}: {
  courseId: string;
  lessons: Lesson[];
  staff: boolean;
}) {
  const list = useLoad(
    () => api.materials.listResources({ courseId, pageSize: 200 }).then((page) => page.resources),
    courseId,
  );
  const action = useAction();
  const [playing, setPlaying] = useState<Playing | null>(null);
  const lessonTitles = new Map(lessons.map((lesson) => [lesson.id, lesson.title]));

  const signedUrl = async (resource: Resource, attachment: boolean) => {
    const answer = await api.materials.getDownloadUrl({ resourceId: resource.id, attachment });
    return {
      url: answer.url,
      expiresAtMs: answer.expiresAt ? timestampMs(answer.expiresAt) : 0,
    };
  };
  const play = (resource: Resource, startAt = 0) =>
    void action.run(async () => {
      setPlaying({ resource, startAt, ...(await signedUrl(resource, false)) });
    });
  const download = (resource: Resource) =>
    void action.run(async () => {
      // The answer is `Content-Disposition: attachment`, so the browser saves it and stays on
      // this page (a link would be taken over by the dashboard's router).
      window.location.assign((await signedUrl(resource, true)).url);
    });
  const remove = (resource: Resource) =>
    void action.run(async () => {
      await api.materials.deleteResource({ resourceId: resource.id });
      if (playing?.resource.id === resource.id) setPlaying(null);
      list.reload();
    });

  return (
    <section aria-labelledby="materials-title">
      <h2 id="materials-title">Materials</h2>
      <ProblemBanner problem={list.problem ?? action.problem} />
      {list.data?.length === 0 && <p class="muted">No materials yet.</p>}
      <ul class="materials" aria-label="Materials">
        {list.data?.map((resource) => (
          <li key={resource.id} class="material">
            <div>
              <h3>{resource.title}</h3>
              <p class="muted">
                {lessonTitles.get(resource.lessonId) ?? "Whole course"} ·{" "}
                {formatSize(Number(resource.size))}
                {resource.version > 1n && ` · version ${resource.version}`}
              </p>
            </div>
            <div class="lesson-actions">
              {playable(resource.mediaType) && (
                <button type="button" disabled={action.busy} onClick={() => play(resource)}>
                  Play <span class="sr-only">{resource.title}</span>
                </button>
              )}
              <button type="button" disabled={action.busy} onClick={() => download(resource)}>
                Download <span class="sr-only">{resource.title}</span>
              </button>
              {staff && (
                <button type="button" disabled={action.busy} onClick={() => remove(resource)}>
                  Delete <span class="sr-only">{resource.title}</span>
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
      {playing && (
        <figure class="player">
          <video
            key={playing.url}
            controls
            preload="metadata"
            src={playing.url}
            aria-label={`Player: ${playing.resource.title}`}
            onLoadedMetadata={(event) => {
              if (playing.startAt > 0) event.currentTarget.currentTime = playing.startAt;
            }}
            onError={(event) => {
              // The URL expired while the video was paused or seeking: sign a new one and go
              // on from the same place.
              if (Date.now() >= playing.expiresAtMs) {
                play(playing.resource, event.currentTarget.currentTime);
              }
            }}
          />
          <figcaption>{playing.resource.title}</figcaption>
        </figure>
      )}
      {staff && (
        <UploadForm
          courseId={courseId}
          lessons={lessons}
          resources={list.data ?? []}
          onUploaded={list.reload}
        />
      )}
    </section>
  );
}

/** Progress in words: hashing first, then sending. */
function progressWords(progress: UploadProgress): string {
  const share = formatShare(progress.total > 0 ? progress.done / progress.total : 1);
  return progress.phase === "checking"
    ? `Checking the file… ${share}`
    : `Sending ${formatSize(progress.done)} of ${formatSize(progress.total)} · ${share}`;
}

/** Staff's upload form: a new resource of the course or a lesson, or a new version of one. */
function UploadForm({
  courseId,
  lessons,
  resources,
  onUploaded,
}: {
  courseId: string;
  lessons: Lesson[];
  resources: Resource[];
  onUploaded(): void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState("");
  const [lessonId, setLessonId] = useState("");
  const [replacing, setReplacing] = useState("");
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const upload = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    if (!file) return;
    void upload
      .run(async () => {
        await uploadFile(
          api.materials,
          file,
          {
            requestId: requestId(),
            courseId,
            lessonId,
            resourceId: replacing,
            title: title || file.name,
            mediaType: file.type || "application/octet-stream",
          },
          setProgress,
        );
        form.reset();
        setFile(null);
        setTitle("");
        setReplacing("");
        onUploaded();
      })
      .then(() => setProgress(null));
  };

  return (
    <form class="panel" onSubmit={submit} aria-labelledby="upload-title">
      <h3 id="upload-title">Upload a file</h3>
      <label>
        File
        <input
          type="file"
          required
          onChange={(event) => setFile(event.currentTarget.files?.[0] ?? null)}
        />
        <FieldProblem problem={upload.problem} field="size" />
      </label>
      <label>
        Title
        <input
          value={title}
          placeholder={file?.name ?? ""}
          onInput={(event) => setTitle(event.currentTarget.value)}
        />
        <FieldProblem problem={upload.problem} field="title" />
      </label>
      <label>
        Lesson
        <select value={lessonId} onChange={(event) => setLessonId(event.currentTarget.value)}>
          <option value="">Whole course</option>
          {lessons.map((lesson) => (
            <option key={lesson.id} value={lesson.id}>
              {lesson.title}
            </option>
          ))}
        </select>
      </label>
      <label>
        Replaces
        <select value={replacing} onChange={(event) => setReplacing(event.currentTarget.value)}>
          <option value="">Nothing: a new file</option>
          {resources.map((resource) => (
            <option key={resource.id} value={resource.id}>
              {resource.title}
            </option>
          ))}
        </select>
      </label>
      {progress && (
        <div class="progress-row">
          <progress max={progress.total || 1} value={progress.done} aria-label="Upload progress" />
          <span role="status">{progressWords(progress)}</span>
        </div>
      )}
      <ProblemBanner problem={upload.problem} />
      <button type="submit" disabled={upload.busy}>
        Upload
      </button>
    </form>
  );
}
