import { strict as assert } from 'node:assert';
import { safeName } from '../src/util/safe-name.js';

describe('safe names for invoice numbers in files and mails', () => {
  it('a number that was already safe keeps its name (file names and Message-IDs stay as they were)', () => {
    for (const n of ['F2026-00871', 'LID2027-0001', 'a_b.c', 'lobbers.2026-00001.json-folder-1']) assert.equal(safeName(n), n);
  });

  it('every other character is written as ~ and its UTF-8 bytes, and so is a leading dot or dash', () => {
    assert.equal(safeName('1316/85'), '1316~2F85');
    assert.equal(safeName('../../x'), '~2E.~2F..~2Fx');
    assert.equal(safeName('-rf'), '~2Drf');
    assert.equal(safeName('Façture 1'), 'Fa~C3~A7ture~201');
    assert.equal(safeName('a\\b:c'), 'a~5Cb~3Ac');
  });

  it('two different numbers never share a name, also when one holds the escape itself', () => {
    const numbers = ['a/', 'a~2F', 'a_2F', 'a~7E2F', 'A/1', 'A_1', 'A-1', 'a b', 'a_b'];
    const names = numbers.map(safeName);
    assert.equal(new Set(names).size, numbers.length, names.join(' '));
  });

  it('a very long number gives a name of at most 120 characters that still tells it apart', () => {
    const long = 'X'.repeat(300);
    const a = safeName(long);
    const b = safeName(`${long}Y`);
    assert.ok(a.length <= 120 && b.length <= 120);
    assert.notEqual(a, b);
  });
});
