import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, LOGIN_RATE_LIMIT, logIn, requireRole, type LoginThrottle } from './auth.js';
import { ActionError, type ConsoleService } from './console-service.js';
import { deliveryFilter, deliveryIds, eventFilter, fileFilter, idParam, invoiceFilter, pageOf, type Query } from './filters.js';
import { allows, ROLES, type Language, type Role, type UserStore } from './users.js';
import { openDropped } from '../util/safe-open.js';

/** What the API and the pages share: the operations, the users, the login throttle and the download role. */
export interface ConsoleContext {
  service: ConsoleService;
  users: UserStore;
  throttle: LoginThrottle;
  downloadRole: Role;
}

const body = (request: FastifyRequest): Record<string, unknown> =>
  request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
const str = (v: unknown): string => (typeof v === 'string' ? v : v && typeof v === 'object' && 'value' in v ? String((v as { value: unknown }).value) : '');

/** Sends a document as a download or inline. */
export function sendDocument(reply: FastifyReply, doc: { content: Buffer; fileName: string }, mediaType: string, inline = false): FastifyReply {
  return reply
    .type(mediaType)
    .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="${doc.fileName.replace(/[^\w.-]/g, '_')}"`)
    .header('cache-control', 'private, no-store')
    .send(doc.content);
}

/** Streams an original file as a download. */
export async function sendOriginal(reply: FastifyReply, service: ConsoleService, id: number): Promise<FastifyReply> {
  const { path, name } = await service.originalOf(id);
  // only a plain file of its own, never through a link (a link swapped into a folder must not serve a secret)
  const handle = await openDropped(path, name).catch((err: unknown) => {
    throw new ActionError(409, `file #${id} cannot be served: ${(err as Error).message}`);
  });
  return reply
    .type('application/octet-stream')
    .header('content-disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"`)
    .header('cache-control', 'private, no-store')
    .send(handle.createReadStream());
}

/** The uploaded file of a multipart request (fields attached to the body). */
export async function uploadOf(request: FastifyRequest): Promise<{ name: string; content: Buffer; mapping?: string }> {
  const b = body(request);
  const file = b['file'] as MultipartFile | undefined;
  if (!file || typeof file.toBuffer !== 'function') throw new ActionError(400, 'no file uploaded (field "file")');
  const mapping = str(b['mapping']);
  return { name: file.filename, content: await file.toBuffer(), ...(mapping ? { mapping } : {}) };
}

/**
 * The JSON API under /api/: the same operations as the pages (ConsoleService), signed in by
 * session cookie; every POST needs the session's CSRF token in `x-csrf-token`.
 */
export function registerApi(app: FastifyInstance, ctx: ConsoleContext): void {
  const { service, users, throttle } = ctx;
  const viewer = { preHandler: requireRole(users, 'viewer') };
  const operator = { preHandler: requireRole(users, 'operator') };
  const admin = { preHandler: requireRole(users, 'admin') };
  const downloads = { preHandler: requireRole(users, ctx.downloadRole) };
  const who = (request: FastifyRequest): string => actorOf(request, users)!.name;

  app.get('/api/session', async (request, reply) => {
    const actor = actorOf(request, users);
    return { csrfToken: reply.generateCsrf(), ...(actor ? { user: actor.name, role: actor.role, language: actor.language } : {}) };
  });
  app.post('/api/login', { config: LOGIN_RATE_LIMIT }, async (request, reply) => {
    const name = str(body(request)['name']);
    const outcome = await logIn(request, users, throttle, name, str(body(request)['password']));
    if (!outcome.ok) {
      await service.logAudit('login-failed', { name: name.slice(0, 64), ip: request.ip, via: 'api' });
      if (outcome.waitMs)
        return reply
          .code(429)
          .header('retry-after', Math.ceil(outcome.waitMs / 1000))
          .send({ error: 'too many failed attempts; wait' });
      return reply.code(401).send({ error: 'unknown name or wrong password' });
    }
    await service.logAudit('login', { by: outcome.user.name, ip: request.ip, via: 'api' });
    return { user: outcome.user.name, role: outcome.user.role, csrfToken: reply.generateCsrf() };
  });
  app.post('/api/logout', async (request) => {
    const actor = actorOf(request, users);
    if (actor) await service.logAudit('logout', { by: actor.name, via: 'api' });
    await request.session.destroy();
    return { ok: true };
  });

  app.get('/api/status', viewer, async () => service.status());
  app.get('/api/overview', viewer, async () => service.overview());
  app.post('/api/alerts/:kind/acknowledge', operator, async (request) => {
    await service.acknowledge((request.params as { kind: string }).kind, who(request));
    return { ok: true };
  });

  app.get('/api/files', viewer, async (request) => service.files(fileFilter(request.query as Query)));
  app.get('/api/files/:id', viewer, async (request) => service.file(idParam(request.params)));
  app.get('/api/files/:id/original', downloads, async (request, reply) => sendOriginal(reply, service, idParam(request.params)));

  app.get('/api/invoices', viewer, async (request) => service.invoices(invoiceFilter(request.query as Query)));
  app.get('/api/invoices/:id', viewer, async (request) => service.invoice(idParam(request.params)));
  app.get('/api/invoices/:id/pdf', downloads, async (request, reply) =>
    sendDocument(reply, await service.pdf(idParam(request.params)), 'application/pdf', true),
  );
  app.get('/api/invoices/:id/ubl', downloads, async (request, reply) => sendDocument(reply, await service.ubl(idParam(request.params)), 'application/xml'));
  app.get('/api/invoices/:id/validation', viewer, async (request) => service.validation(idParam(request.params)));
  app.post('/api/invoices/:id/resend', operator, async (request) => ({
    deliveries: await service.resend(idParam(request.params), str(body(request)['reason']), who(request)),
  }));
  app.post('/api/invoices/:id/reexport', operator, async (request) => {
    const b = body(request);
    await service.reexport(idParam(request.params), str(b['format']), str(b['administration']), str(b['reason']), who(request));
    return { ok: true };
  });

  app.get('/api/deliveries', viewer, async (request) => service.deliveries(deliveryFilter(request.query as Query)));
  app.post('/api/deliveries/retry', operator, async (request) => ({ due: await service.retry(deliveryIds(body(request)), who(request)) }));
  app.post('/api/deliveries/:id/retry-to', operator, async (request) => ({
    due: await service.retryTo(idParam(request.params), str(body(request)['to']), who(request)),
  }));

  app.get('/api/runs', viewer, async () => (await service.status()).runs);
  app.get('/api/batches', viewer, async (request) => service.batches(pageOf(request.query as Query)));
  app.get('/api/batches/:id', viewer, async (request) => {
    const { batch, file } = await service.batch(idParam(request.params));
    return { ...batch, available: file !== undefined, ...(file ? { summary: file.summary } : {}) };
  });
  app.get('/api/batches/:id/file', downloads, async (request, reply) => {
    const { batch, file } = await service.batch(idParam(request.params));
    if (!file) throw new ActionError(409, 'the file cannot be made again byte for byte; it is at its destination');
    return sendDocument(reply, { content: file.content, fileName: batch.fileName }, batch.fileName.endsWith('.xml') ? 'application/xml' : 'text/csv');
  });

  app.post('/api/batches/:id/reexport', operator, async (request) => ({
    invoices: await service.reexportBatch(idParam(request.params), str(body(request)['reason']), who(request)),
  }));

  app.post('/api/try', operator, async (request) => {
    const upload = await uploadOf(request);
    return service.tryFile(upload, upload.mapping ? { mapping: upload.mapping } : {}, who(request));
  });
  app.get('/api/configuration', viewer, async () => service.configuration());
  app.get('/api/audit', viewer, async (request) => service.audit(eventFilter(request.query as Query)));

  app.get('/api/users', admin, async () => users.list().map(({ name, role, language }) => ({ name, role, language })));
  app.post('/api/users', admin, async (request) => {
    const b = body(request);
    return saveUser(ctx, who(request), str(b['name']), {
      role: str(b['role']) as Role,
      password: str(b['password']) || undefined,
      language: (str(b['language']) || undefined) as Language | undefined,
    });
  });
  app.delete('/api/users/:name', admin, async (request) => {
    await removeUser(ctx, who(request), (request.params as { name: string }).name);
    return { ok: true };
  });
}

/** Adds or changes a user (admin only), logged. */
export async function saveUser(
  ctx: ConsoleContext,
  by: string,
  name: string,
  change: { role?: Role; password?: string | undefined; language?: Language | undefined },
): Promise<{ name: string; role: Role }> {
  if (change.role && !ROLES.includes(change.role)) throw new ActionError(400, `role must be one of ${ROLES.join(', ')}`);
  const existed = ctx.users.get(name) !== undefined;
  try {
    const user = await ctx.users.set(name, {
      ...(change.role ? { role: change.role } : {}),
      ...(change.password ? { password: change.password } : {}),
      ...(change.language ? { language: change.language } : {}),
    });
    await ctx.service.logAudit(existed ? 'user-changed' : 'user-added', { user: user.name, role: user.role, passwordChanged: Boolean(change.password), by });
    return { name: user.name, role: user.role };
  } catch (err) {
    throw new ActionError(400, (err as Error).message);
  }
}

/** Removes a user (admin only; not oneself), logged. */
export async function removeUser(ctx: ConsoleContext, by: string, name: string): Promise<void> {
  if (name.toLowerCase() === by) throw new ActionError(409, 'you cannot remove yourself');
  if (!ctx.users.remove(name)) throw new ActionError(404, `no user "${name}"`);
  await ctx.service.logAudit('user-removed', { user: name, by });
}

/** True when the signed-in person may download originals, PDFs, UBL and accounting files. */
export function mayDownload(request: FastifyRequest, ctx: ConsoleContext): boolean {
  const actor = actorOf(request, ctx.users);
  return actor !== undefined && allows(actor.role, ctx.downloadRole);
}
