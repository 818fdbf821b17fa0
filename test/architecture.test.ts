import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers/paths.js';
import { VIEWS_DIR } from '../src/web/views.js';

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

  it('the service tests read the ledger through its interface, never with SQL (only the ledger’s own tests and fault injections use SQL)', () => {
    const query = /\bSELECT\s[^;]*?\sFROM\s/;
    const tests = sources(join(ROOT, 'test')).filter((file) => !/^ledger[-.]/.test(relative(join(ROOT, 'test'), file)));
    const reads = tests.flatMap((file) =>
      readFileSync(file, 'utf-8')
        .split('\n')
        .flatMap((line, i) => (query.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim().slice(0, 100)}`] : [])),
    );
    assert.deepEqual(reads, []);
    // the check can fail: the ledger's own tests do query
    assert.ok(readFileSync(join(ROOT, 'test', 'ledger-postgres.test.ts'), 'utf-8').match(query));
  });

  /** The lines of the sources outside `allowed` that match `pattern`, as file:line: text. */
  const linesMatching = (pattern: RegExp, allowed: string[] = []): string[] =>
    sources(src)
      .filter((file) => !allowed.includes(relative(ROOT, file)))
      .flatMap((file) =>
        readFileSync(file, 'utf-8')
          .split('\n')
          .flatMap((line, i) => (pattern.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim().slice(0, 100)}`] : [])),
      );

  it('environment variables are read in one module (src/environment.ts); the rest gets them as values', () => {
    assert.deepEqual(linesMatching(/process\.env\b/, ['src/environment.ts']), []);
    // the check can fail: the one module does read them
    assert.ok(linesMatching(/process\.env\b/).length > 0);
  });

  it('the running code reads nothing from src/: templates, assets and the Java helper are found beside the compiled modules', () => {
    assert.deepEqual(linesMatching(/PROJECT_ROOT, 'src'|ROOT, 'src'/), []);
    // the build put them there (this test runs from dist/)
    assert.equal(relative(ROOT, VIEWS_DIR), join('dist', 'src', 'web', 'views'));
    for (const copied of [
      join(VIEWS_DIR, 'layout.hbs'),
      join(VIEWS_DIR, '..', 'assets', 'console.css'),
      join(ROOT, 'dist', 'src', 'validation', 'jvm', 'GatewayValidator.java'),
    ])
      assert.ok(existsSync(copied), `${relative(ROOT, copied)} is copied by the build`);
  });
});
