import { strict as assert } from 'node:assert';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import Transport from 'winston-transport';
import { serviceSettings } from '../src/config/load.js';
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
