// What a platform admin sees: the schools on the platform, and a form to add one.

import { useState } from "preact/hooks";
import { api, requestId } from "../api/client";
import { FieldProblem, Page, ProblemBanner, useAction, useLoad } from "./common";
import { formatTime } from "./format";

export function Schools() {
  const { data, problem, reload } = useLoad(
    () => api.users.listSchools({ pageSize: 200 }).then((page) => page.schools),
    "schools",
  );
  const create = useAction();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  // One id per school being added, kept across retries so a repeat cannot add it twice.
  const [pending, setPending] = useState(requestId);

  const createSchool = (event: Event) => {
    event.preventDefault();
    void create
      .run(async () => {
        await api.users.createSchool({ requestId: pending, name, slug });
      })
      .then((created) => {
        if (!created) return;
        setName("");
        setSlug("");
        setPending(requestId());
        reload();
      });
  };

  return (
    <Page title="Schools">
      <ProblemBanner problem={problem} />
      <table>
        <caption class="sr-only">Schools</caption>
        <thead>
          <tr>
            <th scope="col">School</th>
            <th scope="col">Short name (for sign-in)</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.map((school) => (
            <tr key={school.id}>
              <td>{school.name}</td>
              <td>{school.slug}</td>
              <td>{formatTime(school.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="panel" onSubmit={createSchool} aria-labelledby="new-school">
        <h2 id="new-school">New school</h2>
        <label>
          Name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
          <FieldProblem problem={create.problem} field="name" />
        </label>
        <label>
          Short name
          <input value={slug} onInput={(e) => setSlug(e.currentTarget.value)} required />
          <FieldProblem problem={create.problem} field="slug" />
        </label>
        <ProblemBanner problem={create.problem} />
        <button type="submit" disabled={create.busy}>
          Create school
        </button>
      </form>
    </Page>
  );
}
