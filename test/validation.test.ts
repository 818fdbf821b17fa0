import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import { standardsHome } from '../src/validation/artefacts.js';
import { CREDIT_NOTE_XSD, INVOICE_XSD, profileOf, type Finding, type ProfileName, type ValidationEngine } from '../src/validation/engine.js';
import { EnvironmentError } from '../src/errors.js';
import { JvmEngine } from '../src/validation/jvm-engine.js';
import { SaxonJsEngine } from '../src/validation/saxonjs-engine.js';
import { SaxonJsPool } from '../src/validation/saxonjs-pool.js';
import { CLI, tempDir } from './helpers/paths.js';
import { exampleDocuments, unitTests, type UnitTest } from './helpers/standards.js';

const require = createRequire(import.meta.url);
const { validateXML } = require('xsd-schema-validator') as { validateXML(xml: string | { file: string }, schema: string): Promise<{ valid: boolean }> };

/**
 * The engine comparison runs the whole corpus twice (minutes on two cores): by default a fixed
 * sample of one document in eight, all of them with IGW_FULL_CORPUS=1 (`npm run test:engines`).
 */
const FULL_CORPUS = process.env['IGW_FULL_CORPUS'] === '1';
const sampled = <T>(items: T[]): T[] => (FULL_CORPUS ? items : items.filter((_, i) => i % 8 === 0));

/** The documented SaxonJS big-integer `mod` bug (German IBAN checks), the only expected difference. */
const SAXONJS_KNOWN = new Set(['DE-R-019', 'DE-R-020']);

/** Runs unit tests; returns the number of checks (expectations) that held and those that did not. */
async function runUnitTests(engine: ValidationEngine, tests: UnitTest[], profile: ProfileName): Promise<{ passed: number; checks: number; failed: string[] }> {
  const results = await Promise.all(tests.map((t) => engine.validate(t.xml, profile, { rulesOnly: true })));
  const failed: string[] = [];
  let checks = 0;
  tests.forEach((t, i) => {
    for (const e of t.expectations) {
      checks++;
      const times = results[i]!.filter((f: Finding) => f.rule === e.rule).length;
      const ok = e.expect === 'success' ? times === 0 : e.times !== undefined ? times === e.times : times > 0;
      if (!ok) failed.push(`${t.file}#${t.index} expected ${e.expect} ${e.rule}${e.times ? ` ×${e.times}` : ''}, fired ${times}×`);
    }
  });
  return { passed: checks - failed.length, checks, failed };
}

describe('validation with the official artefacts', function () {
  this.timeout(600_000);
  let jvm: JvmEngine;
  let saxonjs: SaxonJsEngine;
  const en16931Tests = [...unitTests('en16931/test/Invoice-unit-UBL'), ...unitTests('en16931/test/CreditNote-unit-UBL')];
  const peppolTests = ['DE', 'DK', 'GR', 'IT', 'NL', 'NO', 'PEPPOL', 'SE'].flatMap((c) => unitTests(`peppol-bis-3/rules/unit-UBL-${c}`));

  before(() => {
    jvm = new JvmEngine({ size: 2 });
    saxonjs = new SaxonJsEngine();
  });
  after(async () => {
    await jvm.close();
    await saxonjs.close();
  });

  it('has the 1,131 EN 16931 unit tests and the Peppol unit tests to run', () => {
    assert.equal(en16931Tests.length, 1131);
    assert.ok(peppolTests.length >= 500, `${peppolTests.length} Peppol unit tests`);
  });

  it('Saxon-HE (JVM): every EN 16931 unit test gives its expected verdict', async () => {
    const r = await runUnitTests(jvm, en16931Tests, 'en16931');
    assert.deepEqual(r.failed, []);
    console.log(`      EN 16931 unit tests on Saxon-HE: ${r.passed}/${r.checks} checks in ${en16931Tests.length} documents`);
  });

  it('Saxon-HE (JVM): every Peppol unit test gives its expected verdict', async () => {
    const r = await runUnitTests(jvm, peppolTests, 'peppol');
    assert.deepEqual(r.failed, []);
    console.log(`      Peppol unit tests on Saxon-HE: ${r.passed}/${r.checks} checks in ${peppolTests.length} documents`);
  });

  it(`SaxonJS: the same verdicts, except the documented big-integer case (${FULL_CORPUS ? 'every unit test' : 'a sample of one in eight'})`, async () => {
    const en = await runUnitTests(saxonjs, sampled(en16931Tests), 'en16931');
    assert.deepEqual(en.failed, []);
    const peppol = await runUnitTests(saxonjs, sampled(peppolTests), 'peppol');
    const unexpected = peppol.failed.filter((f) => ![...SAXONJS_KNOWN].some((rule) => f.includes(` ${rule},`)));
    assert.deepEqual(unexpected, []);
    assert.ok(peppol.failed.length <= 1, `known SaxonJS failures: ${peppol.failed.join(', ')}`);
    console.log(
      `      SaxonJS: EN 16931 ${en.passed}/${en.checks}, Peppol ${peppol.passed}/${peppol.checks} (${peppol.failed.join(', ') || 'no known-bug case hit'})`,
    );
  });

  it(`both engines give the same verdict on ${FULL_CORPUS ? 'every' : 'a sample of one in eight'} official example document`, async () => {
    const differ: string[] = [];
    let invalid = 0;
    const documents = sampled(exampleDocuments());
    for (const file of documents) {
      const xml = readFileSync(file, 'utf-8');
      const profile = profileOf(xml);
      const [a, b] = await Promise.all([jvm.validate(xml, profile), saxonjs.validate(xml, profile)]);
      const va = !a.some((f) => f.severity === 'fatal');
      const vb = !b.some((f) => f.severity === 'fatal');
      if (!va) invalid++;
      if (va !== vb) differ.push(`${basename(file)}: jvm ${va ? 'valid' : 'invalid'}, saxon-js ${vb ? 'valid' : 'invalid'}`);
    }
    assert.deepEqual(differ, []);
    console.log(`      ${documents.length} example documents, ${invalid} invalid (as their names or the README say), same verdict on both engines`);
  });

  it(`each engine's XSD verdict agrees with xsd-schema-validator (the oracle) on ${FULL_CORPUS ? 'every' : 'a sample of one in eight'} example document`, async () => {
    const differ: string[] = [];
    const files = sampled(exampleDocuments());
    for (let i = 0; i < files.length; i += 4) {
      await Promise.all(
        files.slice(i, i + 4).map(async (file) => {
          const xml = readFileSync(file, 'utf-8');
          const schema = join(standardsHome(), /<(?:\w+:)?CreditNote[\s>]/.test(xml.slice(0, 3000)) ? CREDIT_NOTE_XSD : INVOICE_XSD);
          const oracle = await validateXML({ file }, schema).then(
            (r) => r.valid,
            () => false,
          );
          const xsdOnly = async (engine: ValidationEngine) => !(await engine.validate(xml, 'en16931')).some((f) => f.source === 'xsd');
          const [j, s] = await Promise.all([xsdOnly(jvm), xsdOnly(saxonjs)]);
          if (j !== oracle || s !== oracle) differ.push(`${basename(file)}: oracle ${oracle}, jvm ${j}, saxon-js ${s}`);
        }),
      );
    }
    assert.deepEqual(differ, []);
  });

  it('a JVM helper killed in the middle of a batch: the batch completes, every document validated once', async () => {
    const engine = new JvmEngine({ size: 2 });
    try {
      const xml = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
      const bad = xml.replace('<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="EUR">9');
      await engine.validate(xml, 'peppol'); // warm: stylesheets compiled
      const batch = Array.from({ length: 60 }, (_, i) => engine.validate(i % 2 ? bad : xml, 'peppol'));
      await new Promise((r) => setTimeout(r, 30));
      process.kill(engine.pids()[0]!, 'SIGKILL');
      const results = await Promise.all(batch);
      assert.equal(results.length, 60);
      results.forEach((findings, i) => {
        const fired = findings.map((f) => f.rule);
        if (i % 2) assert.ok(fired.includes('BR-CO-16'), `document ${i} validated: ${fired.join(',')}`);
        else
          assert.deepEqual(
            fired.filter((r) => r !== 'ENGINE'),
            [],
            `document ${i}`,
          );
      });
    } finally {
      await engine.close();
    }
  });

  it('helpers killed before they said READY: every waiting request is answered by their successors (none stranded)', async () => {
    const engine = new JvmEngine({ size: 2 });
    try {
      const xml = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
      const batch = Array.from({ length: 4 }, () => engine.validate(xml, 'peppol'));
      // both JVMs die at once, long before they could have loaded the schema
      for (const pid of engine.pids()) process.kill(pid, 'SIGKILL');
      const results = await Promise.all(batch);
      for (const findings of results)
        assert.deepEqual(
          findings.filter((f) => f.severity === 'fatal'),
          [],
        );
    } finally {
      await engine.close();
    }
  });

  it('helpers live in their own process group (a Ctrl+C to the terminal does not reach them) and die with close()', async () => {
    const engine = new JvmEngine({ size: 1 });
    const pid = engine.pids()[0]!;
    const group = (p: number) => Number(spawnSync('ps', ['-o', 'pgid=', '-p', String(p)], { encoding: 'utf-8' }).stdout.trim());
    assert.notEqual(group(pid), group(process.pid));
    assert.equal(group(pid), pid, 'the helper leads its own group');
    await engine.close(200);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });

  it('a helper that stops answering is replaced after the time limit; a document that fails twice is the environment, not the sender', async () => {
    // long enough for a cold JVM to boot on a busy machine (loading schemas and compiling say BUSY, so they do not count)
    const engine = new JvmEngine({ size: 1, requestTimeoutMs: 8_000 });
    try {
      const xml = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
      await engine.validate(xml, 'peppol');
      // frozen once: the request is sent again to a fresh helper and answered
      const first = engine.validate(xml, 'peppol');
      process.kill(engine.pids()[0]!, 'SIGSTOP');
      assert.deepEqual(
        (await first).filter((f) => f.severity === 'fatal'),
        [],
      );
      // frozen twice on the same request: refused as a broken environment
      const second = engine.validate(xml, 'peppol');
      process.kill(engine.pids()[0]!, 'SIGSTOP');
      const frozenAgain = setInterval(() => {
        const pid = engine.pids()[0]!;
        if (pid > 0) process.kill(pid, 'SIGSTOP');
      }, 100);
      try {
        await assert.rejects(second, (err: Error) => err instanceof EnvironmentError && /twice/.test(err.message));
      } finally {
        clearInterval(frozenAgain);
      }
    } finally {
      await engine.close(200);
    }
  });

  it('SaxonJS in worker threads (the fallback engine) gives the same findings as in the main thread', async () => {
    const pool = new SaxonJsPool(2);
    try {
      const docs = exampleDocuments()
        .filter((f) => f.includes('peppol-bis-3/rules/examples'))
        .slice(0, 4)
        .map((f) => readFileSync(f, 'utf-8'));
      docs.push(docs[0]!.replace('<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="EUR">9'));
      const [inPool, inThread] = await Promise.all([
        Promise.all(docs.map((d) => pool.validate(d, 'peppol'))),
        Promise.all(docs.map((d) => saxonjs.validate(d, 'peppol'))),
      ]);
      assert.deepEqual(
        inPool.map((f) => f.map((x) => x.rule)),
        inThread.map((f) => f.map((x) => x.rule)),
      );
      assert.ok(inPool[inPool.length - 1]!.some((f) => f.rule === 'BR-CO-16'));
    } finally {
      await pool.close();
    }
  });

  it('validate command: a report per file, --json, exit codes 0 valid, 1 invalid, 2 could not validate', () => {
    const dir = tempDir();
    const good = join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml');
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, readFileSync(good, 'utf-8').replace('<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="EUR">9'));
    const broken = join(dir, 'broken.xml');
    writeFileSync(broken, '<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "x">\n<Invoice/>');
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'validate', ...args], { encoding: 'utf-8' });
    const ok = run(good);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /base-example.xml: VALID \(0 fatal/);
    // issued in 2017: the oldest installed Peppol release; a release can also be named
    assert.match(ok.stdout, /release 3\.0\.19 \(UBL 2\.1 XSD; Peppol BIS Billing 3\.0\.19/);
    assert.match(run(good, '--release', '3.0.21').stdout, /release 3\.0\.21 \(UBL 2\.1 XSD; Peppol BIS Billing 3\.0\.21/);
    const invalid = run(bad, '--json');
    assert.equal(invalid.status, 1);
    const report = JSON.parse(invalid.stdout) as { profile: string; valid: boolean; findings: Finding[] };
    assert.equal(report.profile, 'peppol');
    assert.ok(report.findings.some((f) => f.rule === 'BR-CO-16' && f.severity === 'fatal' && f.location === '/Invoice[1]/LegalMonetaryTotal[1]'));
    assert.equal(run(broken).status, 2);
  });

  it('validate command: the rules come from the whole document, so a 6 KB extension before CustomizationID does not hide them', () => {
    const dir = tempDir();
    const nlcius = readFileSync(join(standardsHome(), 'nlcius/examples/SI-UBL-2.0/SI-UBL-2.0_BR-NL-10_error_empty.xml'), 'utf-8');
    // an extension as signing tools write them, with an IssueDate of its own inside (not the header's)
    const extension =
      '<ext:UBLExtensions xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"><ext:UBLExtension><ext:ExtensionContent>' +
      `<x:Signed xmlns:x="urn:example:signature"><cbc:IssueDate>2030-01-01</cbc:IssueDate><x:Value>${'A'.repeat(6_000)}</x:Value></x:Signed>` +
      '</ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>';
    const file = join(dir, 'extended.xml');
    writeFileSync(file, nlcius.replace(/(<Invoice[^>]*>)/, `$1\n    ${extension}`));
    const result = spawnSync(process.execPath, [CLI, 'validate', '--json', file], { encoding: 'utf-8' });
    const report = JSON.parse(result.stdout) as { profile: string; valid: boolean; release: string; findings: Finding[] };
    assert.equal(report.profile, 'nlcius');
    assert.equal(report.valid, false);
    assert.ok(
      report.findings.some((f) => f.rule === 'BR-NL-10' && f.severity === 'fatal'),
      JSON.stringify(report.findings),
    );
    assert.equal(result.status, 1);
  });
});
