// What a school admin sees of the school's people: the users by role, a page at a time, a
// form to add one, and deactivation.

import { useState } from "preact/hooks";
import { api, requestId } from "../api/client";
import type { StoredSession } from "../api/session";
import { Role, UserStatus } from "../gen/campus/users/v1/users_pb";
import {
  FieldProblem,
  Page,
  Pager,
  ProblemBanner,
  useAction,
  useLoad,
  usePages,
  TableHead,
} from "./common";

/** Users a page shows. */
const PAGE_SIZE = 20;

const ROLE_WORDS: Record<Role, string> = {
  [Role.UNSPECIFIED]: "Any role",
  [Role.STUDENT]: "Students",
  [Role.INSTRUCTOR]: "Instructors",
  [Role.SCHOOL_ADMIN]: "School admins",
  [Role.PLATFORM_ADMIN]: "Platform admins",
};

/** The roles a school admin filters by and gives. */
const SCHOOL_ROLES = [Role.STUDENT, Role.INSTRUCTOR, Role.SCHOOL_ADMIN];

function roleName(role: Role): string {
  return Role[role].toLowerCase().replace("_", " ");
}

export function People({ user }: { user: StoredSession }) {
  const [role, setRole] = useState(Role.UNSPECIFIED);
  const pages = usePages();
  const users = useLoad(
    () =>
      api.users.listUsers({
        schoolId: user.schoolId,
        role,
        pageSize: PAGE_SIZE,
        pageToken: pages.token,
      }),
    `${role}|${pages.token}`,
  );
  const change = useAction();
  const create = useAction();
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [newRole, setNewRole] = useState(Role.STUDENT);
  const [password, setPassword] = useState("");
  // One id per user being added, kept across retries so a repeat cannot add them twice.
  const [pending, setPending] = useState(requestId);

  const filter = (next: Role) => {
    setRole(next);
    pages.reset();
  };

  const deactivate = (userId: string) =>
    void change.run(async () => {
      await api.users.deactivateUser({ userId, reason: "deactivated by a school admin" });
      users.reload();
    });

  const addUser = (event: Event) => {
    event.preventDefault();
    void create
      .run(async () => {
        await api.users.createUser({
          requestId: pending,
          schoolId: user.schoolId,
          email,
          displayName,
          roles: [newRole],
          initialPassword: password,
        });
      })
      .then((created) => {
        if (!created) return;
        setEmail("");
        setDisplayName("");
        setPassword("");
        setPending(requestId());
        users.reload();
      });
  };

  const next = users.data?.nextPageToken ?? "";
  return (
    <Page title="People">
      <ProblemBanner problem={users.problem ?? change.problem} />
      <label>
        Show{" "}
        <select
          value={String(role)}
          onChange={(event) => filter(Number(event.currentTarget.value) as Role)}
        >
          {[Role.UNSPECIFIED, ...SCHOOL_ROLES].map((option) => (
            <option key={option} value={String(option)}>
              {ROLE_WORDS[option]}
            </option>
          ))}
        </select>
      </label>
      <table aria-label="People">
        <TableHead columns={["Name", "Email", "Roles", "Status", ""]} />
        <tbody>
          {users.data?.users.map((person) => (
            <tr key={person.id}>
              <td>{person.displayName}</td>
              <td>{person.email}</td>
              <td>{person.roles.map(roleName).join(", ")}</td>
              <td>{person.status === UserStatus.ACTIVE ? "active" : "deactivated"}</td>
              <td>
                {person.status === UserStatus.ACTIVE && person.id !== user.userId && (
                  <button
                    type="button"
                    disabled={change.busy}
                    onClick={() => deactivate(person.id)}
                  >
                    Deactivate <span class="sr-only">{person.displayName}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pages={pages} next={next} />
      <form class="panel" onSubmit={addUser} aria-labelledby="new-person">
        <h2 id="new-person">New person</h2>
        <label>
          Email
          <input
            type="email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            required
          />
          <FieldProblem problem={create.problem} field="email" />
        </label>
        <label>
          Display name
          <input value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
          <FieldProblem problem={create.problem} field="display_name" />
        </label>
        <label>
          Role
          <select
            value={String(newRole)}
            onChange={(event) => setNewRole(Number(event.currentTarget.value) as Role)}
          >
            {SCHOOL_ROLES.map((option) => (
              <option key={option} value={String(option)}>
                {roleName(option)}
              </option>
            ))}
          </select>
        </label>
        <label>
          First password
          <input
            type="password"
            autocomplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
          <FieldProblem problem={create.problem} field="initial_password" />
        </label>
        <ProblemBanner problem={create.problem} />
        <button type="submit" disabled={create.busy}>
          Add person
        </button>
      </form>
    </Page>
  );
}
