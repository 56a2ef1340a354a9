// The signed-in session: tokens, their refresh, and sign-out, shared by every tab.
//
// Where tokens live: the token pair is kept in localStorage, so every tab of the dashboard
// shares one sign-in and a tab opened later is signed in too. The API takes bearer tokens
// (no cookies), so the tokens must be readable by the page; the access token lives 15
// minutes and the refresh token is rotated on every use, and reusing a rotated one revokes
// the whole login.
//
// One refresh across tabs: a refresh runs under the Web Lock `campus.refresh`, and re-reads
// the stored pair once it holds the lock. A tab that waited behind another tab's refresh
// finds a fresh access token and uses it instead of presenting the rotated refresh token.

/** The token pair and who it belongs to, as stored. */
export interface StoredSession {
  accessToken: string;
  /** Milliseconds since the epoch. */
  accessExpiresAt: number;
  refreshToken: string;
  userId: string;
  schoolId: string;
  displayName: string;
  roles: string[];
}

/** A refreshed token pair. */
export interface RefreshedTokens {
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string;
}

/** What the session needs from the browser and the API; tests pass their own. */
export interface SessionDeps {
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  /** Runs `task` holding the named lock exclusively (Web Locks API). */
  withLock<T>(name: string, task: () => Promise<T>): Promise<T>;
  /** Calls RefreshToken. */
  refresh(refreshToken: string): Promise<RefreshedTokens>;
  now(): number;
}

/** The session has ended (signed out, expired or revoked): show sign-in. */
export class SignedOut extends Error {
  constructor() {
    super("Your session has ended. Please sign in again.");
    this.name = "SignedOut";
  }
}

const KEY = "campus.session";
const LOCK = "campus.refresh";
/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60_000;

/** The tab's view of the shared session. */
export class Session {
  constructor(private readonly deps: SessionDeps) {}

  /** The stored session, if signed in. */
  current(): StoredSession | null {
    const raw = this.deps.storage.getItem(KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as StoredSession;
    } catch {
      return null;
    }
  }

  /** Stores a new sign-in. */
  signIn(session: StoredSession): void {
    this.deps.storage.setItem(KEY, JSON.stringify(session));
  }

  /** Forgets the sign-in in every tab. */
  signOut(): void {
    this.deps.storage.removeItem(KEY);
  }

  /** Whether `session`'s access token is good for at least the refresh margin. */
  private fresh(session: StoredSession): boolean {
    return session.accessExpiresAt - this.deps.now() > REFRESH_MARGIN_MS;
  }

  /**
   * An access token good for at least a minute, refreshing it first if needed: one refresh
   * at a time across every tab of the origin.
   */
  async accessToken(): Promise<string> {
    const session = this.current();
    if (!session) throw new SignedOut();
    if (this.fresh(session)) return session.accessToken;
    return this.deps.withLock(LOCK, async () => {
      const latest = this.current();
      if (!latest) throw new SignedOut();
      if (this.fresh(latest)) return latest.accessToken;
      let tokens: RefreshedTokens;
      try {
        tokens = await this.deps.refresh(latest.refreshToken);
      } catch (error) {
        if (isUnauthenticated(error)) {
          this.signOut();
          throw new SignedOut();
        }
        throw error;
      }
      this.signIn({ ...latest, ...tokens });
      return tokens.accessToken;
    });
  }

  /** When the access token should be refreshed, in milliseconds from now (null: signed out). */
  refreshDueIn(): number | null {
    const session = this.current();
    if (!session) return null;
    return Math.max(0, session.accessExpiresAt - REFRESH_MARGIN_MS - this.deps.now());
  }
}

/** Whether `error` is an UNAUTHENTICATED answer (code 16), without importing the transport. */
function isUnauthenticated(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 16;
}

/** The browser's session: localStorage and Web Locks. */
export function browserSession(refresh: SessionDeps["refresh"]): Session {
  return new Session({
    storage: window.localStorage,
    withLock: (name, task) => navigator.locks.request(name, { mode: "exclusive" }, task),
    refresh,
    now: () => Date.now(),
  });
}
