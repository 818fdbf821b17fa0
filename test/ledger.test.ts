import { join } from 'node:path';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { ledgerConformance } from './helpers/ledger-contract.js';
import { tempDir } from './helpers/paths.js';

ledgerConformance('SQLite', () => ({
  database: async () => join(tempDir('igw-ledger-'), 'ledger.sqlite'),
  open: async (file, lease) => new SqliteLedger(file, lease),
}));
