import Fastify, { type FastifyInstance } from 'fastify';
import type { Ledger } from '../ledger/ledger.js';
import type { GatewayMetrics } from '../service/metrics.js';
import { OPENAPI } from './openapi.js';

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
}

/**
 * The node's HTTP endpoint: /healthz, /readyz, /metrics, and the JSON API under /api/ described by
 * /api/openapi.json. Everything is read through the ledger interface; no SQL here.
 */
export function createWebServer(deps: WebDependencies): FastifyInstance {
  const app = Fastify({ logger: false });
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
  app.get('/api/status', async () => deps.ledger.status(Date.now()));
  app.get('/api/openapi.json', async () => OPENAPI);
  return app;
}
