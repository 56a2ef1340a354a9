// What a platform admin sees: the schools on the platform.

import { api } from "../api/client";
import { Page, ProblemBanner, useLoad } from "./common";
import { formatTime } from "./format";

export function Schools() {
  const { data, problem } = useLoad(
    () => api.users.listSchools({ pageSize: 200 }).then((page) => page.schools),
    "schools",
  );
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
    </Page>
  );
}
