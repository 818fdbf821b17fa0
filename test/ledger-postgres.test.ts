import { strict as assert } from 'node:assert';
import pg from 'pg';
import { EnvironmentError } from '../src/errors.js';
import type { IssueRequest } from '../src/ledger/ledger.js';
import { PostgresLedger } from '../src/ledger/postgres.js';
import { minimalInvoice } from './helpers/invoice.js';
import { ledgerConformance } from './helpers/ledger-contract.js';
import { startPostgres, type PgServer } from './helpers/postgres.js';
import { waitFor } from './helpers/service.js';

let server: PgServer | undefined;
describe('PostgreSQL server for the ledger tests', function () {
  this.timeout(180_000);
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  ledgerConformance('PostgreSQL', () => ({
    database: () => server!.createDatabase(),
    open: (url, lease) => PostgresLedger.open({ url, poolSize: 4 }, lease),
  }));

  it('a ledger URL may name the server by its Unix socket folder (a gateway on the database machine)', async () => {
    const url = await server!.createDatabase();
    const local = url.replace(/@127\.0\.0\.1:(\d+)\/(\w+)$/, (_all, port: string, db: string) => `@/${db}?host=${server!.socketDir}&port=${port}`);
    assert.notEqual(local, url);
    const ledger = await PostgresLedger.open({ url: local, poolSize: 1 }, { nodeId: 'a', leaseMs: 60_000 });
    try {
      assert.equal(ledger.description, `postgres ${server!.socketDir}:${server!.port}/${url.split('/').pop()}`);
      assert.ok(await ledger.claimFile({ source: 's', name: 'f.csv', contentHash: 'h', processingPath: '/p/f.csv' }));
    } finally {
      await ledger.close();
    }
  });

  describe('PostgreSQL sessions that hold what others need', () => {
    const request = (fileId: number, seq: number): IssueRequest => ({
      fileId,
      seqInFile: seq,
      invoice: minimalInvoice('a', `k${seq}`),
      deliveries: [],
      numberFormat: '{yyyy}-{seq:5}',
    });

    it('a session frozen inside a transaction on the number counter loses it after the idle limit; numbering goes on', async () => {
      const url = await server!.createDatabase();
      const ledger = await PostgresLedger.open(
        { url, poolSize: 2, limits: { lockTimeoutMs: 500, idleInTransactionMs: 1_000 } },
        { nodeId: 'a', leaseMs: 60_000 },
      );
      // the frozen node: a gateway session (same limits) that took the counter row and then stopped (SIGSTOP)
      const frozen = new pg.Client({ connectionString: url, options: '-c idle_in_transaction_session_timeout=1000' });
      frozen.on('error', () => undefined);
      try {
        const file = (await ledger.claimFile({ source: 's', name: 'f.csv', contentHash: 'h', processingPath: '/p/f.csv' }))!.id;
        assert.equal((await ledger.issue([request(file, 1)]))[0]!.status, 'issued');
        await frozen.connect();
        await frozen.query('BEGIN');
        await frozen.query('UPDATE number_series SET last_seq = last_seq');
        const [second] = await ledger.issue([request(file, 2)]);
        assert.deepEqual(second && 'number' in second ? second.number : second, '2026-00002');
      } finally {
        await frozen.end().catch(() => undefined);
        await ledger.close();
      }
    });

    it('a foreign session holding the counter makes a store wait a bounded time and say why (the environment), then go on', async () => {
      const url = await server!.createDatabase();
      const ledger = await PostgresLedger.open({ url, poolSize: 2, limits: { lockTimeoutMs: 200 } }, { nodeId: 'a', leaseMs: 60_000 });
      // an operator's psql session: no idle limit of ours applies to it
      const foreign = new pg.Client({ connectionString: url });
      try {
        const file = (await ledger.claimFile({ source: 's', name: 'f.csv', contentHash: 'h', processingPath: '/p/f.csv' }))!.id;
        await ledger.issue([request(file, 1)]);
        await foreign.connect();
        await foreign.query('BEGIN');
        await foreign.query('UPDATE number_series SET last_seq = last_seq');
        await assert.rejects(ledger.issue([request(file, 2)]), (err: Error) => err instanceof EnvironmentError && /lock timeout/.test(err.message));
        await foreign.query('ROLLBACK');
        const [second] = await ledger.issue([request(file, 2)]);
        assert.equal(second!.status, 'issued', 'nothing was stored by the attempt that waited, and nothing is stranded');
      } finally {
        await foreign.end().catch(() => undefined);
        await ledger.close();
      }
    });

    it('lease renewals and batch finishes never deadlock', async () => {
      const url = await server!.createDatabase();
      const ledger = await PostgresLedger.open({ url, poolSize: 6 }, { nodeId: 'a', leaseMs: 60_000 });
      const file = (await ledger.claimFile({ source: 's', name: 'f.csv', contentHash: 'h', processingPath: '/p/f.csv' }))!.id;
      const route = { routeId: 'exact-1', format: 'exact-online', transport: 'folder', target: 'adm', options: {}, reason: 'test' };
      await ledger.issue(Array.from({ length: 240 }, (_, i) => ({ ...request(file, i + 1), deliveries: [route] }) as IssueRequest));
      const pending = await ledger.pendingExports('exact-online', 'adm', ledger.now());
      const deadlocks = async (): Promise<number> => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return Number((await client.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
        } finally {
          await client.end();
        }
      };
      const before = await deadlocks();
      let renewing = true;
      const renewals = (async () => {
        while (renewing) await ledger.renewLeases();
      })();
      // two writers side by side, each finishing batches while the heartbeat renews their leases
      const writer = async (offset: number): Promise<void> => {
        for (let i = offset; i < pending.length; i += 6) {
          const ids = pending.slice(i, i + 3).map((d) => d.id);
          const batch = (await ledger.openBatch({ format: 'exact-online', administration: 'adm', fileName: `f${i}.xml`, contentHash: 'x', deliveryIds: ids }))!;
          await ledger.finishBatch(batch, []);
        }
      };
      await Promise.all([writer(0), writer(3)]);
      renewing = false;
      await renewals;
      await ledger.close();
      // a backend's counts reach the statistics when it ends: wait until the ledger's sessions are gone
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await waitFor('the ledger sessions to end', async () =>
          Number((await admin.query(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = 'invoice-gateway a'`)).rows[0].n) === 0
            ? true
            : undefined,
        );
      } finally {
        await admin.end();
      }
      assert.equal((await deadlocks()) - before, 0);
    });
  });
});
