// Sign-in: the school's short name, email and password.

import { timestampMs } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { publicUsers, session } from "../api/client";
import { Role } from "../gen/campus/users/v1/users_pb";
import { FieldProblem, ProblemBanner, useAction } from "./common";

export function SignIn() {
  const [school, setSchool] = useState(new URLSearchParams(location.search).get("school") ?? "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, problem, run } = useAction();

  const signIn = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      let schoolId = "";
      if (school.trim()) {
        const found = await publicUsers.getSchool({
          key: { case: "slug", value: school.trim().toLowerCase() },
        });
        schoolId = found.school?.id ?? "";
      }
      const { tokens, user } = await publicUsers.login({ schoolId, email, password });
      if (!tokens?.accessTokenExpiresAt || !user) throw new Error("Login returned no tokens");
      await session.signIn({
        accessToken: tokens.accessToken,
        accessExpiresAt: timestampMs(tokens.accessTokenExpiresAt),
        refreshToken: tokens.refreshToken,
        userId: user.id,
        schoolId: user.schoolId,
        displayName: user.displayName,
        roles: user.roles.map((role) => Role[role]),
      });
    }).then(() => setPassword(""));
  };

  const signInProblem = problem && {
    ...problem,
    // A wrong password is the answer to this form, not an ended session.
    message: problem.action === "sign-in" ? "Wrong email or password." : problem.message,
  };
  return (
    <main class="sign-in">
      <form onSubmit={signIn} aria-labelledby="sign-in-title" noValidate>
        <h1 id="sign-in-title">Sign in to Campus</h1>
        <label>
          School
          <input
            name="school"
            value={school}
            onInput={(e) => setSchool(e.currentTarget.value)}
            placeholder="e.g. northfield (empty for platform admins)"
            autocomplete="organization"
          />
        </label>
        <label>
          Email
          <input
            name="email"
            type="email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            autocomplete="username"
            required
            aria-describedby="email-problem"
          />
          <FieldProblem problem={problem} field="email" />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            autocomplete="current-password"
            required
            aria-describedby="password-problem"
          />
          <FieldProblem problem={problem} field="password" />
        </label>
        <ProblemBanner problem={signInProblem} />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
