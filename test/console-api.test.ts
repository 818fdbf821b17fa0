import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addConsoleUser, ApiClient, consoleWorkspace } from './helpers/console.js';
import { filesIn, membersCsv, startService, stopService, waitFor, type Workspace } from './helpers/service.js';
import { startSmtp, type TestSmtp } from './helpers/smtp.js';

interface Page<T> {
  items: T[];
  next?: number;
}
interface Delivery {
  id: number;
  invoiceId: number;
  invoiceNumber: string;
  state: string;
  transport: string;
  attempts: number;
  lastError?: string;
}

/**
 * Every endpoint of the console's JSON API against a real service (real SMTP server, real
 * accounting batch): what it answers, who may call it, and that actions need the CSRF token.
 */
describe('console API: every endpoint, roles and CSRF (real service, real HTTP)', function () {
  this.timeout(180_000);
  let smtp: TestSmtp;
  let ws: Workspace;
  let service: ChildProcess;
  let base: string;
  const covered = new Set<string>();
  const admin = () => new ApiClient(base);
  let operator: ApiClient;
  let viewer: ApiClient;
  let anonymous: ApiClient;
  const cover = (method: string, path: string) => covered.add(`${method} ${path}`);

  before(async () => {
    smtp = await startSmtp();
    // the first member's mailbox does not exist: that delivery goes dead with the server's answer
    ({ ws, base } = await consoleWorkspace(smtp));
    addConsoleUser(ws, 'ada', 'admin', 'admin-password-1');
    addConsoleUser(ws, 'olga', 'operator', 'operator-password-1');
    addConsoleUser(ws, 'vera', 'viewer', 'viewer-password-1');
    addConsoleUser(ws, 'tom', 'viewer', 'tom-password-12');
    service = startService(ws);
    await waitFor('the console to answer', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
    operator = new ApiClient(base);
    viewer = new ApiClient(base);
    anonymous = new ApiClient(base);
    assert.equal(await operator.login('olga', 'operator-password-1'), 200);
    assert.equal(await viewer.login('vera', 'viewer-password-1'), 200);
    await waitFor('one dead delivery and an accounting file', async () => {
      const dead = await operator.get<Page<Delivery>>('/api/deliveries?state=dead');
      return dead.items.length === 1 && filesIn(join(ws.out, 'devries')).some((f) => f.endsWith('.xml'));
    });
  });
  after(async () => {
    await stopService(service);
    await smtp.close();
  });

  it('signing in: a session with a CSRF token; wrong passwords refused, then slowed down; sign out ends the session', async () => {
    cover('GET', '/api/session');
    cover('POST', '/api/login');
    cover('POST', '/api/logout');
    const client = new ApiClient(base);
    const anon = await client.get<{ csrfToken: string; user?: string }>('/api/session');
    assert.ok(anon.csrfToken.length > 10);
    assert.equal(anon.user, undefined);
    assert.equal((await client.request('GET', '/api/status')).status, 401, 'nothing to read before signing in');
    // a login without the CSRF token is refused before the password is looked at
    assert.equal((await client.request('POST', '/api/login', { json: { name: 'tom', password: 'tom-password-12' }, csrf: false })).status, 403);
    // nor with a query string behind the address (a page on another site could otherwise sign a browser into its own account)
    assert.equal((await client.request('POST', '/api/login?x=1', { json: { name: 'tom', password: 'tom-password-12' }, csrf: false })).status, 403);
    const form = new URLSearchParams({ name: 'tom', password: 'tom-password-12' });
    const page = await fetch(`${base}/login?x=1`, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(page.status, 403, 'the login page too');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await client.login('tom', `wrong-${i}`));
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429], 'the sixth attempt after five wrong passwords must wait');
    const waiting = await client.request('POST', '/api/login', { json: { name: 'tom', password: 'tom-password-12' } });
    assert.equal(waiting.status, 429, 'even the right password waits');
    assert.ok(Number(waiting.headers.get('retry-after')) >= 1);
    // after signing in on the page, "next" only ever leads within the console
    for (const next of ['/\\evil.example', '//evil.example', '/\t/evil.example', 'https://evil.example/']) {
      const visitor = new ApiClient(base);
      visitor.csrf = (await visitor.get<{ csrfToken: string }>('/api/session')).csrfToken;
      const signedIn = await visitor.request('POST', '/login', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ name: 'olga', password: 'operator-password-1', next, _csrf: visitor.csrf }).toString(),
      });
      assert.equal(signedIn.status, 302, next);
      assert.equal(signedIn.headers.get('location'), '/', `next=${next} stays on the console`);
    }
    const other = new ApiClient(base);
    assert.equal(await other.login('olga', 'operator-password-1'), 200, 'another name is not held up');
    const me = await other.get<{ user: string; role: string }>('/api/session');
    assert.deepEqual([me.user, me.role], ['olga', 'operator']);
    assert.equal((await other.request('POST', '/api/logout')).status, 200);
    assert.equal((await other.request('GET', '/api/status')).status, 401, 'the session ended');
    const audit = await operator.get<Page<{ kind: string; detail: Record<string, unknown> }>>('/api/audit?kind=login-failed');
    assert.ok(audit.items.filter((e) => e.detail['name'] === 'tom').length >= 5, 'failed logins are in the audit log');
  });

  it('reads: status, overview with the dead-delivery alert, runs, files, invoices, deliveries, batches, configuration, audit', async () => {
    for (const p of [
      '/api/status',
      '/api/overview',
      '/api/runs',
      '/api/files',
      '/api/files/{id}',
      '/api/invoices',
      '/api/invoices/{id}',
      '/api/invoices/{id}/validation',
    ])
      cover('GET', p);
    for (const p of ['/api/deliveries', '/api/batches', '/api/batches/{id}', '/api/configuration', '/api/audit']) cover('GET', p);
    const status = await viewer.get<{ invoices: Record<string, number> }>('/api/status');
    assert.equal(status.invoices['issued'], 3);
    const overview = await viewer.get<{ alerts: { kind: string; count?: number }[]; activity: unknown[]; lastHour: { invoices: number } }>('/api/overview');
    assert.deepEqual(
      overview.alerts.map((a) => [a.kind, a.count]),
      [['dead-deliveries', 1]],
    );
    assert.equal(overview.activity.length, 24);
    assert.equal(overview.lastHour.invoices, 3);
    const runs = await viewer.get<{ total: number; done: number; dead: number }[]>('/api/runs');
    assert.ok(
      runs.some((r) => r.total === 6 && r.dead === 1),
      JSON.stringify(runs),
    );
    const files = await viewer.get<Page<{ id: number; name: string; state: string }>>('/api/files?source=members&state=done');
    assert.deepEqual(
      files.items.map((f) => f.name),
      ['contributie_m.csv'],
    );
    const file = await viewer.get<{ file: { id: number }; invoices: { number: string }[]; receipt: { issued: number } }>(`/api/files/${files.items[0]!.id}`);
    assert.equal(file.receipt.issued, 3);
    assert.deepEqual(file.invoices.map((i) => i.number).sort(), ['LID2027-0001', 'LID2027-0002', 'LID2027-0003']);
    const found = await viewer.get<Page<{ id: number; number: string; payable: string }>>('/api/invoices?number=LID2027-0002');
    assert.deepEqual(
      found.items.map((i) => i.number),
      ['LID2027-0002'],
    );
    const paged = await viewer.get<Page<{ number: string }>>('/api/invoices?limit=2');
    assert.equal(paged.items.length, 2);
    const rest = await viewer.get<Page<{ number: string }>>(`/api/invoices?limit=2&before=${paged.next!}`);
    assert.deepEqual([...paged.items, ...rest.items].map((i) => i.number).sort(), ['LID2027-0001', 'LID2027-0002', 'LID2027-0003']);
    assert.equal(rest.next, undefined);
    assert.equal((await viewer.request('GET', '/api/invoices?from=yesterday')).status, 400, 'a bad date is refused, naming the parameter');
    const invoice = await viewer.get<{ record: { number: string }; deliveries: Delivery[]; batches: { id: number }[] }>(`/api/invoices/${found.items[0]!.id}`);
    assert.equal(invoice.record.number, 'LID2027-0002');
    assert.deepEqual(invoice.deliveries.map((d) => d.transport).sort(), ['email', 'folder']);
    assert.equal(invoice.batches.length, 1, 'the accounting file it went into');
    const validation = await viewer.get<{ rule: string; severity: string }[]>(`/api/invoices/${found.items[0]!.id}/validation`);
    assert.deepEqual(
      validation.filter((f) => f.severity === 'fatal'),
      [],
      'the issued invoice passes the official rules',
    );
    assert.equal((await viewer.request('GET', '/api/invoices/999999')).status, 404);
    const dead = await viewer.get<Page<Delivery>>('/api/deliveries?state=dead&transport=email');
    assert.equal(dead.items.length, 1);
    assert.match(dead.items[0]!.lastError!, /550/);
    const batches = await viewer.get<Page<{ id: number; format: string }>>('/api/batches');
    assert.equal(batches.items[0]!.format, 'exact-online');
    const batch = await viewer.get<{ available: boolean; summary: string }>(`/api/batches/${batches.items[0]!.id}`);
    assert.equal(batch.available, true, 'the file can be made again byte for byte');
    assert.match(batch.summary, /3/);
    const configuration = await viewer.get<{ valid: boolean; mappings: { name: string }[] }>('/api/configuration');
    assert.equal(configuration.valid, true);
    assert.ok(configuration.mappings.some((m) => m.name === 'members-contribution'));
    const audit = await viewer.get<Page<{ kind: string }>>('/api/audit');
    assert.ok(audit.items.some((e) => e.kind === 'login'));
  });

  it('downloads: original, PDF, UBL and the accounting file, for the roles allowed', async () => {
    for (const p of ['/api/files/{id}/original', '/api/invoices/{id}/pdf', '/api/invoices/{id}/ubl', '/api/batches/{id}/file']) cover('GET', p);
    const file = (await operator.get<Page<{ id: number }>>('/api/files?source=members')).items[0]!;
    const original = await operator.request('GET', `/api/files/${file.id}/original`);
    assert.equal(original.status, 200);
    assert.equal(await original.text(), membersCsv(3));
    const invoice = (await operator.get<Page<{ id: number }>>('/api/invoices?number=LID2027-0001')).items[0]!;
    const pdf = await operator.request('GET', `/api/invoices/${invoice.id}/pdf`);
    assert.equal(pdf.headers.get('content-type'), 'application/pdf');
    assert.equal(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
      '%PDF-',
    );
    const ubl = await operator.request('GET', `/api/invoices/${invoice.id}/ubl`);
    assert.match(await ubl.text(), /<cbc:ID>LID2027-0001<\/cbc:ID>/);
    const batch = (await operator.get<Page<{ id: number; fileName: string }>>('/api/batches')).items[0]!;
    const xml = await operator.request('GET', `/api/batches/${batch.id}/file`);
    assert.equal(Buffer.from(await xml.arrayBuffer()).toString(), readFileSync(join(ws.out, 'devries', batch.fileName), 'utf8'), 'the same bytes as written');
    for (const path of [
      `/api/files/${file.id}/original`,
      `/api/invoices/${invoice.id}/pdf`,
      `/api/invoices/${invoice.id}/ubl`,
      `/api/batches/${batch.id}/file`,
    ]) {
      assert.equal((await viewer.request('GET', path)).status, 403, `a viewer may not download ${path}`);
      assert.equal((await anonymous.request('GET', path)).status, 401);
    }
  });

  it('actions: retry after the target is fixed, resend with a reason, reexport, acknowledge; viewers and requests without CSRF are refused', async () => {
    cover('POST', '/api/deliveries/retry');
    cover('POST', '/api/invoices/{id}/resend');
    cover('POST', '/api/invoices/{id}/reexport');
    cover('POST', '/api/alerts/{kind}/acknowledge');
    const dead = (await operator.get<Page<Delivery>>('/api/deliveries?state=dead')).items[0]!;
    assert.equal((await viewer.request('POST', '/api/deliveries/retry', { json: { ids: [dead.id] } })).status, 403, 'a viewer cannot retry');
    assert.equal((await operator.request('POST', '/api/deliveries/retry', { json: { ids: [dead.id] }, csrf: false })).status, 403, 'no CSRF token, no action');
    assert.equal(
      (await operator.request('POST', '/api/deliveries/retry', { json: { ids: [dead.id] }, headers: { 'x-csrf-token': 'forged' }, csrf: false })).status,
      403,
    );
    assert.equal((await anonymous.request('POST', '/api/deliveries/retry', { json: { ids: [dead.id] } })).status, 401);
    assert.equal((await operator.get<Page<Delivery>>('/api/deliveries?state=dead')).items.length, 1, 'nothing changed');
    smtp.reject = undefined;
    const retried = await operator.request('POST', '/api/deliveries/retry', { json: { ids: [dead.id] } });
    assert.deepEqual(await retried.json(), { due: 1 });
    await waitFor('the retried delivery sent', async () =>
      (await operator.get<{ deliveries: Delivery[] }>(`/api/invoices/${dead.invoiceId}`)).deliveries.some((d) => d.id === dead.id && d.state === 'sent'),
    );
    assert.ok(
      smtp.received.some((m) => JSON.stringify(m.to).includes('lid5001@example.nl')),
      'the member got the mail',
    );
    // to a corrected address: only an operator, only a real address, only a mail that bounced or failed
    // (the browser test sends a bounced one to its corrected address)
    cover('POST', '/api/deliveries/{id}/retry-to');
    const retryTo = (client: ApiClient, to: string) => client.request('POST', `/api/deliveries/${dead.id}/retry-to`, { json: { to } });
    assert.equal((await retryTo(viewer, 'lid5001@example.nl')).status, 403);
    const typo = await retryTo(operator, 'lid5001@example');
    assert.equal(typo.status, 400);
    assert.match(((await typo.json()) as { error: string }).error, /"lid5001@example" is not an e-mail address/);
    const sentAlready = await retryTo(operator, 'lid5001-nieuw@example.nl');
    assert.equal(sentAlready.status, 409);
    assert.match(((await sentAlready.json()) as { error: string }).error, /is not an e-mail that bounced or failed/);

    assert.equal((await operator.request('POST', `/api/invoices/${dead.invoiceId}/resend`, { json: { reason: ' ' } })).status, 400, 'a resend needs a reason');
    const resent = await operator.request('POST', `/api/invoices/${dead.invoiceId}/resend`, { json: { reason: 'member asked for a copy' } });
    assert.deepEqual(await resent.json(), { deliveries: 2 });
    const reexport = await operator.request('POST', `/api/invoices/${dead.invoiceId}/reexport`, {
      json: { format: 'exact-online', administration: 'devries', reason: 'booked in the wrong period' },
    });
    assert.equal(reexport.status, 200);
    cover('POST', '/api/batches/{id}/reexport');
    const batchId = (await operator.get<Page<{ id: number }>>('/api/batches')).items.at(-1)!.id;
    assert.equal((await operator.request('POST', `/api/batches/${batchId}/reexport`, { json: { reason: '' } })).status, 400, 'a reason is required');
    const again = await operator.request('POST', `/api/batches/${batchId}/reexport`, { json: { reason: 'the import failed at the accountant' } });
    assert.deepEqual(await again.json(), { invoices: 3 }, 'all three invoices of the file');
    const wrong = await operator.request('POST', `/api/invoices/${dead.invoiceId}/reexport`, {
      json: { format: 'accountview', administration: 'devries', reason: 'x' },
    });
    assert.equal(wrong.status, 409);
    assert.equal((await operator.request('POST', '/api/alerts/dead-deliveries/acknowledge')).status, 200);
    assert.equal((await operator.request('POST', '/api/alerts/nonsense/acknowledge')).status, 400);
    const overview = await operator.get<{ alerts: { kind: string }[] }>('/api/overview');
    assert.deepEqual(overview.alerts, [], 'the acknowledged alert is gone');
    const audit = await operator.get<Page<{ kind: string; detail: Record<string, unknown> }>>('/api/audit');
    const mine = audit.items.filter((e) => e.detail['by'] === 'olga').map((e) => [e.kind, e.detail['reason'] ?? null]);
    for (const expected of [
      ['retry', null],
      ['resend', 'member asked for a copy'],
      ['reexport', 'booked in the wrong period'],
      ['acknowledge', null],
    ])
      assert.ok(
        mine.some((m) => m[0] === expected[0] && m[1] === expected[1]),
        `${expected[0]} by olga in the audit log: ${JSON.stringify(mine)}`,
      );
  });

  it('try a file: the dry-run verdict with every check, nothing stored', async () => {
    cover('POST', '/api/try');
    const before = (await operator.get<{ files: Record<string, number> }>('/api/status')).files;
    const csv = `${membersCsv(2)}5999;B.;;Fout;Dorpsstraat;1;3811 AB;Amersfoort;lid5999@example.nl;Senior;geen-bedrag;2027;02-01-2027\n`;
    const form = new FormData();
    form.set('file', new Blob([csv]), 'contributie_probeer.csv');
    form.set('mapping', 'members-contribution');
    const refused = await viewer.request('POST', '/api/try', { form });
    assert.equal(refused.status, 403, 'a viewer cannot try files');
    const tried = await operator.request('POST', '/api/try', { form });
    assert.equal(tried.status, 200, await tried.clone().text());
    const verdict = (await tried.json()) as {
      mapping: string;
      accepted: { key: string }[];
      rejected: { key: string; errors: { line?: number; message: string }[] }[];
    };
    assert.equal(verdict.mapping, 'members-contribution');
    assert.equal(verdict.accepted.length, 2);
    assert.equal(verdict.rejected.length, 1);
    assert.equal(verdict.rejected[0]!.errors[0]!.line, 4, 'the error names its line');
    assert.deepEqual((await operator.get<{ files: Record<string, number> }>('/api/status')).files, before, 'nothing stored');
    // "pick automatically": by the file name, as the service would take it from that mapping's folder ...
    const auto = async (name: string) => {
      const f = new FormData();
      f.set('file', new Blob([csv]), name);
      const answer = await operator.request('POST', '/api/try', { form: f });
      assert.equal(answer.status, 200, await answer.clone().text());
      return (await answer.json()) as { mapping: string; chosenBy: string; accepted: unknown[] };
    };
    const byName = await auto('contributie_maart.csv');
    assert.deepEqual([byName.mapping, byName.chosenBy, byName.accepted.length], ['members-contribution', 'name', 2]);
    // ... and a name no mapping takes: the mapping that reads the most invoices from the content
    const byContent = await auto('export (3).csv');
    assert.deepEqual([byContent.mapping, byContent.chosenBy, byContent.accepted.length], ['members-contribution', 'content', 2]);
  });

  it('users: an admin adds, changes and removes; others may not; only hashes are stored', async () => {
    cover('GET', '/api/users');
    cover('POST', '/api/users');
    cover('DELETE', '/api/users/{name}');
    const ada = admin();
    assert.equal(await ada.login('ada', 'admin-password-1'), 200);
    assert.equal((await operator.request('GET', '/api/users')).status, 403);
    assert.equal(
      (await ada.request('POST', '/api/users', { json: { name: 'piet', role: 'viewer', password: 'short' } })).status,
      400,
      'a short password is refused',
    );
    assert.equal((await ada.request('POST', '/api/users', { json: { name: 'piet', role: 'viewer', password: 'piet-password-1' } })).status, 200);
    assert.equal((await ada.request('POST', '/api/users', { json: { name: 'piet', role: 'operator' } })).status, 200);
    const users = await ada.get<{ name: string; role: string }[]>('/api/users');
    assert.deepEqual(
      users.find((u) => u.name === 'piet'),
      { name: 'piet', role: 'operator', language: 'nl' },
    );
    const file = readFileSync(join(ws.config, 'console-users.yaml'), 'utf8');
    assert.ok(!file.includes('piet-password-1') && /passwordHash: \$2[aby]\$/.test(file), 'bcrypt hashes only');
    const piet = new ApiClient(base);
    assert.equal(await piet.login('piet', 'piet-password-1'), 200);
    assert.equal((await ada.request('DELETE', '/api/users/ada')).status, 409, 'not yourself');
    assert.equal((await ada.request('DELETE', '/api/users/piet')).status, 200);
    assert.equal((await piet.request('GET', '/api/status')).status, 401, 'a removed user is signed out at once');
  });

  it('health, readiness, metrics and the OpenAPI document need no sign-in; the document lists exactly the endpoints tested here', async () => {
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/openapi.json']) {
      cover('GET', p);
      assert.equal((await fetch(`${base}${p}`)).status, 200, p);
    }
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    assert.deepEqual([...covered].sort(), documented.sort());
    assert.equal((await fetch(`${base}/api/nothing`)).status, 404);
    const page = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/login?next=%2F');
    const login = await fetch(`${base}/login`);
    const csp = login.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'self'/);
    assert.equal(login.headers.get('x-content-type-options'), 'nosniff');
  });
});
