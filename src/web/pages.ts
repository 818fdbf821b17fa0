import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { actorOf, LOGIN_RATE_LIMIT, logIn, requireRole, startSession } from './auth.js';
import { mayDownload, removeUser, saveUser, sendDocument, sendOriginal, uploadOf, type ConsoleContext } from './api.js';
import { ActionError, type Overview } from './console-service.js';
import {
  DELIVERY_STATES,
  deliveryFilter,
  deliveryIds,
  eventFilter,
  FILE_STATES,
  fileFilter,
  idParam,
  INVOICE_STATES,
  invoiceFilter,
  pageOf,
  type Query,
} from './filters.js';
import { present } from '../formats/pdf/presentation.js';
import { translate } from './i18n.js';
import { allows, ROLES, type Language, type Role } from './users.js';
import type { PageFrame, Views } from './views.js';

declare module 'fastify' {
  interface Session {
    flash?: { text: string; error?: boolean };
  }
}

/** Links that log a person in once (the demo prints one); each token works one time, within its lifetime. */
export class OneTimeLogins {
  private readonly tokens = new Map<string, { user: string; until: number }>();

  /** A new token for a user, valid for `forMs`. */
  create(user: string, forMs = 24 * 3600_000): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { user, until: Date.now() + forMs });
    return token;
  }

  /** The user of a token, once; undefined when unknown, used or expired. */
  consume(token: string): string | undefined {
    const entry = this.tokens.get(token);
    this.tokens.delete(token);
    return entry && entry.until > Date.now() ? entry.user : undefined;
  }
}

/** The hours of the activity chart as bars in a 240×60 box. */
function chartOf(overview: Overview): { x: number; y: number; h: number; hour: string; invoices: number }[] {
  const max = Math.max(1, ...overview.activity.map((h) => h.invoices));
  return overview.activity.map((h, i) => {
    const height = Math.round((h.invoices / max) * 56);
    return { x: i * 10, y: 58 - height, h: height, hour: h.hour.slice(11, 13), invoices: h.invoices };
  });
}

/** The ETA of a bulk run from its pace so far. */
function withEta(runs: Overview['status']['runs'], lang: Language): (Overview['status']['runs'][number] & { finished: number; eta: string })[] {
  return runs.map((run) => {
    const finished = run.done + run.dead;
    const left = run.total - finished;
    let eta = left <= 0 ? (lang === 'nl' ? 'klaar' : 'complete') : '';
    if (left > 0 && run.done && run.lastSentAt) {
      const perItem = (Date.parse(run.lastSentAt) - Date.parse(run.startedAt)) / run.done;
      eta = `${new Date(Date.parse(run.lastSentAt) + perItem * left).toISOString().slice(11, 19)} UTC`;
    }
    return { ...run, finished, eta };
  });
}

/**
 * The console's server-rendered pages. Each reads through the same ConsoleService as the API;
 * every form posts with the session's CSRF token; actions redirect back with a message.
 */
export function registerPages(app: FastifyInstance, ctx: ConsoleContext, views: Views, onceLogins: OneTimeLogins): void {
  const { service, users, throttle } = ctx;

  const frame = (request: FastifyRequest, reply: FastifyReply, nav: string, title: string): PageFrame => {
    const actor = actorOf(request, users);
    const flash = request.session.flash;
    if (flash) request.session.flash = undefined;
    const lang: Language = actor?.language ?? languageOf(request);
    return {
      lang,
      nav,
      title: translate(lang, title),
      csrf: reply.generateCsrf(),
      ...(actor ? { actor: { name: actor.name, role: actor.role } } : {}),
      canAct: actor ? allows(actor.role, 'operator') : false,
      isAdmin: actor ? allows(actor.role, 'admin') : false,
      canDownload: mayDownload(request, ctx),
      ...(flash ? { flash: flash.text, flashError: Boolean(flash.error) } : {}),
    };
  };
  const html = (reply: FastifyReply, body: string): FastifyReply => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const page = (path: string, role: Role, template: string, nav: string, title: string, data: (request: FastifyRequest) => Promise<Record<string, unknown>>) =>
    app.get(path, { preHandler: requireRole(users, role) }, async (request, reply) => {
      const values = await data(request);
      return html(reply, views.render(template, frame(request, reply, nav, title), values));
    });
  const who = (request: FastifyRequest): string => actorOf(request, users)!.name;
  const lang = (request: FastifyRequest): Language => actorOf(request, users)?.language ?? 'nl';
  const flash = (request: FastifyRequest, text: string, error = false): void => {
    request.session.flash = { text, error };
  };
  const back = (request: FastifyRequest, fallback: string): string => {
    const b = (request.body as Record<string, unknown> | undefined)?.['back'];
    return localPath(b, fallback);
  };
  const listPage = (params: Query, base: string): Record<string, unknown> => {
    const rest = new URLSearchParams(Object.entries(params).filter(([k, v]) => k !== 'before' && typeof v === 'string' && v) as [string, string][]);
    return { params, base, first: `${base}${rest.size ? `?${rest.toString()}` : ''}` };
  };
  const form = (request: FastifyRequest): Record<string, unknown> => (request.body ?? {}) as Record<string, unknown>;
  const field = (request: FastifyRequest, name: string): string => {
    const v = form(request)[name];
    return typeof v === 'string' ? v : '';
  };

  app.get('/login', async (request, reply) => {
    const q = request.query as Query;
    const f = frame(request, reply, 'login', 'login.title');
    return html(reply, views.render('login', f, { next: typeof q['next'] === 'string' ? q['next'] : '/' }));
  });
  app.post('/login', { config: LOGIN_RATE_LIMIT }, async (request, reply) => {
    const name = field(request, 'name');
    const outcome = await logIn(request, users, throttle, name, field(request, 'password'));
    const next = field(request, 'next');
    if (outcome.ok) {
      await service.logAudit('login', { by: outcome.user.name, ip: request.ip, via: 'console' });
      return reply.redirect(localPath(next, '/'));
    }
    await service.logAudit('login-failed', { name: name.slice(0, 64), ip: request.ip, via: 'console' });
    const language = languageOf(request);
    const message = outcome.waitMs ? translate(language, 'login.wait', { s: Math.ceil(outcome.waitMs / 1000) }) : translate(language, 'login.wrong');
    if (outcome.waitMs) reply.code(429).header('retry-after', Math.ceil(outcome.waitMs / 1000));
    else reply.code(401);
    return html(reply, views.render('login', frame(request, reply, 'login', 'login.title'), { message, name, next }));
  });
  app.get('/login/once/:token', async (request, reply) => {
    const name = onceLogins.consume((request.params as { token: string }).token);
    const user = name ? users.get(name) : undefined;
    if (!user)
      return html(
        reply.code(410),
        views.render('message', frame(request, reply, 'login', 'login.title'), { heading: '410', text: translate(languageOf(request), 'login.expired') }),
      );
    await startSession(request, user);
    await service.logAudit('login', { by: user.name, ip: request.ip, via: 'one-time link' });
    return reply.redirect('/');
  });
  app.post('/logout', async (request, reply) => {
    const actor = actorOf(request, users);
    if (actor) await service.logAudit('logout', { by: actor.name, via: 'console' });
    await request.session.destroy();
    return reply.redirect('/login');
  });
  app.post('/settings/language', { preHandler: requireRole(users, 'viewer') }, async (request, reply) => {
    const language = field(request, 'language') === 'en' ? 'en' : 'nl';
    request.session.language = language;
    await users.set(who(request), { language }).catch(() => undefined);
    // back to the page the form was on
    const referer = request.headers.referer;
    return reply.redirect(localPath(referer ? URL.canParse(referer) && new URL(referer).pathname : undefined, '/'));
  });

  page('/', 'viewer', 'overview', 'overview', 'nav.overview', async (request) => {
    const overview = await service.overview();
    return { overview, chart: chartOf(overview), runs: withEta(overview.status.runs, lang(request)) };
  });
  app.post('/alerts/:kind/acknowledge', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    await service.acknowledge((request.params as { kind: string }).kind, who(request));
    return reply.redirect('/');
  });

  page('/files', 'viewer', 'files', 'files', 'nav.files', async (request) => {
    const q = request.query as Query;
    return { page: await service.files(fileFilter(q)), states: FILE_STATES, sources: service.sources(), ...listPage(q, '/files') };
  });
  page('/files/:id', 'viewer', 'file', 'files', 'nav.files', async (request) => ({ detail: await service.file(idParam(request.params)) }));
  app.get('/files/:id/original', { preHandler: requireRole(users, ctx.downloadRole) }, async (request, reply) =>
    sendOriginal(reply, service, idParam(request.params)),
  );

  page('/invoices', 'viewer', 'invoices', 'invoices', 'nav.invoices', async (request) => {
    const q = request.query as Query;
    return { page: await service.invoices(invoiceFilter(q)), states: INVOICE_STATES, ...listPage(q, '/invoices') };
  });
  page('/invoices/:id', 'viewer', 'invoice', 'invoices', 'nav.invoices', async (request) => {
    const id = idParam(request.params);
    const detail = await service.invoice(id);
    const validate = (request.query as Query)['validate'] === '1';
    const validation = validate ? await service.validation(id) : undefined;
    const accountingRoutes = detail.record.deliveries
      .filter((d) => d.options.administration || ['exact-online', 'exact-globe', 'accountview'].includes(d.format))
      .map((d) => ({ format: d.format, administration: d.options.administration ?? d.target }));
    const profiles = [...new Set(detail.record.deliveries.filter((d) => d.format === 'ubl').map((d) => d.options.profile ?? 'peppol'))];
    return {
      detail,
      // the lines and totals as the PDF has them, in its order, in the reader's language
      shown: present(detail.record.invoice, lang(request)),
      ...(validation ? { validation, validated: true } : {}),
      accountingRoutes,
      profiles: (profiles.length ? profiles : ['en16931']).join(', '),
    };
  });
  app.get('/invoices/:id/pdf', { preHandler: requireRole(users, ctx.downloadRole) }, async (request, reply) =>
    sendDocument(reply, await service.pdf(idParam(request.params)), 'application/pdf', true),
  );
  app.get('/invoices/:id/ubl', { preHandler: requireRole(users, ctx.downloadRole) }, async (request, reply) =>
    sendDocument(reply, await service.ubl(idParam(request.params)), 'application/xml'),
  );
  app.post('/invoices/:id/resend', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    const id = idParam(request.params);
    const n = await service.resend(id, field(request, 'reason'), who(request));
    flash(request, translate(lang(request), 'resent', { n }));
    return reply.redirect(`/invoices/${id}`);
  });
  app.post('/invoices/:id/reexport', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    const id = idParam(request.params);
    await service.reexport(id, field(request, 'format'), field(request, 'administration'), field(request, 'reason'), who(request));
    flash(request, translate(lang(request), 'reexported'));
    return reply.redirect(`/invoices/${id}`);
  });

  page('/deliveries', 'viewer', 'deliveries', 'deliveries', 'nav.deliveries', async (request) => {
    const q = request.query as Query;
    return {
      page: await service.deliveries(deliveryFilter(q)),
      states: DELIVERY_STATES,
      transports: service.transports(),
      back: request.url,
      ...listPage(q, '/deliveries'),
    };
  });
  app.post('/deliveries/retry', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    const n = await service.retry(deliveryIds(form(request)), who(request));
    flash(request, translate(lang(request), 'retried', { n }));
    return reply.redirect(back(request, '/deliveries'));
  });

  app.post('/deliveries/:id/retry-to', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    const to = field(request, 'to').trim();
    const id = idParam(request.params);
    try {
      await service.retryTo(id, to, who(request));
      flash(request, translate(lang(request), 'retried.to', { id, to }));
    } catch (err) {
      // a mistyped address: said on the page the operator came from, to type it again
      if (!(err instanceof ActionError)) throw err;
      flash(request, err.message, true);
    }
    return reply.redirect(back(request, '/deliveries'));
  });

  page('/runs', 'viewer', 'runs', 'runs', 'nav.runs', async (request) => {
    const finished = await service.finishedRuns();
    // status keeps the newest file among its runs even when it is over: here it is listed as finished only
    const underWay = (await service.status()).runs.filter((r) => !finished.some((f) => f.fileId === r.fileId));
    return { runs: withEta(underWay, lang(request)), finished };
  });
  page('/batches', 'viewer', 'batches', 'batches', 'nav.batches', async (request) => {
    const q = request.query as Query;
    return { page: await service.batches(pageOf(q)), ...listPage(q, '/batches') };
  });
  page('/batches/:id', 'viewer', 'batch', 'batches', 'nav.batches', async (request) => {
    const { batch, file } = await service.batch(idParam(request.params));
    return { batch, deliveries: await service.deliveriesOf(batch.deliveryIds), ...(file ? { summary: file.summary } : {}) };
  });
  app.get('/batches/:id/file', { preHandler: requireRole(users, ctx.downloadRole) }, async (request, reply) => {
    const { batch, file } = await service.batch(idParam(request.params));
    if (!file)
      return reply
        .code(409)
        .type('text/plain')
        .send(translate(lang(request), 'batch.unavailable'));
    return sendDocument(reply, { content: file.content, fileName: batch.fileName }, batch.fileName.endsWith('.xml') ? 'application/xml' : 'text/csv');
  });

  app.post('/batches/:id/reexport', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    const id = idParam(request.params);
    const n = await service.reexportBatch(id, field(request, 'reason'), who(request));
    flash(request, translate(lang(request), 'reexported.batch', { n }));
    return reply.redirect(`/batches/${id}`);
  });

  page('/try', 'operator', 'try', 'try', 'nav.try', async () => ({ mappings: service.mappingNames() }));
  app.post('/try', { preHandler: requireRole(users, 'operator') }, async (request, reply) => {
    const upload = await uploadOf(request);
    const result = await service.tryFile(upload, upload.mapping ? { mapping: upload.mapping } : {}, who(request));
    return html(reply, views.render('try', frame(request, reply, 'try', 'nav.try'), { mappings: service.mappingNames(), chosen: upload.mapping, result }));
  });

  page('/configuration', 'viewer', 'configuration', 'configuration', 'nav.configuration', async () => ({ view: await service.configuration() }));
  page('/audit', 'viewer', 'audit', 'audit', 'nav.audit', async (request) => {
    const q = request.query as Query;
    const events = await service.audit(eventFilter(q));
    const items = events.items.map((e) => {
      const { by: _by, reason: _reason, ...rest } = e.detail;
      return { ...e, rest: Object.keys(rest).length ? JSON.stringify(rest) : '' };
    });
    return { page: { ...events, items }, ...listPage(q, '/audit') };
  });

  page('/users', 'admin', 'users', 'users', 'nav.users', async () => ({ users: users.list(), roles: ROLES }));
  app.post('/users', { preHandler: requireRole(users, 'admin') }, async (request, reply) => {
    await saveUser(ctx, who(request), field(request, 'name'), {
      role: field(request, 'role') as Role,
      password: field(request, 'password') || undefined,
      language: (field(request, 'language') || undefined) as Language | undefined,
    });
    flash(request, translate(lang(request), 'user.saved'));
    return reply.redirect('/users');
  });
  app.post('/users/:name/remove', { preHandler: requireRole(users, 'admin') }, async (request, reply) => {
    await removeUser(ctx, who(request), (request.params as { name: string }).name);
    return reply.redirect('/users');
  });
}

/** A path on this site to send someone back to, else the fallback: never another site (an open redirect). */
function localPath(candidate: unknown, fallback: string): string {
  if (typeof candidate !== 'string' || !candidate.startsWith('/')) return fallback;
  // browsers read a backslash as "/" and drop tabs and line breaks: "/" + backslash + "evil.example" would leave the site
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(candidate) || candidate.startsWith('//')) return fallback;
  const base = 'http://console.invalid';
  const resolved = new URL(candidate, base);
  return resolved.origin === base ? `${resolved.pathname}${resolved.search}${resolved.hash}` : fallback;
}

/** The language of a person not signed in: from the browser's Accept-Language, Dutch unless English comes first. */
function languageOf(request: FastifyRequest): Language {
  const accept = String(request.headers['accept-language'] ?? '');
  return /^en\b/i.test(accept.trim()) ? 'en' : 'nl';
}
