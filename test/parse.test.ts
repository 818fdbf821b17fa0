import { strict as assert } from 'node:assert';
import { parseDate } from '../src/mapping/parse-date.js';
import { parseNumber } from '../src/mapping/parse-number.js';

const num = (raw: string, f: 'nl' | 'en' | 'plain') => {
  const r = parseNumber(raw, f);
  return 'value' in r ? r.value : `ERR ${r.error}`;
};

describe('number formats', () => {
  it('reads Dutch numbers exactly', () => {
    assert.equal(num('1.249,95', 'nl'), '1249.95');
    assert.equal(num('1249,95', 'nl'), '1249.95');
    assert.equal(num('10.000', 'nl'), '10000');
    assert.equal(num('0,0125', 'nl'), '0.0125');
    assert.equal(num('-12,50', 'nl'), '-12.50');
    assert.equal(num('12,50-', 'nl'), '-12.50');
    assert.equal(num('€ 1.000.000,01', 'nl'), '1000000.01');
  });
  it('reads English and plain numbers', () => {
    assert.equal(num('1,249.95', 'en'), '1249.95');
    assert.equal(num('1249.95', 'plain'), '1249.95');
    assert.equal(num('.5', 'plain'), '0.5');
  });
  it('refuses malformed numbers with a hint', () => {
    assert.match(num('12.50', 'nl'), /decimal comma/);
    assert.match(num('12,50', 'plain'), /number: nl/);
    assert.match(num('1.24.9', 'nl'), /not a number/);
    assert.match(num('abc', 'nl'), /not a number: "abc"/);
    assert.match(num('', 'nl'), /not a number/);
  });
});

describe('date formats', () => {
  const date = (raw: string, f: string) => {
    const r = parseDate(raw, f);
    return 'value' in r ? r.value : `ERR ${r.error}`;
  };
  it('reads the usual legacy formats', () => {
    assert.equal(date('30-11-2026', 'dd-mm-yyyy'), '2026-11-30');
    assert.equal(date('1-2-2026', 'd-m-yyyy'), '2026-02-01');
    assert.equal(date('20261130', 'yyyymmdd'), '2026-11-30');
    assert.equal(date('30.11.26', 'dd.mm.yy'), '2026-11-30');
    assert.equal(date('2026-11-28T14:12:03+01:00', 'yyyy-mm-dd'), '2026-11-28');
  });
  it('refuses dates that do not exist', () => {
    assert.match(date('31-02-2026', 'dd-mm-yyyy'), /does not exist/);
    assert.match(date('29-02-2027', 'dd-mm-yyyy'), /does not exist/);
    assert.equal(date('29-02-2028', 'dd-mm-yyyy'), '2028-02-29');
    assert.match(date('2026-11-30', 'dd-mm-yyyy'), /not a date in the format dd-mm-yyyy/);
  });
});
