import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Ledger } from '../ledger/ledger.js';

/** Times the gateway measures in-process: how long validation and sends take. */
export interface DurationObserver {
  /** one UBL validation (profile: peppol, nlcius, en16931) */
  validated(profile: string, seconds: number): void;
  /** one send through a transport, with how it ended */
  delivered(transport: string, outcome: 'sent' | 'failed' | 'dead', seconds: number): void;
}

/**
 * The gateway's Prometheus metrics: counts read from the ledger at each scrape (so every node of a
 * shared ledger reports the same totals) and this process's validation and delivery durations.
 */
export class GatewayMetrics implements DurationObserver {
  readonly registry = new Registry();
  private readonly validation: Histogram<'profile'>;
  private readonly delivery: Histogram<'transport' | 'outcome'>;

  constructor(ledger: Ledger) {
    collectDefaultMetrics({ register: this.registry, prefix: 'igw_' });
    const registers = [this.registry];
    // one read of the ledger per scrape, shared by the gauges below
    let snapshot: ReturnType<Ledger['metrics']> | undefined;
    const read = () => (snapshot ??= ledger.metrics().finally(() => setTimeout(() => (snapshot = undefined), 0)));
    new Gauge({
      name: 'igw_files',
      help: 'Files in the ledger by source and state',
      labelNames: ['source', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await read()).files) this.set({ source: r.source, state: r.state }, r.n);
      },
    });
    new Gauge({
      name: 'igw_invoices',
      help: 'Invoices in the ledger by state (issued, held, rejected)',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await read()).invoices) this.set({ state: r.state }, r.n);
      },
    });
    new Gauge({
      name: 'igw_deliveries',
      help: 'Deliveries in the ledger by state and transport',
      labelNames: ['state', 'transport'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await read()).deliveries) this.set({ state: r.state, transport: r.transport }, r.n);
      },
    });
    new Gauge({
      name: 'igw_queue_depth',
      help: 'Deliveries waiting to be sent (pending, failed and waiting for a retry, or being sent)',
      registers,
      async collect() {
        this.set((await read()).deliveries.filter((r) => ['pending', 'failed', 'sending'].includes(r.state)).reduce((sum, r) => sum + r.n, 0));
      },
    });
    new Gauge({
      name: 'igw_oldest_waiting_delivery_age_seconds',
      help: 'Age of the oldest delivery still waiting to be sent (0 when none waits)',
      registers,
      async collect() {
        const since = (await read()).oldestWaitingSince;
        this.set(since ? Math.max(0, (Date.now() - Date.parse(since)) / 1000) : 0);
      },
    });
    this.validation = new Histogram({
      name: 'igw_validation_duration_seconds',
      help: 'Duration of one UBL validation by the official rules',
      labelNames: ['profile'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.delivery = new Histogram({
      name: 'igw_delivery_duration_seconds',
      help: 'Duration of one send (render and transport) by transport and outcome',
      labelNames: ['transport', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    });
  }

  validated(profile: string, seconds: number): void {
    this.validation.observe({ profile }, seconds);
  }

  delivered(transport: string, outcome: 'sent' | 'failed' | 'dead', seconds: number): void {
    this.delivery.observe({ transport, outcome }, seconds);
  }
}
