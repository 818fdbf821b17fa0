import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { processEnvironment } from '../environment.js';
import { errorMessage } from '../errors.js';

/** How often and how patiently a download is tried (tests shorten the pause). */
export interface DownloadPolicy {
  attempts: number;
  /** the first pause between attempts; it doubles each time */
  pauseMs: number;
  /** the longest a whole download may take */
  timeoutMs: number;
}

/** The patience of a download unless the caller says otherwise (IGW_DOWNLOAD_* shorten it in tests). */
export function defaultDownloadPolicy(): DownloadPolicy {
  return { ...processEnvironment().download, timeoutMs: 10 * 60_000 };
}

/** The server answered that the address does not exist (404/410): trying again will not help. */
export class NotFoundError extends Error {}

/**
 * The host's name could not be looked up: this machine has no internet or no name server. It fails
 * at once, and trying again in a few seconds does not help, so it is not retried.
 */
export class LookupFailedError extends Error {
  constructor(
    readonly host: string,
    code: string,
  ) {
    super(`the name ${host} cannot be looked up (${code}): this machine has no internet or no name server`);
  }
}

const LOOKUP_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);

/**
 * Downloads a URL to a file. An interrupted or failed transfer (network error, 5xx, fewer bytes
 * than announced) is tried again after a growing pause; a 404 is not. `onRetry` hears each retry.
 */
export async function download(url: string, target: string, policy = defaultDownloadPolicy(), onRetry?: (why: string) => void): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(url, target, policy.timeoutMs);
    } catch (err) {
      await rm(target, { force: true });
      if (err instanceof NotFoundError || err instanceof LookupFailedError || attempt >= policy.attempts) throw err;
      onRetry?.(`${errorMessage(err)}; trying again (attempt ${attempt + 1} of ${policy.attempts})`);
      await sleep(policy.pauseMs * 2 ** (attempt - 1));
    }
  }
}

async function downloadOnce(url: string, target: string, timeoutMs: number): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' }).catch((err: unknown) => {
    // fetch says only "fetch failed"; the reason (ENOTFOUND, ECONNREFUSED, a certificate) is its cause
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code && LOOKUP_FAILURES.has(cause.code)) throw new LookupFailedError(new URL(url).hostname, cause.code);
    throw new Error(`${errorMessage(err)}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
  });
  if (response.status === 404 || response.status === 410) throw new NotFoundError(`HTTP ${response.status}`);
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  const announced = Number(response.headers.get('content-length') ?? NaN);
  let received = 0;
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => (received += chunk.length));
  await pipeline(body, createWriteStream(target));
  if (Number.isFinite(announced) && received !== announced) throw new Error(`the transfer stopped after ${received} of ${announced} bytes`);
  return received;
}
