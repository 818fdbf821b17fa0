import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allows, type ConsoleUser, type Language, type Role, type UserStore } from './users.js';
import type { ledgerSessionStore } from './session-store.js';

declare module 'fastify' {
  interface Session {
    user?: string;
    role?: Role;
    language?: Language;
  }
}

/** The signed-in person of a request, as the pages and the API see them. */
export interface Actor {
  name: string;
  role: Role;
  language: Language;
}

/** Consecutive wrong passwords for one name before it must wait; each further one doubles the wait. */
const FREE_FAILURES = 5;
const FIRST_WAIT_MS = 30_000;
const MAX_WAIT_MS = 15 * 60_000;

/**
 * Slows down guessing: after five wrong passwords for a name, that name must wait (30 s, doubling
 * up to 15 min) before a password is checked again. Per node, in memory; the per-address rate
 * limit of the login routes comes on top.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; until: number }>();

  /** Milliseconds the name must still wait, 0 when it may try. */
  waitFor(name: string, now = Date.now()): number {
    const f = this.failures.get(name.toLowerCase());
    return f && f.until > now ? f.until - now : 0;
  }

  failed(name: string, now = Date.now()): void {
    const key = name.toLowerCase();
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const wait = count < FREE_FAILURES ? 0 : Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (count - FREE_FAILURES));
    this.failures.set(key, { count, until: now + wait });
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(name: string): void {
    this.failures.delete(name.toLowerCase());
  }
}

/** The outcome of a login attempt. */
export type LoginOutcome = { ok: true; user: ConsoleUser } | { ok: false; waitMs?: number };

/** Checks a name and password against the users file, with the throttle; starts a fresh session on success. */
export async function logIn(request: FastifyRequest, users: UserStore, throttle: LoginThrottle, name: string, password: string): Promise<LoginOutcome> {
  const waitMs = throttle.waitFor(name);
  if (waitMs) return { ok: false, waitMs };
  const user = await users.verify(name, password);
  if (!user) {
    throttle.failed(name);
    return { ok: false };
  }
  throttle.succeeded(name);
  await startSession(request, user);
  return { ok: true, user };
}

/** A new session id for a person who just proved who they are (no session fixation). */
export async function startSession(request: FastifyRequest, user: ConsoleUser): Promise<void> {
  await request.session.regenerate();
  request.session.user = user.name;
  request.session.role = user.role;
  request.session.language = user.language;
}

/** The signed-in person, checked against the users file (a removed user or a changed role takes effect at once). */
export function actorOf(request: FastifyRequest, users: UserStore): Actor | undefined {
  const name = request.session.user;
  if (!name) return undefined;
  const user = users.get(name);
  if (!user) return undefined;
  return { name: user.name, role: user.role, language: request.session.language ?? user.language };
}

/** Security settings of the console. */
export interface SecuritySettings {
  sessionIdleMs: number;
  /** true with TLS on the socket, 'auto' behind a trusted proxy (https as the proxy says), false on plain HTTP */
  secureCookies: boolean | 'auto';
  /** where sessions are kept and the key that signs their cookies: the ledger's, shared by every node */
  sessions: { store: ReturnType<typeof ledgerSessionStore>; secret: string };
}

/**
 * Sessions in HTTP-only, SameSite=Strict cookies (Secure over HTTPS), CSRF tokens bound to the
 * session, a Content-Security-Policy that allows only the gateway's own scripts and styles, and a
 * rate limit for the login routes.
 */
export async function registerSecurity(app: FastifyInstance, settings: SecuritySettings): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'self'"],
        frameSrc: ["'self'"],
        frameAncestors: ["'self'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    frameguard: { action: 'sameorigin' },
    // HSTS means something only over HTTPS
    hsts: settings.secureCookies !== false,
    // the PDF is shown in a frame of the console's own origin
    crossOriginEmbedderPolicy: false,
  });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: settings.sessions.secret,
    store: settings.sessions.store,
    cookieName: 'igw_session',
    saveUninitialized: false,
    rolling: true,
    // ('auto' would also lower SameSite to Lax on plain HTTP; the console never needs cross-site cookies)
    cookie: { httpOnly: true, sameSite: 'strict', secure: settings.secureCookies, path: '/', maxAge: settings.sessionIdleMs },
  });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/session',
    getToken: (req) => {
      const body = req.body as Record<string, unknown> | undefined;
      const field = body && typeof body === 'object' ? body['_csrf'] : undefined;
      // a form field, or (multipart) a field object with its value
      const fromBody = typeof field === 'string' ? field : ((field as { value?: unknown } | undefined)?.value as string | undefined);
      return fromBody ?? (req.headers['x-csrf-token'] as string | undefined);
    },
  });
  await app.register(fastifyRateLimit, { global: false });
}

/** Route options for the login routes: at most 20 attempts a minute from one address. */
export const LOGIN_RATE_LIMIT = { rateLimit: { max: 20, timeWindow: 60_000 } };

/** Whether a request wants JSON (the API) rather than a page. */
export function wantsJson(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/');
}

/**
 * A preHandler that lets through only a signed-in person with at least `role`: the API answers
 * 401 or 403, a page sends the person to the login page (or says they may not).
 */
export function requireRole(users: UserStore, role: Role) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const actor = actorOf(request, users);
    if (!actor) {
      if (wantsJson(request)) return reply.code(401).send({ error: 'not signed in' });
      return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
    }
    if (!allows(actor.role, role)) {
      if (wantsJson(request)) return reply.code(403).send({ error: `needs the ${role} role; ${actor.name} is ${actor.role}` });
      return reply.code(403).type('text/plain').send(`403: this needs the ${role} role; you are ${actor.role}`);
    }
  };
}
