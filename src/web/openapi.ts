/** The OpenAPI description of the gateway's HTTP endpoints, served at /api/openapi.json. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'invoice-gateway',
    version: '1',
    description: 'Health, readiness, Prometheus metrics and the ledger status of one gateway node.',
  },
  paths: {
    '/healthz': {
      get: {
        summary: 'The process is alive',
        responses: { '200': { description: 'alive', content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } } } },
      },
    },
    '/readyz': {
      get: {
        summary: 'The node can work: its ledger answers, the validation artefacts are installed, every inbox folder is reachable',
        responses: {
          '200': { description: 'ready', content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } },
          '503': {
            description: 'not ready; `checks` says what is missing',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } },
          },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/api/status': {
      get: {
        summary: 'What `invoice-gateway status --json` shows: counts per state, oldest pending delivery, failures, files in error, runs, nodes',
        responses: { '200': { description: 'status', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/api/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } },
    },
  },
  components: {
    schemas: {
      Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' }, node: { type: 'string' } } },
      Readiness: {
        type: 'object',
        required: ['ready', 'checks'],
        properties: {
          ready: { type: 'boolean' },
          checks: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'ok'],
              properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;
