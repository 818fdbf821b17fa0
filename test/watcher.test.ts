import { strict as assert } from 'node:assert';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import Transport from 'winston-transport';
import { serviceSettings } from '../src/config/load.js';
import { InboxShare } from '../src/service/inbox-share.js';
import { InboxWatcher, type ReadyFile } from '../src/service/watcher.js';
import { tempDir } from './helpers/paths.js';
import { waitFor } from './helpers/service.js';

/** A logger whose messages the test reads. */
function recordingLogger(): { log: winston.Logger; messages: string[] } {
  const messages: string[] = [];
  const sink = new (class extends Transport {
    override log(info: { message: string }, done: () => void): void {
      messages.push(info.message);
      done();
    }
  })();
  return { log: winston.createLogger({ level: 'debug', transports: [sink] }), messages };
}

describe('the inbox watcher in a burst', function () {
  this.timeout(30_000);

  it('stays on scanning while files it handed on wait for their claim, and offers each of them once', async () => {
    const root = tempDir('igw-watch-');
    const inbox = join(root, 'inbox');
    const staging = join(root, 'staging');
    mkdirSync(join(inbox, 'members'), { recursive: true });
    mkdirSync(staging);
    const settings = serviceSettings({ inbox, watch: { stableFor: '0ms', rescanEvery: '30s' } }, root);
    const { log, messages } = recordingLogger();
    // the claim queue: files handed on stay "offered" until the test claims them
    const offered = new Set<string>();
    let offers = 0;
    let offeredAgain = 0;
    const watcher = new InboxWatcher(
      settings,
      [{ folder: 'members', doneMarkers: false }],
      (file: ReadyFile) => {
        offers++;
        if (offered.has(file.path)) offeredAgain++;
        offered.add(file.path);
      },
      log,
      offered,
    );
    await watcher.start();
    try {
      for (let i = 0; i < 300; i++) writeFileSync(join(staging, `f${i}.csv`), 'x');
      for (let i = 0; i < 300; i++) renameSync(join(staging, `f${i}.csv`), join(inbox, 'members', `f${i}.csv`));
      await waitFor('every file offered', () => offered.size === 300);
      await waitFor('scanning instead of events', () => messages.some((m) => m.startsWith('many files at once')));
      // the inbox is rescanned every second meanwhile (events are off: only a rescan finds a file dropped now);
      // the waiting files are neither offered again nor a reason to go back to events
      writeFileSync(join(staging, 'late.csv'), 'x');
      renameSync(join(staging, 'late.csv'), join(inbox, 'members', 'late.csv'));
      await waitFor('a rescan found the file dropped during the burst', () => offered.has(join(inbox, 'members', 'late.csv')));
      assert.equal(offers, 301);
      assert.equal(offeredAgain, 0, 'a file waiting for its claim is not offered again');
      assert.ok(!messages.includes('backlog done: watching events again'), 'the backlog counts the files waiting for their claim');
      // the claims go through (the files leave the inbox): the backlog is done
      mkdirSync(join(root, 'claimed'));
      for (const path of offered) renameSync(path, join(root, 'claimed', path.split('/').pop()!));
      offered.clear();
      await waitFor('events again', () => messages.includes('backlog done: watching events again'));
    } finally {
      await watcher.stop();
    }
  });
});

describe('several nodes on one inbox folder', function () {
  this.timeout(30_000);
  const node = (id: string, heartbeatAgeMs = 100, paused?: string) => ({
    id,
    host: 'h',
    pid: 1,
    startedAt: '',
    heartbeatAt: '',
    heartbeatAgeMs,
    ...(paused ? { paused } : {}),
  });

  it('gives each file one first taker that every node agrees on, evenly, and moves only a leaving node’s files', () => {
    const ids = ['node-a', 'node-b', 'node-c'];
    const shares = ids.map((id) => new InboxShare(id, 6_000));
    for (const share of shares) share.update(ids.map((id) => node(id)));
    const names = Array.from({ length: 3000 }, (_, i) => `contributie_${i}.csv`);
    const ownerOf = new Map<string, string>();
    for (const name of names) {
      const takers = ids.filter((_, i) => shares[i]!.mine(name));
      assert.equal(takers.length, 1, `${name}: ${takers.join(', ')}`);
      ownerOf.set(name, takers[0]!);
    }
    for (const id of ids) {
      const count = names.filter((n) => ownerOf.get(n) === id).length;
      assert.ok(count > 800 && count < 1200, `${id} takes ${count} of 3000 first`);
    }
    // node-c stops renewing: the other two share the folder, and node-a and node-b keep the files they had
    const [a, b] = shares;
    for (const share of [a!, b!]) share.update([node('node-a'), node('node-b'), node('node-c', 60_000)]);
    assert.deepEqual(a!.sharing, ['node-a', 'node-b']);
    for (const name of names) {
      const takers = ['node-a', 'node-b'].filter((_, i) => [a!, b!][i]!.mine(name));
      assert.equal(takers.length, 1);
      if (ownerOf.get(name) !== 'node-c') assert.equal(takers[0], ownerOf.get(name), `${name} moved though its node stayed`);
    }
    // a paused node (its disk is full) is given nothing; a node that is alone, or not listed yet, takes everything
    a!.update([node('node-a'), node('node-b', 100, 'disk full')]);
    assert.ok(names.every((n) => a!.mine(n)));
    const newcomer = new InboxShare('node-d', 6_000);
    newcomer.update(ids.map((id) => node(id)));
    assert.ok(names.every((n) => newcomer.mine(n)));
  });

  it('offers a node its own files, another node’s once that node left, and a late owner’s as far as it has room', async () => {
    const root = tempDir('igw-share-');
    const inbox = join(root, 'inbox');
    mkdirSync(join(inbox, 'members'), { recursive: true });
    const settings = serviceSettings({ inbox, watch: { mode: 'scan', stableFor: '0ms', rescanEvery: '200ms' } }, root);
    const { log } = recordingLogger();
    const share = new InboxShare('node-a', 6_000);
    share.update([node('node-a'), node('node-b')]);
    const offered = new Set<string>();
    const offers: string[] = [];
    // the claim queue's limit: room is what it has left (files offered stay there, the test claims none)
    let limit = 1000;
    let sweeps = 0;
    const moreSweeps = async (n: number): Promise<void> => {
      const from = sweeps;
      await waitFor(`${n} more sweeps`, () => sweeps >= from + n);
    };
    let othersAfterMs = 60_000;
    const watcher = new InboxWatcher(
      settings,
      [{ folder: 'members', doneMarkers: false }],
      (file: ReadyFile) => {
        offers.push(file.path.split('/').pop()!);
        offered.add(file.path);
      },
      log,
      offered,
      {
        mine: (name) => share.mine(name),
        get generation() {
          return share.generation;
        },
        get othersAfterMs() {
          return othersAfterMs;
        },
        // asked once a sweep: the test counts sweeps by it
        room: () => {
          sweeps++;
          return limit - offered.size;
        },
        sweepEveryMs: 100,
      },
    );
    const names = Array.from({ length: 40 }, (_, i) => `f${i}.csv`);
    const own = names.filter((n) => share.mine(n));
    assert.ok(own.length > 5 && own.length < 35, `node-a takes ${own.length} of 40`);
    for (const name of names) writeFileSync(join(inbox, 'members', name), 'x');
    await watcher.start();
    try {
      await waitFor('node-a’s own files offered', () => offers.length === own.length);
      // a few sweeps later, node-b's files (node-b is alive, not late) are still left to it
      await moreSweeps(3);
      assert.deepEqual([...offers].sort(), [...own].sort());
      // node-b is late with its files: node-a helps with as many as it has room for, each once
      limit = offered.size + 3;
      othersAfterMs = 0;
      await waitFor('three of node-b’s files offered', () => offers.length === own.length + 3);
      await moreSweeps(3);
      assert.equal(offers.length, own.length + 3, 'no more than the room');
      // node-b is gone: every file left is node-a's, each offered once
      share.update([node('node-a'), node('node-b', 60_000)]);
      await waitFor('every file offered', () => offers.length === names.length);
      assert.deepEqual([...offers].sort(), [...names].sort());
    } finally {
      await watcher.stop();
    }
  });
});
