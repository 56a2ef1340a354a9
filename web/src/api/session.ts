// The signed-in session: tokens, their refresh, and sign-out, shared by every tab.
//
// Where tokens live: in IndexedDB, the session's record of truth, and mirrored into
// localStorage, which pages read synchronously to render and whose `storage` events tell
// other tabs about a sign-in or sign-out. Every tab of the dashboard shares one sign-in. The
// API takes bearer tokens (no cookies), so the page must be able to read them; the access
// token lives 15 minutes, and the refresh token is rotated on every use: presenting a
// rotated one again revokes the whole login.
//
// One refresh across tabs: a refresh runs under the Web Lock `campus.refresh` and re-reads
// the session from IndexedDB once it holds the lock. A tab that waited behind another tab's
// refresh finds that tab's fresh tokens there and uses them, instead of presenting the
// rotated refresh token. (localStorage would not do: a write in one tab reaches another
// tab's renderer asynchronously, so right after the lock changes hands it can still show the
// old tokens; an IndexedDB transaction that starts after another committed sees its write.)

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

/** The record of truth: consistent across tabs once a write has completed. */
export interface DurableStore {
  get(): Promise<StoredSession | undefined>;
  set(session: StoredSession): Promise<void>;
  clear(): Promise<void>;
}

/** What the session needs from the browser and the API; tests pass their own. */
export interface SessionDeps {
  durable: DurableStore;
  /** The synchronous mirror pages render from. */
  mirror: Pick<Storage, "getItem" | "setItem" | "removeItem">;
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

  /** The session as this tab last heard of it, if signed in: for rendering. */
  current(): StoredSession | null {
    const raw = this.deps.mirror.getItem(KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as StoredSession;
    } catch {
      return null;
    }
  }

  /** Stores a new sign-in (or refreshed tokens) for every tab. */
  async signIn(session: StoredSession): Promise<void> {
    await this.deps.durable.set(session);
    this.deps.mirror.setItem(KEY, JSON.stringify(session));
  }

  /** Forgets the sign-in in every tab. */
  async signOut(): Promise<void> {
    await this.deps.durable.clear();
    this.deps.mirror.removeItem(KEY);
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
    const mirrored = this.current();
    if (!mirrored) throw new SignedOut();
    if (this.fresh(mirrored)) return mirrored.accessToken;
    return this.deps.withLock(LOCK, async () => {
      const latest = await this.deps.durable.get();
      if (!latest) {
        this.deps.mirror.removeItem(KEY);
        throw new SignedOut();
      }
      if (this.fresh(latest)) {
        this.deps.mirror.setItem(KEY, JSON.stringify(latest));
        return latest.accessToken;
      }
      let tokens: RefreshedTokens;
      try {
        tokens = await this.deps.refresh(latest.refreshToken);
      } catch (error) {
        if (isUnauthenticated(error)) {
          await this.signOut();
          throw new SignedOut();
        }
        throw error;
      }
      await this.signIn({ ...latest, ...tokens });
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
