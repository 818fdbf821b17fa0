import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers/paths.js';

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** What a statement looks like: enough to catch SQL written outside the ledger's SQL module. */
const SQL = /\b(SELECT\s[^;]*?\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|TRIGGER)\s|ALTER\s+TABLE\s)/;

describe('architecture', () => {
  const src = join(ROOT, 'src');
  const sqlModule = join(src, 'ledger', 'sql');

  it('SQL is written only in the ledger’s SQL module (src/ledger/sql/)', () => {
    const outside = sources(src)
      .filter((file) => !file.startsWith(`${sqlModule}/`))
      .flatMap((file) =>
        readFileSync(file, 'utf-8')
          .split('\n')
          .flatMap((line, i) => (SQL.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim().slice(0, 100)}`] : [])),
      );
    assert.deepEqual(outside, []);
  });

  it('the check above recognises the ledger’s own statements (it can fail)', () => {
    const statements = readFileSync(join(sqlModule, 'statements.ts'), 'utf-8');
    assert.ok(statements.split('\n').filter((line) => SQL.test(line)).length > 40);
  });
});
