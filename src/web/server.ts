import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsoleSettings } from '../config/load.js';
import type { Ledger } from '../ledger/ledger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { registerApi, type ConsoleContext } from './api.js';
import { LoginThrottle, registerSecurity, wantsJson } from './auth.js';
import { ledgerSessionStore } from './session-store.js';
import { ActionError, type ConsoleService } from './console-service.js';
import { OPENAPI } from './openapi.js';
import { OneTimeLogins, registerPages } from './pages.js';
import { UserStore } from './users.js';
import { Views, VIEWS_DIR } from './views.js';

/** One readiness check: its name, whether it holds, and why not. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** What the HTTP endpoint reads from the running service. */
export interface WebDependencies {
  ledger: Ledger;
  metrics: GatewayMetrics;
  /** the readiness checks, run at each request */
  readiness(): Promise<ReadinessCheck[]>;
  /** the console's operations; without it only health, readiness and metrics are served */
  console?: ConsoleService;
  settings: ConsoleSettings;
  /** the log of the service, for requests that failed inside the gateway */
  logError(message: string, meta: Record<string, unknown>): void;
}

/** The node's web server and what the demo needs from it. */
export interface WebServer {
  app: FastifyInstance;
  users: UserStore;
  onceLogins: OneTimeLogins;
}

/** Largest upload "try a file" takes. */
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

/**
 * The node's HTTP endpoint: /healthz, /readyz and /metrics for monitoring (no sign-in, bound to
 * this machine unless configured), the console's pages and the JSON API under /api/ (signed in,
 * role-checked, CSRF-protected), described by /api/openapi.json.
 */
export async function createWebServer(deps: WebDependencies): Promise<WebServer> {
  const s = deps.settings;
  const app = Fastify({
    logger: false,
    // true means "one proxy in front": only the address that proxy added is believed, never what a client wrote before it
    trustProxy: s.trustProxy === true ? (_address: string, hop: number) => hop === 0 : s.trustProxy,
    bodyLimit: 1024 * 1024,
    ...(s.tls ? { https: { cert: readFileSync(s.tls.cert), key: readFileSync(s.tls.key) } } : {}),
  }) as unknown as FastifyInstance;
  const users = new UserStore(s.usersFile);
  const onceLogins = new OneTimeLogins();

  app.get('/healthz', async () => ({ status: 'ok', node: deps.ledger.nodeId }));
  app.get('/readyz', async (_request, reply) => {
    const checks = await deps.readiness();
    const ready = checks.every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
  app.get('/api/openapi.json', async () => OPENAPI);

  await registerSecurity(app, {
    sessionIdleMs: s.sessionIdleMs,
    sessions: { store: ledgerSessionStore(deps.ledger, s.sessionIdleMs), secret: await deps.ledger.consoleSecret() },
    secureCookies: s.tls ? true : s.trustProxy ? 'auto' : false,
  });
  await app.register(fastifyFormbody);
  await app.register(fastifyMultipart, { attachFieldsToBody: true, limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 10 } });
  // every action needs the session's CSRF token (form field _csrf or header x-csrf-token); checked after the body is read.
  // A request without a signed-in person can do nothing but sign in: the role check answers it (401), except the login itself.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return done();
    // the route, not the URL: "/login?x=1" is the login too, and must not pass without the token
    const route = request.routeOptions.url;
    const signingIn = route === '/login' || route === '/api/login';
    if (!signingIn && !request.session.user) return done();
    app.csrfProtection(request, reply, done);
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err instanceof ActionError ? err.status : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) deps.logError('console request failed', { method: request.method, url: request.url.split('?')[0], error: err.message });
    const message = status >= 500 ? 'the gateway could not do this; its log says why' : err.message;
    if (wantsJson(request) || request.headers.accept?.includes('application/json')) return reply.code(status).send({ error: message });
    return reply.code(status).type('text/plain; charset=utf-8').send(`${status}: ${message}`);
  });
  for (const asset of ['console.css', 'console.js']) {
    const content = readFileSync(join(VIEWS_DIR, '..', 'assets', asset));
    const type = asset.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    app.get(`/assets/${asset}`, async (_request, reply) => reply.type(type).header('cache-control', 'public, max-age=300').send(content));
  }
  if (deps.console) {
    const ctx: ConsoleContext = { service: deps.console, users, throttle: new LoginThrottle(), downloadRole: s.downloadRole };
    registerApi(app, ctx);
    registerPages(app, ctx, new Views(), onceLogins);
  }
  return { app, users, onceLogins };
}
