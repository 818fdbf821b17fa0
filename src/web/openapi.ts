/** The OpenAPI description of the gateway's HTTP endpoints, served at /api/openapi.json. */
import { TRANSPORTS } from '../kinds/transports.js';

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (description: string, schema: Schema = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const refused = {
  '401': json('not signed in', ref('Error')),
  '403': json('signed in with a role that may not do this, or (POST) the CSRF token is missing or wrong', ref('Error')),
};
const notFound = { '404': json('no such record', ref('Error')) };
const badRequest = { '400': json('a parameter is not valid; the message names it', ref('Error')) };
const idParam = (what: string) => ({ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 }, description: `the ${what}'s id` });
const q = (name: string, description: string, schema: Schema = { type: 'string' }) => ({ name, in: 'query', required: false, schema, description });
const paging = [
  q('before', 'the cursor: `next` of the previous page', { type: 'integer', minimum: 1 }),
  q('limit', 'rows per page (1–200, default 50)', { type: 'integer', minimum: 1, maximum: 200 }),
];
const page = (item: string) => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: ref(item) }, next: { type: 'integer', description: 'cursor of the next page; absent on the last' } },
});
const csrf = { name: 'x-csrf-token', in: 'header', required: true, schema: { type: 'string' }, description: 'the token from GET /api/session' };
const body = (schema: Schema) => ({ required: true, content: { 'application/json': { schema } } });
const get = (summary: string, role: string, ok: Schema, extra: Record<string, unknown> = {}) => ({
  get: { summary, 'x-role': role, responses: { '200': ok, ...refused, ...extra } },
});
const binary = (description: string, mediaType: string) => ({ description, content: { [mediaType]: { schema: { type: 'string', format: 'binary' } } } });

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'invoice-gateway',
    version: '2',
    description:
      'The console API of one gateway node: the same data and actions as the web console. Sign in with POST /api/login (a session cookie); ' +
      'every POST and DELETE needs the CSRF token of GET /api/session in the x-csrf-token header. Roles: viewer reads, operator also ' +
      'retries, resends, reexports and tries files, admin also manages users. Health, readiness and metrics need no sign-in.',
  },
  paths: {
    '/healthz': { get: { summary: 'The process is alive', responses: { '200': json('alive', ref('Health')) } } },
    '/readyz': {
      get: {
        summary: 'The node can work: its ledger answers, the validation artefacts are installed, every inbox folder is reachable',
        responses: { '200': json('ready', ref('Readiness')), '503': json('not ready; `checks` says what is missing', ref('Readiness')) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/api/openapi.json': { get: { summary: 'This document', responses: { '200': json('OpenAPI 3.1') } } },
    '/api/session': { get: { summary: 'Who is signed in (if anyone) and the CSRF token for actions', responses: { '200': json('session', ref('Session')) } } },
    '/api/login': {
      post: {
        summary: 'Sign in; five wrong passwords for a name make it wait (429 with Retry-After)',
        parameters: [csrf],
        requestBody: body({ type: 'object', required: ['name', 'password'], properties: { name: { type: 'string' }, password: { type: 'string' } } }),
        responses: {
          '200': json('signed in; a new session cookie and CSRF token', ref('Session')),
          '401': json('unknown name or wrong password', ref('Error')),
          '429': json('too many attempts; wait', ref('Error')),
        },
      },
    },
    '/api/logout': { post: { summary: 'Sign out', parameters: [csrf], responses: { '200': json('signed out') } } },
    '/api/status': get(
      'What `invoice-gateway status --json` shows: counts per state, oldest pending delivery, failures, files in error, runs, nodes',
      'viewer',
      json('status'),
    ),
    '/api/overview': get('The overview page: counts, activity per hour of the last day, alerts, runs, nodes', 'viewer', json('overview', ref('Overview'))),
    '/api/alerts/{kind}/acknowledge': {
      post: {
        summary: 'Mark the dead deliveries or files in error seen so far as handled; the alert returns for newer ones',
        'x-role': 'operator',
        parameters: [{ name: 'kind', in: 'path', required: true, schema: { enum: ['dead-deliveries', 'files-in-error', 'files-partial'] } }, csrf],
        responses: { '200': json('acknowledged'), ...refused, ...badRequest },
      },
    },
    '/api/files': {
      get: {
        summary: 'Files, newest first',
        'x-role': 'viewer',
        parameters: [
          q('source', 'inbox folder'),
          q('state', 'processing, done, partial, error or duplicate'),
          q('from', 'claimed on or after (YYYY-MM-DD)', { type: 'string', format: 'date' }),
          q('to', 'claimed on or before', { type: 'string', format: 'date' }),
          ...paging,
        ],
        responses: { '200': json('a page of files', page('File')), ...refused, ...badRequest },
      },
    },
    '/api/files/{id}': {
      get: {
        summary: 'A file: receipt, error report with locations, the invoices it produced',
        'x-role': 'viewer',
        parameters: [idParam('file')],
        responses: { '200': json('file'), ...refused, ...notFound },
      },
    },
    '/api/files/{id}/original': {
      get: {
        summary: 'The original bytes of a file',
        'x-role': 'download',
        parameters: [idParam('file')],
        responses: { '200': binary('the file', 'application/octet-stream'), ...refused, ...notFound },
      },
    },
    '/api/invoices': {
      get: {
        summary: 'Invoice search, newest first (keyset pages)',
        'x-role': 'viewer',
        parameters: [
          q('number', 'the number or its beginning'),
          q('customer', 'a customer key, or the beginning of the buyer name (any case)'),
          q('from', 'issue date on or after', { type: 'string', format: 'date' }),
          q('to', 'issue date on or before', { type: 'string', format: 'date' }),
          q('min', 'amount due at least'),
          q('max', 'amount due at most'),
          q('state', 'issued, held or rejected'),
          q('file', 'invoices of this file id', { type: 'integer' }),
          ...paging,
        ],
        responses: { '200': json('a page of invoices', page('InvoiceSummary')), ...refused, ...badRequest },
      },
    },
    '/api/invoices/{id}': {
      get: {
        summary: 'An invoice: canonical content, deliveries with attempts, accounting batches',
        'x-role': 'viewer',
        parameters: [idParam('invoice')],
        responses: { '200': json('invoice'), ...refused, ...notFound },
      },
    },
    '/api/invoices/{id}/pdf': {
      get: {
        summary: 'The PDF as its customer gets it',
        'x-role': 'download',
        parameters: [idParam('invoice')],
        responses: { '200': binary('PDF', 'application/pdf'), ...refused, ...notFound },
      },
    },
    '/api/invoices/{id}/ubl': {
      get: {
        summary: 'The UBL in the profile of its first UBL route',
        'x-role': 'download',
        parameters: [idParam('invoice')],
        responses: { '200': binary('UBL', 'application/xml'), ...refused, ...notFound },
      },
    },
    '/api/invoices/{id}/validation': {
      get: {
        summary: 'The official rules run on its UBL now: rule id, severity, location, text',
        'x-role': 'viewer',
        parameters: [idParam('invoice')],
        responses: { '200': json('findings', { type: 'array', items: ref('Finding') }), ...refused, ...notFound },
      },
    },
    '/api/invoices/{id}/resend': {
      post: {
        summary: 'Send an issued invoice again over all its routes (new deliveries, logged)',
        'x-role': 'operator',
        parameters: [idParam('invoice'), csrf],
        requestBody: body({ type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 1 } } }),
        responses: { '200': json('queued', { type: 'object', properties: { deliveries: { type: 'integer' } } }), ...refused, ...badRequest, ...notFound },
      },
    },
    '/api/invoices/{id}/reexport': {
      post: {
        summary: 'Put an invoice in the next accounting file of an administration again (logged)',
        'x-role': 'operator',
        parameters: [idParam('invoice'), csrf],
        requestBody: body({
          type: 'object',
          required: ['format', 'administration', 'reason'],
          properties: { format: { type: 'string' }, administration: { type: 'string' }, reason: { type: 'string' } },
        }),
        responses: { '200': json('queued'), ...refused, ...badRequest, ...notFound, '409': json('the invoice has no such route', ref('Error')) },
      },
    },
    '/api/deliveries': {
      get: {
        summary: 'Deliveries, newest first',
        'x-role': 'viewer',
        parameters: [
          q('state', 'pending, sending, sent, failed or dead'),
          q('transport', 'the route’s transport', { type: 'string', enum: TRANSPORTS.map((t) => t.name) }),
          q('invoice', 'of this invoice id', { type: 'integer' }),
          ...paging,
        ],
        responses: { '200': json('a page of deliveries', page('Delivery')), ...refused, ...badRequest },
      },
    },
    '/api/deliveries/retry': {
      post: {
        summary: 'Make failed or dead deliveries due now (the outbox sends them at once)',
        'x-role': 'operator',
        parameters: [csrf],
        requestBody: body({ type: 'object', required: ['ids'], properties: { ids: { type: 'array', items: { type: 'integer' } } } }),
        responses: { '200': json('how many became due', { type: 'object', properties: { due: { type: 'integer' } } }), ...refused, ...badRequest },
      },
    },
    '/api/deliveries/{id}/retry-to': {
      post: {
        summary: 'Send a bounced or failed e-mail delivery again, to a corrected address (correct customers.yaml too)',
        'x-role': 'operator',
        parameters: [idParam('delivery'), csrf],
        requestBody: body({ type: 'object', required: ['to'], properties: { to: { type: 'string', format: 'email' } } }),
        responses: {
          '200': json('due again', { type: 'object', properties: { due: { type: 'integer' } } }),
          '409': json('not an e-mail delivery that bounced or failed', ref('Error')),
          ...refused,
          ...badRequest,
        },
      },
    },
    '/api/runs': get('Bulk runs: done/total per file with deliveries under way', 'viewer', json('runs', { type: 'array' })),
    '/api/batches': {
      get: {
        summary: 'Accounting import files, newest first',
        'x-role': 'viewer',
        parameters: paging,
        responses: { '200': json('a page of batches', page('Batch')), ...refused },
      },
    },
    '/api/batches/{id}': {
      get: {
        summary: 'An accounting file with its summary',
        'x-role': 'viewer',
        parameters: [idParam('batch')],
        responses: { '200': json('batch'), ...refused, ...notFound },
      },
    },
    '/api/batches/{id}/file': {
      get: {
        summary: 'The import file, made again from the ledger and checked against the hash recorded when it was written',
        'x-role': 'download',
        parameters: [idParam('batch')],
        responses: {
          '200': binary('the file', 'application/xml'),
          ...refused,
          ...notFound,
          '409': json('it cannot be made again byte for byte', ref('Error')),
        },
      },
    },
    '/api/batches/{id}/reexport': {
      post: {
        summary: 'Put every invoice of an accounting file in the next file of its administration again (logged)',
        'x-role': 'operator',
        parameters: [idParam('batch'), csrf],
        requestBody: body({ type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 1 } } }),
        responses: {
          '200': json('how many invoices', { type: 'object', properties: { invoices: { type: 'integer' } } }),
          ...refused,
          ...badRequest,
          ...notFound,
        },
      },
    },
    '/api/try': {
      post: {
        summary: 'Dry-run an uploaded file: every check including UBL validation; nothing stored or sent',
        'x-role': 'operator',
        parameters: [csrf],
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' }, mapping: { type: 'string' } } },
            },
          },
        },
        responses: { '200': json('the verdict', ref('TryOutcome')), ...refused, ...badRequest },
      },
    },
    '/api/configuration': get('check-config’s verdict, the mappings, customers with their routes, sellers, administrations', 'viewer', json('configuration')),
    '/api/audit': {
      get: {
        summary: 'Audit log: logins, retries, resends, reexports, acknowledgements, user changes; who, when, why',
        'x-role': 'viewer',
        parameters: [q('kind', 'only this kind'), ...paging],
        responses: { '200': json('a page of events', page('Event')), ...refused },
      },
    },
    '/api/users': {
      get: { summary: 'Console users (names, roles, languages)', 'x-role': 'admin', responses: { '200': json('users', { type: 'array' }), ...refused } },
      post: {
        summary: 'Add or change a user; the password is stored as a bcrypt hash',
        'x-role': 'admin',
        parameters: [csrf],
        requestBody: body({
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            role: { enum: ['viewer', 'operator', 'admin'] },
            password: { type: 'string', minLength: 10 },
            language: { enum: ['nl', 'en'] },
          },
        }),
        responses: { '200': json('saved'), ...refused, ...badRequest },
      },
    },
    '/api/users/{name}': {
      delete: {
        summary: 'Remove a user (not yourself)',
        'x-role': 'admin',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, csrf],
        responses: { '200': json('removed'), ...refused, ...notFound },
      },
    },
  },
  components: {
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
      Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' }, node: { type: 'string' } } },
      Readiness: {
        type: 'object',
        required: ['ready', 'checks'],
        properties: {
          ready: { type: 'boolean' },
          checks: {
            type: 'array',
            items: { type: 'object', required: ['name', 'ok'], properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } } },
          },
        },
      },
      Session: {
        type: 'object',
        required: ['csrfToken'],
        properties: { csrfToken: { type: 'string' }, user: { type: 'string' }, role: { type: 'string' }, language: { type: 'string' } },
      },
      Overview: {
        type: 'object',
        required: ['node', 'status', 'activity', 'alerts', 'nodes'],
        properties: {
          nodes: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'state', 'heardFromSecondsAgo'],
              properties: {
                state: { type: 'string', enum: ['running', 'paused', 'silent'], description: 'silent: no heartbeat for a lease time (on the database clock)' },
                clockAheadSeconds: { type: 'number', description: "the node's clock against the database's, when two seconds or more off" },
              },
            },
          },
        },
      },
      File: {
        type: 'object',
        required: ['id', 'source', 'name', 'state'],
        properties: { heldBy: { type: 'string', description: 'the node (id#run) working on it now, under lease' } },
      },
      InvoiceSummary: {
        type: 'object',
        required: ['id', 'seller', 'state'],
        properties: {
          number: { type: 'string' },
          sourceKey: { type: 'string', description: 'what names it in its source file (an order number)' },
          payable: { type: 'string', description: 'exact decimal text' },
        },
      },
      Delivery: {
        type: 'object',
        required: ['id', 'invoiceId', 'state', 'attempts'],
        properties: {
          progress: { type: 'string', enum: ['accepted', 'delivered'], description: 'how far a sent delivery got beyond its transport (Peppol)' },
          heldBy: { type: 'string', description: 'the node (id#run) sending it now, under lease' },
        },
      },
      Batch: { type: 'object', required: ['id', 'format', 'administration', 'fileName'] },
      Event: { type: 'object', required: ['id', 'at', 'kind', 'detail'] },
      Finding: { type: 'object', required: ['profile', 'rule', 'severity', 'message'] },
      TryOutcome: { type: 'object', required: ['file', 'accepted', 'rejected'] },
    },
  },
} as const;
