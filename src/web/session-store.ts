import type { FastifySessionObject } from '@fastify/session';
import type { ConsoleSessions } from '../ledger/ledger.js';

/**
 * The console's sessions in the ledger, for @fastify/session: every node reads the same sessions,
 * so a person signed in on one node is signed in on all of them, and a restart signs nobody out.
 * A session lives `idleMs` after its last use (the cookie rolls with it).
 */
export function ledgerSessionStore(sessions: ConsoleSessions, idleMs: number) {
  return {
    set(id: string, session: FastifySessionObject, done: (err?: unknown) => void): void {
      sessions.sessionSet(id, JSON.stringify(session), session.cookie?.originalMaxAge ?? idleMs).then(() => done(), done);
    },
    get(id: string, done: (err: unknown, session?: FastifySessionObject | null) => void): void {
      sessions.sessionGet(id).then(
        (data) => done(null, data === undefined ? null : (JSON.parse(data) as FastifySessionObject)),
        (err: unknown) => done(err),
      );
    },
    destroy(id: string, done: (err?: unknown) => void): void {
      sessions.sessionDestroy(id).then(() => done(), done);
    },
  };
}
