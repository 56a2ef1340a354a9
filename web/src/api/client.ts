// The generated clients over grpc-web, on the page's own origin: `campus serve` serves the
// dashboard and the API on one port, so no CORS is involved.

import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { CoursesService } from "../gen/campus/courses/v1/courses_pb";
import { EventsService } from "../gen/campus/courses/v1/events_pb";
import { MaterialsService } from "../gen/campus/courses/v1/materials_pb";
import { FinanceService } from "../gen/campus/finance/v1/finance_pb";
import { ProgressService } from "../gen/campus/progress/v1/progress_pb";
import { UsersService } from "../gen/campus/users/v1/users_pb";
import { createStore, del, get, set } from "idb-keyval";
import { Session, type StoredSession } from "./session";

const baseUrl = window.location.origin;

/** Login, refresh, logout and schools by slug: the calls that need no token. */
export const publicUsers = createClient(UsersService, createGrpcWebTransport({ baseUrl }));

/** The IndexedDB store holding the session. */
const store = createStore("campus", "session");

/** Fired on `window` when this tab signs in or out (other tabs see a `storage` event). */
export const SESSION_CHANGED = "campus-session";

/** localStorage, telling this tab's views when the session changes. */
const mirror = {
  getItem: (key: string) => window.localStorage.getItem(key),
  setItem(key: string, value: string) {
    window.localStorage.setItem(key, value);
    window.dispatchEvent(new Event(SESSION_CHANGED));
  },
  removeItem(key: string) {
    window.localStorage.removeItem(key);
    window.dispatchEvent(new Event(SESSION_CHANGED));
  },
};

/** The tab's view of the shared sign-in. */
export const session = new Session({
  durable: {
    get: () => get<StoredSession>("session", store),
    set: (value) => set("session", value, store),
    clear: () => del("session", store),
  },
  mirror,
  withLock: async (name, task) => await navigator.locks.request(name, { mode: "exclusive" }, task),
  async refresh(refreshToken) {
    const { tokens } = await publicUsers.refreshToken({ refreshToken });
    if (!tokens?.accessTokenExpiresAt) throw new Error("RefreshToken returned no tokens");
    return {
      accessToken: tokens.accessToken,
      accessExpiresAt: timestampMs(tokens.accessTokenExpiresAt),
      refreshToken: tokens.refreshToken,
    };
  },
  now: () => Date.now(),
});

/** Adds `authorization: Bearer …`, refreshing the token first when it is about to expire. */
const bearer: Interceptor = (next) => async (request) => {
  request.header.set("authorization", `Bearer ${await session.accessToken()}`);
  return next(request);
};

const transport: Transport = createGrpcWebTransport({ baseUrl, interceptors: [bearer] });

/** The four services (courses with its materials and events), as the signed-in user. */
export const api = {
  users: createClient(UsersService, transport),
  courses: createClient(CoursesService, transport),
  materials: createClient(MaterialsService, transport),
  events: createClient(EventsService, transport),
  progress: createClient(ProgressService, transport),
  finance: createClient(FinanceService, transport),
};

/** A fresh request id: one per user action, reused when that action is retried. */
export function requestId(): string {
  return crypto.randomUUID();
}
