import { strict as assert } from 'node:assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { addConsoleUser, ApiClient } from './helpers/console.js';
import { selfSignedCertificate } from './helpers/tls.js';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { membersCsv, startService, stopService, waitFor, workspace, type Workspace } from './helpers/service.js';
import { countDeliveries } from './helpers/ledger-view.js';
import { freePort } from './helpers/net.js';

/** One labelled series of a histogram in the exposition text: its cumulative buckets by `le`, and its count. */
function histogramSeries(text: string, name: string, labels: Record<string, string>): { buckets: Map<string, number>; count: number } {
  const matches = (line: string) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
  const buckets = new Map<string, number>();
  let count = NaN;
  for (const line of text.split('\n').filter(matches)) {
    const bucket = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\S+)$`).exec(line);
    if (bucket) buckets.set(bucket[1]!, Number(bucket[2]));
    const total = new RegExp(`^${name}_count\\{.*\\} (\\S+)$`).exec(line);
    if (total) count = Number(total[1]);
  }
  return { buckets, count };
}

/** The node's HTTP endpoint on a real running service: health, readiness, Prometheus metrics, the API and its OpenAPI document. */
describe('HTTP endpoint: /healthz, /readyz, /metrics, /api/ (real service, real HTTP)', function () {
  this.timeout(60_000);
  let ws: Workspace;
  let service: ChildProcess | undefined;
  let base: string;

  beforeEach(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ws = workspace({ console: { port } });
    service = startService(ws);
    await waitFor('the endpoint to answer', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
  });
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('healthz says alive; readyz checks the ledger, the artefacts and every inbox folder, and says which one fails', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as { ready: boolean; checks: { name: string; ok: boolean; detail?: string }[] };
    assert.equal(ready.status, 200, JSON.stringify(body));
    assert.deepEqual(body.checks.map((c) => c.name).sort(), [
      'inbox:access',
      'inbox:erp',
      'inbox:members',
      'inbox:ubl',
      'inbox:webshop',
      'ledger',
      'validation',
    ]);
    // an inbox folder that goes away (a share unmounted) makes the node not ready, and says which
    rmSync(join(ws.inbox, 'erp'), { recursive: true, force: true });
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    const failing = ((await notReady.json()) as typeof body).checks.filter((c) => !c.ok);
    assert.deepEqual(
      failing.map((c) => c.name),
      ['inbox:erp'],
    );
    assert.match(failing[0]!.detail!, /ENOENT/);
  });

  it('metrics in the Prometheus text format: files, invoices, deliveries, queue depth, oldest waiting, and duration histograms', async () => {
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
    await waitFor('3 deliveries sent', async () => (await countDeliveries(ws, 'sent')) === 3);
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);
    assert.equal(value('igw_files', { source: 'members', state: 'done' }), 1);
    assert.equal(value('igw_invoices', { state: 'issued' }), 3);
    assert.equal(value('igw_deliveries', { state: 'sent', transport: 'folder' }), 3);
    assert.equal(value('igw_queue_depth'), 0);
    assert.equal(value('igw_oldest_waiting_delivery_age_seconds'), 0);
    assert.equal(families.get('igw_delivery_duration_seconds')?.type, 'HISTOGRAM');
    assert.equal(families.get('igw_validation_duration_seconds')?.type, 'HISTOGRAM');
    // the parser merges the label sets of a histogram into one, so its series are read from the lines
    const sent = histogramSeries(text, 'igw_delivery_duration_seconds', { transport: 'folder', outcome: 'sent' });
    assert.equal(sent.count, 3);
    assert.equal(sent.buckets.get('+Inf'), 3);
    assert.ok(
      [...sent.buckets.values()].every((n, i, all) => i === 0 || n >= all[i - 1]!),
      'buckets are cumulative',
    );
    assert.ok(families.has('igw_process_resident_memory_bytes') && families.has('igw_nodejs_eventloop_lag_seconds'), 'process metrics too');
  });

  it('the API needs a sign-in; monitoring does not; the OpenAPI document is public', async () => {
    assert.equal((await fetch(`${base}/api/status`)).status, 401, 'ledger data only for signed-in people (see the console API tests)');
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/status', '/api/invoices']) assert.ok(doc.paths[path], `${path} is documented`);
    for (const path of ['/healthz', '/metrics', '/api/openapi.json'])
      assert.equal((await fetch(`${base}${path}`)).status, 200, `${path} answers without a sign-in`);
  });
});

/** Sends one HTTPS request trusting `ca`; answers status, headers and body. */
function httpsRequest(url: string, ca: Buffer, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', ca, headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('console over TLS, and behind a reverse proxy (real service)', function () {
  this.timeout(60_000);
  let service: ChildProcess | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('with tls: in the configuration it serves HTTPS only, with Secure cookies and HSTS', async () => {
    const { key, cert } = selfSignedCertificate();
    const port = await freePort();
    const ws = workspace({ console: { port, tls: { cert, key } } });
    addConsoleUser(ws, 'anna', 'viewer', 'viewer-password-1');
    service = startService(ws);
    const ca = readFileSync(cert);
    const base = `https://127.0.0.1:${port}`;
    await waitFor('HTTPS to answer', async () => (await httpsRequest(`${base}/healthz`, ca).catch(() => undefined))?.status === 200);
    assert.equal(
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => 'answered',
        () => 'refused',
      ),
      'refused',
      'no plain HTTP on that port',
    );
    const session = await httpsRequest(`${base}/api/session`, ca);
    const cookie = String(session.headers['set-cookie']?.[0]);
    const token = (JSON.parse(session.body) as { csrfToken: string }).csrfToken;
    const login = await httpsRequest(`${base}/api/login`, ca, {
      method: 'POST',
      headers: { cookie: cookie.split(';')[0]!, 'content-type': 'application/json', 'x-csrf-token': token },
      body: JSON.stringify({ name: 'anna', password: 'viewer-password-1' }),
    });
    assert.equal(login.status, 200, login.body);
    const set = String(login.headers['set-cookie']?.[0]);
    assert.match(set, /; Secure/);
    assert.match(set, /; HttpOnly/);
    assert.match(set, /; SameSite=Strict/);
    assert.match(String(login.headers['strict-transport-security']), /max-age=/);
  });

  it('with trustProxy the client address and https come from the proxy (its own hop only, not what a client forged): Secure cookies, the real address in the audit log', async () => {
    const port = await freePort();
    const ws = workspace({ console: { port, trustProxy: true } });
    addConsoleUser(ws, 'anna', 'viewer', 'viewer-password-1');
    service = startService(ws);
    const client = new ApiClient(`http://127.0.0.1:${port}`);
    await waitFor('the console to answer', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok);
    // the client wrote a false address of its own; the proxy appended the one it saw: only that one is believed
    const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.66, 203.0.113.7' };
    client.csrf = ((await (await client.request('GET', '/api/session', { headers: proxied })).json()) as { csrfToken: string }).csrfToken;
    const login = await client.request('POST', '/api/login', { json: { name: 'anna', password: 'viewer-password-1' }, headers: proxied });
    assert.equal(login.status, 200);
    assert.match(login.headers.getSetCookie()[0] ?? '', /; Secure/, 'https at the proxy: the cookie is Secure');
    const audit = await client.get<{ items: { kind: string; detail: { ip?: string } }[] }>('/api/audit?kind=login');
    assert.equal(audit.items[0]?.detail.ip, '203.0.113.7');
  });
});
