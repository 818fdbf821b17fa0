import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCii, XRECHNUNG_GUIDELINE } from '../src/formats/cii/write.js';
import { writeUbl } from '../src/formats/ubl/write.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { createLogger } from '../src/observability/log.js';
import { readCii } from '../src/readers/cii.js';
import { readUbl } from '../src/readers/ubl.js';
import { standardsHome } from '../src/validation/artefacts.js';
import { UblGate } from '../src/validation/gate.js';
import { profileOf } from '../src/validation/engine.js';
import { JvmEngine } from '../src/validation/jvm-engine.js';
import { businessTerms, termsDiff } from './helpers/business-terms.js';
import { xmuteVariants } from './helpers/xmute.js';

const INSTANCES = join(standardsHome(), 'xrechnung/test/instances');

describe('XRechnung: the KoSIT rules, in UBL and CII', function () {
  this.timeout(600_000);
  let engine: JvmEngine;
  before(() => {
    engine = new JvmEngine({ size: 2 });
  });
  after(async () => {
    await engine.close();
  });

  it('every variant of the KoSIT test instances (identity, remove, empty, code) gives the verdict the suite names', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const folder of ['ubl-inv', 'ubl-cn', 'cii']) {
      for (const name of readdirSync(join(INSTANCES, folder)).filter((n) => n.endsWith('.xml'))) {
        const variants = xmuteVariants(readFileSync(join(INSTANCES, folder, name), 'utf-8'));
        await Promise.all(
          variants.map(async (v) => {
            // the Peppol rules some instances name belong to the Peppol configuration, not to the KoSIT rules
            const rules = v.rules.filter((r) => !r.startsWith('PEPPOL-'));
            if (!rules.length) return;
            // like the official unit tests: the rules alone (a variant may take out what the schema needs)
            const findings = await engine.validate(v.xml, 'xrechnung', { rulesOnly: true });
            for (const rule of rules) {
              const fired = findings.some((f) => f.rule === rule);
              if (fired !== (v.expect === 'invalid')) failures.push(`${folder}/${name} ${v.id}: ${rule} ${fired ? 'fired' : 'did not fire'}`);
            }
            checked++;
          }),
        );
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(checked > 900, `${checked} variants`);
    console.log(`      KoSIT suite: ${checked} variants, each with the verdict the suite names`);
  });

  it('an XRechnung passed through goes out as XRechnung UBL and CII that pass the KoSIT rules, with every business term; without a Leitweg-ID it is refused (BR-DE-15)', async () => {
    const xml = readFileSync(join(INSTANCES, 'ubl-inv/ubl-inv-br-de-15-test.xml'), 'utf-8').replace(/<\?xmute[\s\S]*?\?>/g, '');
    assert.equal(profileOf(xml), 'xrechnung');
    const invoice = readUbl(xml, { file: 'xrechnung.xml' });
    const ubl = writeUbl(invoice, { profile: 'xrechnung' });
    const cii = writeCii(invoice, { guideline: XRECHNUNG_GUIDELINE });
    for (const [syntax, document] of [
      ['UBL', ubl],
      ['CII', cii],
    ] as const) {
      assert.equal(profileOf(document), 'xrechnung', `${syntax} names XRechnung 3.0`);
      const fatal = (await engine.validate(document, 'xrechnung')).filter((f) => f.severity === 'fatal');
      assert.deepEqual(fatal, [], `${syntax}: ${JSON.stringify(fatal)}`);
    }
    assert.deepEqual(termsDiff(businessTerms(xml), businessTerms(ubl)), { lost: [], added: [] });
    assert.deepEqual(termsDiff(businessTerms(cii), businessTerms(writeCii(readCii(cii, { file: 'x.xml' }), { guideline: XRECHNUNG_GUIDELINE }))), {
      lost: [],
      added: [],
    });
    // the Leitweg-ID (BT-10) is what German public buyers route by: an invoice without it is refused before numbering
    const gate = new UblGate(createLogger({ level: 'error', console: false }), undefined, { engine: 'jvm' });
    try {
      const route = (format: string) => ({ routeId: `r-${format}`, format, transport: 'folder', target: 'out', options: {} }) as never;
      const withoutLeitwegId: CalculatedInvoice = { ...invoice, buyerReference: undefined };
      for (const format of ['xrechnung-ubl', 'xrechnung-cii']) {
        assert.deepEqual(await gate.check(invoice, [route(format)]), [], format);
        const errors = await gate.check(withoutLeitwegId, [route(format)]);
        assert.ok(
          errors.some((e) => e.code === 'BR-DE-15'),
          `${format}: ${errors.map((e) => e.code).join(', ')}`,
        );
      }
    } finally {
      await gate.close();
    }
  });
});
