import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogFileTransport } from '../src/observability/log-file.js';
import { readable } from '../src/observability/log.js';
import { tempDir } from './helpers/paths.js';

describe('log lines', () => {
  it('a line break stays a line break on the console, the lines after it indented; other control characters are escaped', () => {
    assert.equal(readable('first\nsecond'), 'first\n      second');
    assert.equal(readable('a\r\nb'), 'a\n      b');
    // a name cannot recolour the console or pass for a line of its own
    assert.equal(readable('x\u001b[31my\u0007'), 'x\\x1b[31my\\x07');
  });

  it('the log file is rotated by size, the newest under its own name (gateway.log, gateway1.log, ...), at most maxFiles kept', () => {
    const dir = tempDir('igw-log-');
    const file = join(dir, 'gateway.log');
    const transport = new LogFileTransport(file, 200, 3);
    for (let i = 0; i < 30; i++) transport.log({ [Symbol.for('message')]: JSON.stringify({ message: `line ${i}`, pad: 'x'.repeat(40) }) }, () => undefined);
    transport.close();
    assert.deepEqual(readdirSync(dir).sort(), ['gateway.log', 'gateway1.log', 'gateway2.log']);
    const newest = readFileSync(file, 'utf-8').trim().split('\n');
    assert.match(newest[newest.length - 1]!, /line 29/);
    for (const name of readdirSync(dir)) for (const line of readFileSync(join(dir, name), 'utf-8').trim().split('\n')) JSON.parse(line);
  });
});
