import { describe, expect, it } from "vitest";
import {
  REFRESH_MARGIN_MS,
  Session,
  SignedOut,
  type SessionDeps,
  type StoredSession,
} from "./session";

/** Two tabs: one storage, one lock, one refresh endpoint that rotates the refresh token. */
function twoTabs(now: number) {
  // Each tab has its own mirror, which hears of the other tab's writes only later (as a
  // browser's localStorage may); the durable store is shared and consistent.
  const mirror = () => {
    const items = new Map<string, string>();
    return {
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
      removeItem: (key: string) => void items.delete(key),
    };
  };
  let record: StoredSession | undefined;
  const durable = {
    get: async () => record,
    set: async (value: StoredSession) => void (record = value),
    clear: async () => void (record = undefined),
  };
  let queue = Promise.resolve();
  const withLock: SessionDeps["withLock"] = (_name, task) => {
    const run = queue.then(task);
    queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
  const presented: string[] = [];
  let valid = "refresh-1";
  let issued = 1;
  const refresh: SessionDeps["refresh"] = async (token) => {
    presented.push(token);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (token !== valid) throw Object.assign(new Error("revoked"), { code: 16 });
    issued += 1;
    valid = `refresh-${issued}`;
    return { accessToken: `access-${issued}`, accessExpiresAt: now + 900_000, refreshToken: valid };
  };
  const deps = { durable, withLock, refresh, now: () => now };
  return {
    a: new Session({ ...deps, mirror: mirror() }),
    b: new Session({ ...deps, mirror: mirror() }),
    presented,
  };
}

const expiring = (now: number): StoredSession => ({
  accessToken: "access-1",
  accessExpiresAt: now + REFRESH_MARGIN_MS / 2,
  refreshToken: "refresh-1",
  userId: "u1",
  schoolId: "s1",
  displayName: "Ada",
  roles: ["ROLE_STUDENT"],
});

describe("Session", () => {
  it("uses a fresh access token as it is", async () => {
    const now = 1_000_000;
    const { a, presented } = twoTabs(now);
    await a.signIn({ ...expiring(now), accessExpiresAt: now + 10 * REFRESH_MARGIN_MS });
    expect(await a.accessToken()).toBe("access-1");
    expect(presented).toEqual([]);
  });

  it("refreshes once when two tabs need a token at the same moment", async () => {
    const now = 1_000_000;
    const { a, b, presented } = twoTabs(now);
    // Both tabs render the same expiring session; neither mirror hears of the refresh.
    await a.signIn(expiring(now));
    await b.signIn(expiring(now));
    const [first, second] = await Promise.all([a.accessToken(), b.accessToken()]);
    expect(first).toBe("access-2");
    expect(second).toBe("access-2");
    expect(presented).toEqual(["refresh-1"]);
    expect(b.current()?.refreshToken).toBe("refresh-2");
  });

  it("ends the session in every tab when the refresh token is refused", async () => {
    const now = 1_000_000;
    const { a, b } = twoTabs(now);
    await a.signIn({ ...expiring(now), refreshToken: "stolen-and-rotated" });
    await b.signIn({ ...expiring(now), refreshToken: "stolen-and-rotated" });
    await expect(a.accessToken()).rejects.toBeInstanceOf(SignedOut);
    expect(a.current()).toBeNull();
    await expect(b.accessToken()).rejects.toBeInstanceOf(SignedOut);
    expect(b.current()).toBeNull();
  });

  it("schedules the refresh a margin before expiry", async () => {
    const now = 1_000_000;
    const { a } = twoTabs(now);
    expect(a.refreshDueIn()).toBeNull();
    await a.signIn({ ...expiring(now), accessExpiresAt: now + 900_000 });
    expect(a.refreshDueIn()).toBe(900_000 - REFRESH_MARGIN_MS);
  });
});
