import { serveRequests } from '../../src/workers/pool.js';

/** A worker for the pool's tests: echoes, fails on "fail", and dies on "die". */
serveRequests<string, string>(async (payload) => {
  if (payload === 'fail') throw new Error('asked to fail');
  if (payload === 'die') process.exit(3);
  await new Promise((r) => setTimeout(r, 20));
  return { result: `echo ${payload}` };
});
