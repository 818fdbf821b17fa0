import { lstat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { filesOpenForWriting } from '../util/writers.js';
import type { GatewayConfig, ServiceSettings } from '../config/load.js';
import { failureKind, GatewayError, InternalError, LeaseLostError, MappingError } from '../errors.js';
import { leaseLost } from '../ledger/rows.js';
import type { FileRecord, IssueRequest, IssueResult, Ledger } from '../ledger/ledger.js';
import { businessKeyOf, orderKeyOf } from '../ledger/keys.js';
import { isCreditNote, type CalculatedInvoice } from '../model/invoice.js';
import { errorReportJson, renderErrorReport, type RejectedItem } from '../report/error-report.js';
import { Folders, freeReportBase, hashFile, moveInto, sidecar, writeBeside, writeErrorReports } from './folders.js';
import type { Issuer } from './issuing.js';
import type { Logger } from '../observability/log.js';
import { prepareFile, type PrepareOptions, type PreparedInvoice } from './prepare.js';
import { own } from '../util/own.js';

/** Invoices kept in memory between the check pass and the issue pass; larger files are read twice. */
const KEEP_IN_MEMORY = 2000;
/** Invoices stored per ledger transaction. */
const ISSUE_BATCH = 250;
/** Rejected invoices listed in full in a report (the count is always exact). */
const REPORT_LIMIT = 1000;
/** Rejected invoices of one file logged one by one; the rest are summed up in one line. */
const LOG_REJECTED_LIMIT = 100;

/** The number format for an invoice: the seller's series for its kind, else the default. */
export function numberFormatFor(invoice: CalculatedInvoice, settings: ServiceSettings): string {
  const ownSeries = own(settings.numbering.sellers, invoice.meta.sellerKey) ?? {};
  const base = settings.numbering.default;
  if (invoice.kind === 'quote') return ownSeries.quote ?? base.quote;
  if (isCreditNote(invoice)) return ownSeries.creditNote || base.creditNote || ownSeries.invoice || base.invoice;
  return ownSeries.invoice ?? base.invoice;
}

/** A line of the receipt written next to the archived file. */
interface ReceiptInvoice {
  key: string;
  number?: string;
  state: string;
  payable: string;
  deliveries: string[];
}

/** What became of one file, for the caller's log and tests. */
export interface FileOutcome {
  state: 'done' | 'partial' | 'error';
  issued: number;
  held: number;
  rejected: number;
  finalPath: string;
  /** the error report for people, when something was rejected */
  reportPath?: string;
}

/** What a file looked like when it was read. */
interface Fingerprint {
  size: number;
  mtimeMs: number;
  /** SHA-256 of its content */
  hash: string;
}

async function changedSince(path: string, seen: Fingerprint): Promise<boolean> {
  const info = await lstat(path);
  return info.size !== seen.size || info.mtimeMs !== seen.mtimeMs;
}

/**
 * The file grew or changed after it was taken: its writer paused longer than stableFor. Nothing
 * of it is numbered; it is taken up again once it has stayed still (not the sender's fault, not
 * the environment's: the intake goes on).
 */
export class FileStillWrittenError extends GatewayError {}

/** Takes a claimed file through check, numbering and storage, then archives it or files it as an error. */
export class FileProcessor {
  /** files found still being written, as they were then: taken once they stay so */
  private readonly lastSeen = new Map<number, Fingerprint>();
  /** files moved to archive/ or error/ whose finish the ledger could not record yet */
  private readonly unrecorded = new Map<number, { write: () => Promise<void>; outcome: FileOutcome }>();
  constructor(
    private readonly config: GatewayConfig,
    private readonly ledger: Ledger,
    private readonly folders: Folders,
    private readonly log: Logger,
    private readonly issuer: Issuer,
    private readonly onIssued: () => void = () => undefined,
    /** how a file's invoices are read and mapped (the service runs this in worker threads with deadlines) */
    private readonly prepare: (path: string, options: PrepareOptions) => AsyncIterable<PreparedInvoice> = (path, options) => prepareFile(path, config, options),
  ) {}

  /**
   * Records a file as finished. When the ledger cannot be written (disk full) after the file was
   * moved, the record is kept and written when the file is tried again, instead of processing a
   * file that is no longer in processing/.
   */
  private async finish(file: FileRecord, outcome: FileOutcome, details: Parameters<Ledger['finishFile']>[2]): Promise<void> {
    const write = async (): Promise<void> => {
      // another node took the file over (or finished it) while this one was cut off: its record stands
      if (!(await this.ledger.finishFile(file.id, outcome.state, details))) throw leaseLost(file.id, {});
    };
    try {
      await write();
    } catch (err) {
      if (!(err instanceof LeaseLostError)) this.unrecorded.set(file.id, { write, outcome });
      throw err;
    }
  }

  /** Whether this file was finished (moved on) but its outcome could not be recorded yet. */
  finishedUnrecorded(fileId: number): boolean {
    return this.unrecorded.has(fileId);
  }

  /**
   * The file as it is about to be read: unchanged since its claim, or, when it changed after the
   * claim, unchanged since the last look and not held open by a writer. Otherwise it is still being
   * written: a FileStillWrittenError, and the caller takes it up again later.
   */
  private async stillSince(file: FileRecord): Promise<Fingerprint> {
    const info = await lstat(file.processingPath);
    const now: Fingerprint = { size: info.size, mtimeMs: info.mtimeMs, hash: file.contentHash };
    const last = this.lastSeen.get(file.id);
    // the modification time the claim saw (the file server's clock on both sides); older claims: their time
    const claimedMtime = file.arrival ? Number(file.arrival.slice(file.arrival.indexOf(':') + 1)) : Date.parse(file.claimedAt);
    const writtenAfterClaim = file.arrival ? info.mtimeMs !== claimedMtime : info.mtimeMs > claimedMtime;
    if (!writtenAfterClaim && !last) return now;
    if ((await filesOpenForWriting([dirname(file.processingPath)])).has(file.processingPath)) throw this.stillGrowing(file, now);
    if (writtenAfterClaim && (!last || last.size !== now.size || last.mtimeMs !== now.mtimeMs)) throw this.stillGrowing(file, now);
    this.lastSeen.delete(file.id);
    return { ...now, hash: await hashFile(file.processingPath) };
  }

  private stillGrowing(file: FileRecord, seen: Fingerprint): FileStillWrittenError {
    this.lastSeen.set(file.id, seen);
    return new FileStillWrittenError(`${file.name} is still being written (it changed after it was taken, or a program holds it open for writing)`, {
      file: file.name,
    });
  }

  /** Processes (or resumes) a claimed file in processing/. */
  async process(file: FileRecord, folder: string): Promise<FileOutcome> {
    const done = this.unrecorded.get(file.id);
    if (done) {
      await done.write();
      this.unrecorded.delete(file.id);
      return done.outcome;
    }
    const log = this.log.child({ file: file.name, fileId: file.id, source: folder });
    const seen = await this.stillSince(file);
    const rejected: RejectedItem[] = [];
    let rejectedCount = 0;
    const reject = (item: RejectedItem): void => {
      rejectedCount++;
      if (rejected.length < REPORT_LIMIT) rejected.push(item);
      // a junk file of millions of "invoices" must not rotate the whole log away (nor queue gigabytes of lines):
      // the first ones are logged, the rest counted in one line at the end; the report holds them
      if (rejectedCount <= LOG_REJECTED_LIMIT) log.warn('invoice rejected', { key: item.key, errors: item.errors.map((e) => e.describe()) });
    };

    // Pass 1: check the whole file before anything is numbered.
    let kept: PreparedInvoice[] | undefined = [];
    let okCount = 0;
    try {
      for await (const prepared of this.prepare(file.processingPath, { folder, displayName: file.name })) {
        const item = await this.issuer.check(prepared);
        if (item.ok) okCount++;
        else reject({ key: item.key, mapping: item.mapping, attachment: item.attachment, errors: item.errors });
        if (kept) {
          kept.push(item);
          if (kept.length > KEEP_IN_MEMORY) kept = undefined;
        }
      }
    } catch (err) {
      // only bad input is the file's fault: a broken environment or a bug is handled by the caller (wait, or set aside)
      if (!(err instanceof GatewayError) || failureKind(err) !== 'input') throw err;
      log.error('file rejected', { error: err.describe() });
      return this.fail(file, folder, [{ key: '', errors: [err] }], 0);
    }
    if (rejectedCount > LOG_REJECTED_LIMIT)
      log.warn('more invoices rejected than are logged one by one; the error report counts them all', {
        rejected: rejectedCount,
        notLogged: rejectedCount - LOG_REJECTED_LIMIT,
      });
    if (okCount === 0 && rejectedCount === 0) {
      return this.fail(file, folder, [{ key: '', errors: [new MappingError('the file holds no invoices', { file: file.name })] }], 0);
    }
    if (rejectedCount > 0 && (this.config.service.onRejectedInvoice === 'hold-file' || okCount === 0)) {
      const policy = okCount > 0 ? `onRejectedInvoice is hold-file: none of the ${okCount} good invoice(s) in this file was issued either.` : undefined;
      return this.fail(file, folder, rejected, okCount, rejectedCount, policy);
    }

    // nothing is numbered from a file that changed while it was read: it is still being written
    if (await changedSince(file.processingPath, seen)) throw this.stillGrowing(file, seen);

    // Pass 2: number and store, in batches; a resumed file skips what it stored before the crash.
    const receipt: ReceiptInvoice[] = [];
    let issued = 0;
    let held = 0;
    let issuedBefore = 0;
    const batch: { request: IssueRequest; item: PreparedInvoice & { ok: true }; awaitedStatus?: string }[] = [];
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      const results = await this.ledger.issue(batch.map((b) => b.request));
      for (const [i, result] of results.entries()) {
        const { item, awaitedStatus } = batch[i]!;
        // another node stored this order's held invoice between the look for it and this store: this
        // drop is its status update after all (else a 'shipped' racing its own order would be lost)
        if (awaitedStatus && result.status === 'issued-before' && !result.number) {
          const update = await this.applyStatusUpdate(item, awaitedStatus, receipt, log);
          if (update === 'issued') issued++;
          if (update) continue;
        }
        this.record(result, item, receipt, reject, log);
        if (result.status === 'issued') issued++;
        if (result.status === 'held') held++;
        if (result.status === 'issued-before') issuedBefore++;
      }
      batch.length = 0;
      this.onIssued();
    };
    const items = kept ?? this.checkedAll(this.prepare(file.processingPath, { folder, displayName: file.name }));
    let seq = 0;
    const mappings = new Map(this.config.mappings.map((m) => [m.name, m.definition]));
    for await (const item of items) {
      seq++;
      if (!item.ok) continue;
      const definition = mappings.get(item.mapping);
      const rule = this.issuer.sendRuleOf(item);
      if (rule?.when) {
        await flush(); // an earlier drop of the same order in this batch must be stored before it is looked up
        const update = await this.applyStatusUpdate(item, rule.when.status, receipt, log);
        if (update === 'issued') issued++;
        if (update) continue;
      }
      const request: IssueRequest = {
        fileId: file.id,
        seqInFile: seq,
        invoice: item.invoice,
        deliveries: item.deliveries,
        numberFormat: numberFormatFor(item.invoice, this.config.service),
        businessKey: businessKeyOf(item.invoice, item.mapping),
        ...(definition?.onIssuedBefore === 'issue-again' ? { issueAgain: true } : {}),
      };
      const hold = this.issuer.holdOf(item);
      if (hold) request.hold = hold;
      batch.push({ request, item, ...(rule?.when ? { awaitedStatus: rule.when.status } : {}) });
      if (batch.length >= ISSUE_BATCH) await flush();
    }
    await flush();

    // a writer that came back after its file was numbered: what it added is not lost without a word
    const grownTo = (await changedSince(file.processingPath, seen)) ? await lstat(file.processingPath).then((i) => i.size) : undefined;
    if (grownTo !== undefined) {
      rejectedCount++;
      const message = `the file changed while it was processed (${seen.size} bytes when it was read, ${grownTo} bytes now): the invoices listed as issued come from the first ${seen.size} bytes; drop the complete file again and only what is not issued yet is issued (the others are recognised as issued before)`;
      rejected.push({ key: '', errors: [new MappingError(message, { file: file.name })] });
      log.error('file changed while it was processed; what was added is reported, not issued', { readBytes: seen.size, nowBytes: grownTo });
    }
    const state = rejectedCount > 0 ? 'partial' : 'done';
    const finalPath = await moveInto(file.processingPath, this.folders.archive(folder), file.name);
    await writeBeside(
      sidecar(finalPath, '.receipt.json'),
      `${JSON.stringify(
        {
          file: file.name,
          source: folder,
          sha256: seen.hash,
          claimedAt: file.claimedAt,
          finishedAt: new Date().toISOString(),
          issued,
          held,
          issuedBefore,
          rejected: rejectedCount,
          invoices: receipt,
        },
        null,
        2,
      )}\n`,
    );
    const reportPath =
      rejectedCount > 0
        ? await this.writeReports(
            file,
            folder,
            rejected,
            issued + held + issuedBefore,
            rejectedCount,
            `The file itself is archived as ${finalPath}; the invoices above were left out.`,
          )
        : undefined;
    const outcome: FileOutcome = { state, issued, held, rejected: rejectedCount, finalPath, ...(reportPath ? { reportPath } : {}) };
    await this.finish(file, outcome, { finalPath, invoicesFound: issued + held + issuedBefore + rejectedCount, invoicesRejected: rejectedCount });
    log.info('file processed', { state, issued, held, issuedBefore, rejected: rejectedCount, archived: finalPath });
    return outcome;
  }

  private async *checkedAll(items: AsyncIterable<PreparedInvoice>): AsyncGenerator<PreparedInvoice> {
    for await (const item of items) yield await this.issuer.check(item);
  }

  /**
   * A drop for an order that is held waiting for a status: replace its content, and issue it when
   * the status has come. Says 'issued' when this drop issued the held invoice, 'handled' when it
   * was handled otherwise (updated, or the order was invoiced before), false when it is no update.
   */
  private async applyStatusUpdate(
    item: PreparedInvoice & { ok: true },
    status: string,
    receipt: ReceiptInvoice[],
    log: Logger,
  ): Promise<'issued' | 'handled' | false> {
    const orderKey = orderKeyOf(item.invoice);
    const heldBefore = await this.ledger.heldForOrder(orderKey);
    if (heldBefore) {
      if (item.invoice.meta.orderStatus === status) {
        const outcome = await this.issuer.issueHeld(this.ledger, heldBefore, item.invoice, item.deliveries);
        if (outcome.status === 'rejected') {
          await this.ledger.updateHeld(heldBefore.id, item.invoice, item.deliveries);
          log.warn('order reached its status but fails the checks; it stays held', {
            key: item.key,
            errors: outcome.errors.map((e) => `[${e.code}] ${e.message}`),
          });
          receipt.push({
            key: item.key,
            state: `held: ${outcome.errors.map((e) => e.code).join(', ')}`,
            payable: item.invoice.totals.payableAmount,
            deliveries: [],
          });
          return 'handled';
        }
        if (outcome.status === 'issued') {
          log.info('held invoice issued: its order reached the status', { key: item.key, invoice: outcome.number, status });
          receipt.push({
            key: item.key,
            number: outcome.number,
            state: 'issued (was held)',
            payable: item.invoice.totals.payableAmount,
            deliveries: item.deliveries.map((d) => d.routeId),
          });
          this.onIssued();
          return 'issued';
        }
      } else {
        await this.ledger.updateHeld(heldBefore.id, item.invoice, item.deliveries);
        receipt.push({
          key: item.key,
          state: `held, updated (status ${item.invoice.meta.orderStatus ?? 'none'})`,
          payable: item.invoice.totals.payableAmount,
          deliveries: [],
        });
      }
      return 'handled';
    }
    const issuedBefore = await this.ledger.issuedForOrder(orderKey);
    if (issuedBefore) {
      log.info('order already invoiced; status update ignored', { key: item.key, invoice: issuedBefore.number });
      receipt.push({ key: item.key, number: issuedBefore.number, state: 'already invoiced', payable: item.invoice.totals.payableAmount, deliveries: [] });
      return 'handled';
    }
    return false;
  }

  private record(result: IssueResult, item: PreparedInvoice & { ok: true }, receipt: ReceiptInvoice[], reject: (r: RejectedItem) => void, log: Logger): void {
    const deliveries = item.deliveries.map((d) => (d.note ? `${d.routeId} (${d.note})` : d.routeId));
    switch (result.status) {
      case 'issued':
        log.info('invoice issued', { key: item.key, invoice: result.number, payable: item.invoice.totals.payableAmount, deliveries });
        receipt.push({ key: item.key, number: result.number, state: 'issued', payable: item.invoice.totals.payableAmount, deliveries });
        break;
      case 'existing':
        receipt.push({
          key: item.key,
          ...(result.number ? { number: result.number } : {}),
          state: 'issued before this restart',
          payable: item.invoice.totals.payableAmount,
          deliveries,
        });
        break;
      case 'issued-before':
        log.info('invoice issued before; not issued again', { key: item.key, invoice: result.number, from: result.existingFile });
        receipt.push({
          key: item.key,
          ...(result.number ? { number: result.number } : {}),
          state: result.number ? `issued before as ${result.number}` : `held since an earlier drop (${result.existingFile})`,
          payable: item.invoice.totals.payableAmount,
          deliveries: [],
        });
        break;
      case 'held':
        log.info('invoice held back (deferred)', { key: item.key });
        receipt.push({ key: item.key, state: 'held', payable: item.invoice.totals.payableAmount, deliveries: [] });
        break;
      case 'duplicate-number':
        reject({
          key: item.key,
          mapping: item.mapping,
          errors: [
            new MappingError(
              `invoice number ${result.number} was issued before${result.existingFile ? ` (from ${result.existingFile})` : ''}; an invoice number is never used twice`,
              { file: item.invoice.meta.sourceFile, line: item.invoice.meta.source.line, path: item.invoice.meta.source.path, field: 'number' },
            ),
          ],
        });
        break;
    }
  }

  /**
   * A file whose processing failed in a way that is not about its content (a fault of the gateway,
   * or one that stopped the process): set aside in error/ with the stack in the JSON report, so it
   * never loops. Invoices it stored before the fault stay issued and are listed in the ledger.
   */
  async quarantine(file: FileRecord, folder: string, err: unknown, what: string): Promise<FileOutcome> {
    const error = new InternalError(
      `${what}: ${err instanceof Error ? err.message : String(err)}. This is a fault of invoice-gateway, not of the export: please report it with the .error.json file`,
      { file: file.name },
      err instanceof Error ? err.stack : undefined,
    );
    const stored = (await this.ledger.invoicesOfFile(file.id)).filter((i) => i.state !== 'rejected').length;
    const policy = stored
      ? `${stored} invoice(s) of this file were issued before the fault and stay issued; the file is set aside so that it cannot stop the gateway again.`
      : 'Nothing from this file was issued; it is set aside so that it cannot stop the gateway again.';
    return this.fail(file, folder, [{ key: '', errors: [error] }], stored, 1, policy);
  }

  /** The whole file goes to error/ with its reports; nothing from it was numbered. */
  private async fail(
    file: FileRecord,
    folder: string,
    rejected: RejectedItem[],
    accepted: number,
    rejectedCount = rejected.length,
    policy?: string,
  ): Promise<FileOutcome> {
    const finalPath = await moveInto(file.processingPath, this.folders.error(folder), file.name);
    const reportPath = await this.writeReports(file, folder, rejected, 0, rejectedCount, policy, finalPath);
    const first = rejected[0]?.errors[0];
    const outcome: FileOutcome = { state: 'error', issued: 0, held: 0, rejected: rejectedCount, finalPath, reportPath };
    await this.finish(file, outcome, {
      finalPath,
      invoicesFound: accepted + rejectedCount,
      invoicesRejected: rejectedCount,
      error: first ? first.describe() : 'rejected',
    });
    this.log.warn('file moved to error/', { file: file.name, fileId: file.id, source: folder, rejected: rejectedCount, error: first?.describe() });
    return outcome;
  }

  /** Writes the report for people and the one for tools; returns the path of the first. */
  private async writeReports(
    file: FileRecord,
    folder: string,
    rejected: RejectedItem[],
    accepted: number,
    rejectedCount: number,
    note?: string,
    errorPath?: string,
  ): Promise<string> {
    // a second failure of the same name must not overwrite the first report
    const base = errorPath ?? (await freeReportBase(this.folders.error(folder), basename(file.name)));
    const text = renderErrorReport(file.name, rejected, { accepted, rejectedCount, ...(note ? { policy: note } : {}) });
    const more = rejectedCount > rejected.length ? `\n(${rejectedCount - rejected.length} more rejected invoices are not listed.)\n` : '';
    return writeErrorReports(base, text + more, errorReportJson(file.name, rejected, { source: folder, accepted, rejectedCount, fileId: file.id }));
  }
}
