import { strict as assert } from 'node:assert';
import { ConfigError } from '../src/errors.js';
import { postgresPlace } from '../src/ledger/postgres-url.js';

describe('the ledger URL, read as the database driver reads it', () => {
  it('a host and port, or the folder of a Unix socket', () => {
    assert.deepEqual(postgresPlace('postgres://igw@db.example:6432/gateway'), {
      host: 'db.example',
      port: 6432,
      database: 'gateway',
      hasPassword: false,
      description: 'db.example:6432/gateway',
    });
    assert.equal(postgresPlace('postgresql:///gateway?host=/var/run/postgresql').description, '/var/run/postgresql:5432/gateway');
    assert.equal(postgresPlace('postgres://igw@/gateway?host=/run/postgresql&port=5433').description, '/run/postgresql:5433/gateway');
  });

  it('knows a password in the URL (it belongs in PGPASSWORD) and never repeats it', () => {
    const place = postgresPlace('postgres://igw:s3cret@db/gateway');
    assert.equal(place.hasPassword, true);
    assert.doesNotMatch(JSON.stringify(place), /s3cret/);
  });

  it('a URL the driver cannot read is a configuration error that names the field', () => {
    assert.throws(
      () => postgresPlace('postgres://igw@db:notaport/gateway'),
      (err: unknown) => err instanceof ConfigError && /ledger\.url is not a PostgreSQL URL/.test(err.message),
    );
  });
});
