import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { ConfigErrors, parseYaml } from '../src/config/yaml-file.js';
import { CLI, ROOT, tempDir } from './helpers/paths.js';

function configErrors(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, String(err));
    return err.errors.map((e) => e.describe());
  }
  assert.fail('expected configuration errors');
}

/** A copy of the shipped config and mappings, to break on purpose. */
function configCopy(): { configDir: string; mappingsDir: string } {
  const dir = tempDir();
  cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  cpSync(join(ROOT, 'mappings'), join(dir, 'mappings'), { recursive: true });
  return { configDir: join(dir, 'config'), mappingsDir: join(dir, 'mappings') };
}

describe('configuration files', () => {
  it('the shipped configuration is valid', () => {
    const config = loadConfig({ configDir: join(ROOT, 'config'), mappingsDir: join(ROOT, 'mappings') });
    assert.deepEqual(
      config.mappings.map((m) => m.name),
      ['access-orders', 'access-quotes', 'erp-invoices', 'members-contribution', 'ubl-invoices', 'webshop-orders'],
    );
  });

  it('files in flight: 16 by default, 32 on a PostgreSQL ledger (its round trips want more), or what is set', () => {
    const { configDir, mappingsDir } = configCopy();
    const settings = join(configDir, 'gateway.yaml');
    const shipped = readFileSync(settings, 'utf-8');
    assert.equal(loadConfig({ configDir, mappingsDir }).service.watch.concurrency, 16);
    writeFileSync(settings, `${shipped}\nledger:\n  kind: postgres\n  url: postgres://igw@db/gateway\n`);
    assert.equal(loadConfig({ configDir, mappingsDir }).service.watch.concurrency, 32);
    writeFileSync(settings, readFileSync(settings, 'utf-8').replace('# concurrency: 16 ', 'concurrency: 12 '));
    assert.equal(loadConfig({ configDir, mappingsDir }).service.watch.concurrency, 12);
  });

  it('an unknown transport points at file:line:column and suggests the near miss', () => {
    const yaml = 'customers:\n  "1":\n    party: { name: A }\n    routes:\n      - format: ubl\n        transport: sftpp\n';
    assert.deepEqual(
      configErrors(() => parseYaml(yaml, 'customers', 'customers.yaml')),
      ["customers.yaml:6:20, at customers.1.routes.0.transport: unknown transport 'sftpp', did you mean 'sftp'?"],
    );
  });

  it('an unknown key in a mapping points at the key and suggests the near miss', () => {
    const { mappingsDir, configDir } = configCopy();
    const file = join(mappingsDir, 'access-orders.yaml');
    writeFileSync(file, readFileSync(file, 'utf-8').replace('  netPrice: { column: Prijs excl. }', '  netPrise: { column: Prijs excl. }'));
    const errors = configErrors(() => loadConfig({ configDir, mappingsDir }));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /access-orders.yaml:\d+:3, at line: unknown key 'netPrise' in line, did you mean 'netPrice'\?/);
  });

  it("a reader option of another format is named against the mapping's own format", () => {
    const { mappingsDir, configDir } = configCopy();
    const file = join(mappingsDir, 'access-orders.yaml');
    writeFileSync(file, readFileSync(file, 'utf-8').replace('  format: csv\n', '  format: csv\n  records: orders\n'));
    const errors = configErrors(() => loadConfig({ configDir, mappingsDir }));
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /access-orders.yaml:\d+:3, at reader: unknown key 'records' in reader for format csv \(known keys: format, encoding, delimiter/);
  });

  it('an XML reader without records, and a target setting of another kind, are refused by the schema', () => {
    const missing = configErrors(() => parseYaml('source: x\nmatch: { folder: x }\nreader: { format: xml }\n', 'mapping', 'x.yaml'));
    assert.deepEqual(missing, ["x.yaml:3:9, at reader: reader needs 'records'"]);
    const target = configErrors(() => parseYaml('targets:\n  out: { kind: folder, path: /tmp, host: x }\n', 'gateway', 'gateway.yaml'));
    assert.match(target.join('\n'), /unknown key 'host' in targets.out for kind folder/);
  });

  it('a value with two sources, an undefined lookup and a bad date format are each reported at their line', () => {
    const { mappingsDir, configDir } = configCopy();
    const file = join(mappingsDir, 'access-orders.yaml');
    const text = readFileSync(file, 'utf-8')
      .replace('  issueDate: { column: Orderdatum }', '  issueDate: { column: Orderdatum, const: "2026-01-01" }')
      .replace('lookup: units }', 'lookup: unitz }')
      .replace('dateFormat: dd-mm-yyyy', 'dateFormat: dd-mm-jjjj');
    writeFileSync(file, text);
    const errors = configErrors(() => loadConfig({ configDir, mappingsDir }));
    assert.equal(errors.length, 3, errors.join('\n'));
    assert.match(errors.join('\n'), /access-orders.yaml:\d+:\d+, at defaults.dateFormat: date format "dd-mm-jjjj" has an unknown letter "j"/);
    assert.match(errors.join('\n'), /at invoice.issueDate: field issueDate has both column and const; give exactly one/);
    assert.match(errors.join('\n'), /at line.unitCode.lookup: lookup table 'unitz' is not defined under lookups:/);
  });

  it('a YAML syntax error is reported with its line', () => {
    assert.match(configErrors(() => parseYaml('customers:\n  a: [1, 2\n', 'customers', 'c.yaml'))[0]!, /^c.yaml:\d+:\d+: YAML syntax/);
  });

  it('check-config exits 0 on the shipped config and 1 with the problems listed', () => {
    const ok = spawnSync(process.execPath, [CLI, 'check-config'], { cwd: ROOT, encoding: 'utf-8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /configuration is valid: 2 seller\(s\), 5 customer\(s\), 6 mapping\(s\)/);
    const { configDir, mappingsDir } = configCopy();
    writeFileSync(join(configDir, 'customers.yaml'), 'unknownCustomers: rejekt\n');
    const bad = spawnSync(process.execPath, [CLI, 'check-config', '--config', configDir, '--mappings', mappingsDir], { encoding: 'utf-8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /customers.yaml:1:19, at unknownCustomers: unknown unknownCustomers 'rejekt', did you mean 'reject'\?/);
  });

  it('check-config also checks what the schemas cannot: secrets, key files, templates, the mail server, expressions on the sample', () => {
    const { configDir, mappingsDir } = configCopy();
    const gateway = readFileSync(join(configDir, 'gateway.yaml'), 'utf-8')
      .replace('server: mail-pickup', 'server: smtp')
      .replace(
        /^targets:\n/m,
        'targets:\n  smtp:\n    kind: smtp\n    host: 127.0.0.1\n    user: x\n    password: ${IGW_TEST_NOT_SET}\n  drop:\n    kind: sftp\n    host: 127.0.0.1\n    user: x\n    password: geheim\n    privateKeyFile: /nonexistent/id_ed25519\n    folder: /in\n    hostKeySha256: "SHA256:x"\n',
      );
    writeFileSync(join(configDir, 'gateway.yaml'), gateway);
    const templates = readFileSync(join(configDir, 'mail-templates.yaml'), 'utf-8').replace(
      'subject: "Factuur {{number}} van {{seller}}"',
      'subject: "Factuur {{#if number}} van {{seller}}"',
    );
    writeFileSync(join(configDir, 'mail-templates.yaml'), templates);
    const customers = readFileSync(join(configDir, 'customers.yaml'), 'utf-8')
      .replace('- { format: pdf, transport: email }', '- { format: pdf, transport: email, template: herinering }')
      // a Peppol customer whose Peppol id is nowhere
      .replace(
        /^customers:\n/m,
        'customers:\n  "88888":\n    party: { name: Zonder Peppol-id B.V. }\n    routes:\n      - { format: ubl, transport: peppol, target: ap }\n',
      );
    writeFileSync(join(configDir, 'customers.yaml'), customers);
    const mapping = join(mappingsDir, 'members-contribution.yaml');
    writeFileSync(
      mapping,
      readFileSync(mapping, 'utf-8')
        .replace(/^sample: .*$/m, `sample: ${join(ROOT, 'inbox-sample', 'members', 'contributie_2027.csv')}`)
        .replace('buyerReference: { template: "Lid {Lidnummer}" }', 'buyerReference: { expr: "($f := function($x) { $f($x) + 1 }; $f(1))" }'),
    );
    const env = { ...process.env };
    delete env['IGW_TEST_NOT_SET'];
    const r = spawnSync(process.execPath, [CLI, 'check-config', '--config', configDir, '--mappings', mappingsDir], {
      encoding: 'utf-8',
      env,
      timeout: 120_000,
    });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /targets\.smtp\.password refers to environment variable IGW_TEST_NOT_SET, which is not set/);
    assert.match(r.stderr, /targets\.drop\.privateKeyFile: \/nonexistent\/id_ed25519 does not exist or cannot be read/);
    assert.match(r.stderr, /templates\.invoice\.nl\.subject is not a valid Handlebars template/);
    assert.match(r.stderr, /template 'herinering' is not in mail-templates\.yaml/);
    assert.match(r.stderr, /members-contribution\.yaml.*on its sample: .*buyerReference: expression failed: it (ran longer|nested deeper)/);
    assert.match(r.stderr, /warning: .*targets\.drop\.password is written in the YAML/);
    assert.match(
      r.stderr,
      /warning: .*customers\.88888\.routes\.0: a Peppol route without the buyer's Peppol id; put it under customers\.88888\.party\.endpoint/,
    );
    // the service refuses to start with the same problems, before it takes a file
    const run = spawnSync(process.execPath, [CLI, 'run', '--config', configDir, '--mappings', mappingsDir, '--quiet'], {
      encoding: 'utf-8',
      env,
      timeout: 60_000,
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /IGW_TEST_NOT_SET, which is not set/);
  });
});
