/**
 * SQLite access for user profiles (display name and avatar URL).
 *
 * Runtime: node (homeserver only).
 *
 * A user who never set a display name has their localpart as one, which is what Synapse gives every new
 * account; a user who never set an avatar has none. Unknown users have no profile at all (the routes answer
 * 404). Writes join the caller's transaction.
 */
import type { Db } from './db';

export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

export type ProfileField = 'displayname' | 'avatar_url';

interface ProfileRow {
  displayname: string | null;
  avatar_url: string | null;
}

export class ProfileStore {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      user: db.prepare('SELECT 1 FROM users WHERE user_id = ?'),
      profile: db.prepare('SELECT displayname, avatar_url FROM profiles WHERE user_id = ?'),
      upsertDisplayname: db.prepare(
        `INSERT INTO profiles (user_id, displayname, avatar_url) VALUES (?, ?, NULL)
         ON CONFLICT (user_id) DO UPDATE SET displayname = excluded.displayname`,
      ),
      upsertAvatar: db.prepare(
        `INSERT INTO profiles (user_id, displayname, avatar_url) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET avatar_url = excluded.avatar_url`,
      ),
    };
  }

  /** The user's profile, or undefined when no such user exists on this server. */
  profile(userId: string): Profile | undefined {
    if (this.statements.user.get(userId) === undefined) return undefined;
    const row = this.statements.profile.get(userId) as ProfileRow | undefined;
    if (row === undefined) return { displayname: localpart(userId) };
    const profile: Profile = {};
    if (row.displayname !== null) profile.displayname = row.displayname;
    if (row.avatar_url !== null) profile.avatar_url = row.avatar_url;
    return profile;
  }

  /** Sets one field; `null` removes it. The user must exist. */
  set(userId: string, field: ProfileField, value: string | null): void {
    if (field === 'displayname') {
      this.statements.upsertDisplayname.run(userId, value);
      return;
    }
    // A first write of the avatar keeps the default display name, so setting an avatar does not blank the name.
    const existing = this.statements.profile.get(userId) as ProfileRow | undefined;
    this.statements.upsertAvatar.run(userId, existing === undefined ? localpart(userId) : existing.displayname, value);
  }
}

function localpart(userId: string): string {
  const colon = userId.indexOf(':');
  return userId.slice(1, colon === -1 ? undefined : colon);
}
