import bcrypt from 'bcryptjs';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../errors.js';

/** What a console user may do: viewer reads; operator also retries, resends, reexports and tries files; admin also manages users. */
export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: Role[] = ['viewer', 'operator', 'admin'];
/** The console's languages. */
export type Language = 'nl' | 'en';

/** A console user as the users file holds it: never the password, only its bcrypt hash. */
export interface ConsoleUser {
  name: string;
  role: Role;
  language: Language;
  passwordHash: string;
}

/** True when `role` is at least `needed`. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** bcrypt's cost: about 0.1 s per check on this class of machine, slow enough to make guessing expensive. */
const COST = 11;
const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/i;
// compared against when the user does not exist, so a wrong name takes as long as a wrong password
const DUMMY_HASH = bcrypt.hashSync('not a password', COST);

/**
 * The console's users in a YAML file beside the configuration (written with mode 0600). Read again
 * when it changed on disk, so `invoice-gateway console-user` takes effect without a restart.
 */
export class UserStore {
  private cache?: { mtimeMs: number; users: Map<string, ConsoleUser> };

  constructor(readonly file: string) {}

  /** Every user, by name. */
  list(): ConsoleUser[] {
    return [...this.load().values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): ConsoleUser | undefined {
    return this.load().get(name.toLowerCase());
  }

  /** The user when the password is theirs; the same work is done for an unknown name. */
  async verify(name: string, password: string): Promise<ConsoleUser | undefined> {
    const user = this.get(name);
    const ok = await bcrypt.compare(password, user?.passwordHash ?? DUMMY_HASH);
    return ok && user ? user : undefined;
  }

  /** Adds a user or changes one; a password is hashed before it is written. */
  async set(name: string, change: { role?: Role; password?: string; language?: Language }): Promise<ConsoleUser> {
    if (!NAME.test(name)) throw new ConfigError(`user name "${name}" is not allowed: letters, digits and . _ @ - (at most 64)`, { field: 'name' });
    if (change.role && !ROLES.includes(change.role)) throw new ConfigError(`role must be one of ${ROLES.join(', ')}`, { field: 'role' });
    if (change.password !== undefined && change.password.length < 10) throw new ConfigError('a password has at least 10 characters', { field: 'password' });
    const users = new Map(this.load());
    const key = name.toLowerCase();
    const before = users.get(key);
    if (!before && (!change.password || !change.role)) throw new ConfigError(`a new user needs a role and a password`, { field: 'password' });
    const user: ConsoleUser = {
      name: key,
      role: change.role ?? before!.role,
      language: change.language ?? before?.language ?? 'nl',
      passwordHash: change.password !== undefined ? await bcrypt.hash(change.password, COST) : before!.passwordHash,
    };
    users.set(key, user);
    this.save(users);
    return user;
  }

  /** Removes a user; false when there was none. */
  remove(name: string): boolean {
    const users = new Map(this.load());
    if (!users.delete(name.toLowerCase())) return false;
    this.save(users);
    return true;
  }

  private load(): Map<string, ConsoleUser> {
    if (!existsSync(this.file)) return new Map();
    const mtimeMs = statSync(this.file).mtimeMs;
    if (this.cache?.mtimeMs === mtimeMs) return this.cache.users;
    const doc = (parse(readFileSync(this.file, 'utf8')) ?? {}) as { users?: Record<string, Omit<ConsoleUser, 'name'>> };
    const users = new Map(Object.entries(doc.users ?? {}).map(([name, u]) => [name.toLowerCase(), { ...u, name: name.toLowerCase() }]));
    this.cache = { mtimeMs, users };
    return users;
  }

  private save(users: Map<string, ConsoleUser>): void {
    const doc = {
      users: Object.fromEntries([...users.values()].map((u) => [u.name, { role: u.role, language: u.language, passwordHash: u.passwordHash }])),
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `# invoice-gateway console users: bcrypt hashes only. Edit with \`invoice-gateway console-user\`.\n${stringify(doc)}`, {
      mode: 0o600,
    });
    renameSync(tmp, this.file);
    this.cache = undefined;
  }
}

/** A random password people can type: 16 characters from an unambiguous alphabet. */
export function randomPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join('');
}
