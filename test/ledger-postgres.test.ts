import { PostgresLedger } from '../src/ledger/postgres.js';
import { ledgerConformance } from './helpers/ledger-contract.js';
import { startPostgres, type PgServer } from './helpers/postgres.js';

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
});
