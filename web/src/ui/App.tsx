// The shell: sign-in or the signed-in app, its navigation and routes.

import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { publicUsers, session, SESSION_CHANGED } from "../api/client";
import type { StoredSession } from "../api/session";
import { EventsPage } from "./events";
import { FinanceImport } from "./finance";
import { Money } from "./money";
import { Transactions } from "./transactions";
import { CourseEditor, SessionsPage, TakeAttendance, Teaching } from "./instructor";
import { CoursePage, MyAttendance, MyCourses } from "./learner";
import { People } from "./people";
import { SchoolAttendance } from "./school";
import { Schools } from "./platform";
import { SignIn } from "./SignIn";

/** The stored session, kept current across this tab and the others. */
function useSignedIn(): StoredSession | null {
  const [current, setCurrent] = useState(() => session.current());
  useEffect(() => {
    const update = () => setCurrent(session.current());
    window.addEventListener(SESSION_CHANGED, update);
    window.addEventListener("storage", update);
    return () => {
      window.removeEventListener(SESSION_CHANGED, update);
      window.removeEventListener("storage", update);
    };
  }, []);
  // Refresh ahead of expiry, so a page left open stays signed in.
  useEffect(() => {
    const due = session.refreshDueIn();
    if (due === null) return;
    const timer = setTimeout(() => {
      session.accessToken().catch(() => setCurrent(session.current()));
    }, due);
    return () => clearTimeout(timer);
  }, [current?.accessExpiresAt]);
  return current;
}

function isInstructor(user: StoredSession): boolean {
  return user.roles.includes("INSTRUCTOR") || user.roles.includes("SCHOOL_ADMIN");
}

/** Where each role starts. */
function homeOf(user: StoredSession): string {
  if (user.roles.includes("PLATFORM_ADMIN")) return "/schools";
  return isInstructor(user) ? "/teaching" : "/courses";
}

function Home({ user }: { user: StoredSession }) {
  const { route } = useLocation();
  useEffect(() => route(homeOf(user), true), [user.userId]);
  return null;
}

function NotFound() {
  return <p>There is no such page. Use the navigation above.</p>;
}

async function signOut(user: StoredSession) {
  await session.signOut();
  // Revokes the login on the server too; the page has signed out whatever the answer.
  await publicUsers.logout({ refreshToken: user.refreshToken }).catch(() => undefined);
}

function Shell({ user }: { user: StoredSession }) {
  const learner = user.roles.includes("STUDENT");
  const teacher = isInstructor(user);
  const platform = user.roles.includes("PLATFORM_ADMIN");
  const schoolAdmin = user.roles.includes("SCHOOL_ADMIN");
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Campus
        </a>
        <nav aria-label="Main">
          {learner && <a href="/courses">My courses</a>}
          {learner && <a href="/attendance">My attendance</a>}
          {teacher && <a href="/teaching">Teaching</a>}
          {!platform && <a href="/events">Events</a>}
          {schoolAdmin && <a href="/school/attendance">School attendance</a>}
          {schoolAdmin && <a href="/people">People</a>}
          {platform && <a href="/schools">Schools</a>}
          {!platform && <a href="/money">My money</a>}
          {!platform && <a href="/money/transactions">Transactions</a>}
          {!platform && <a href="/finance/import">Import transactions</a>}
        </nav>
        <span class="who">{user.displayName}</span>
        <button type="button" class="link" onClick={() => void signOut(user)}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Router>
          <Route path="/" component={() => <Home user={user} />} />
          <Route path="/courses" component={() => <MyCourses />} />
          <Route path="/courses/:courseId" component={CoursePage} />
          <Route path="/attendance" component={() => <MyAttendance user={user} />} />
          <Route path="/teaching" component={() => <Teaching user={user} />} />
          <Route path="/teaching/:courseId" component={CourseEditor} />
          <Route path="/teaching/:courseId/sessions" component={SessionsPage} />
          <Route path="/teaching/:courseId/sessions/:sessionId" component={TakeAttendance} />
          <Route path="/events" component={() => <EventsPage user={user} />} />
          <Route path="/schools" component={Schools} />
          <Route path="/people" component={() => <People user={user} />} />
          <Route path="/school/attendance" component={() => <SchoolAttendance user={user} />} />
          <Route path="/finance/import" component={FinanceImport} />
          <Route path="/money" component={Money} />
          <Route path="/money/transactions" component={Transactions} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </>
  );
}

export function App() {
  const user = useSignedIn();
  return <LocationProvider>{user ? <Shell user={user} /> : <SignIn />}</LocationProvider>;
}
