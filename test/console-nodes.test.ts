import { strict as assert } from 'node:assert';
import { nodeViews } from '../src/web/console-service.js';
import type { NodeRecord } from '../src/ledger/ledger.js';

describe('console: the nodes on the overview', () => {
  const node = (over: Partial<NodeRecord>): NodeRecord => ({ id: 'n', host: 'h', pid: 1, startedAt: '', heartbeatAt: '2026-12-07T10:00:00.000Z', ...over });

  it('a node is running, paused (with its reason) or silent by the age of its heartbeat on the database clock, whatever the clock of the machine asking', () => {
    const farFuture = Date.parse('2030-01-01T00:00:00Z');
    const views = nodeViews(
      [
        node({ id: 'a', heartbeatAgeMs: 1_200 }),
        node({ id: 'b', heartbeatAgeMs: 900, paused: 'disk full' }),
        node({ id: 'c', heartbeatAgeMs: 61_000 }),
        node({ id: 'd', heartbeatAgeMs: 500, clockOffsetMs: -90_000 }),
      ],
      60_000,
      farFuture,
    );
    assert.deepEqual(
      views.map((v) => [v.id, v.state, v.heardFromSecondsAgo, v.paused, v.clockAheadSeconds]),
      [
        ['a', 'running', 1, undefined, undefined],
        ['b', 'paused', 1, 'disk full', undefined],
        ['c', 'silent', 61, undefined, undefined],
        ['d', 'running', 1, undefined, 90],
      ],
    );
  });
});
