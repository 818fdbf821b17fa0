/**
 * Format and transport throughput, one measurement per process:
 *   node dist/bench/formats.js ubl|cii|factur-x|read-ubl|read-cii|exact|pdf|pdf-workers|validate-jvm|validate-saxonjs|sftp|sftp-one|sftp-openssh|mail <count>
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { importFile } from '../src/formats/accounting/batch.js';
import { pdfFor } from '../src/formats/pdf/index.js';
import { writeUbl } from '../src/formats/ubl/write.js';
import { writeCii } from '../src/formats/cii/write.js';
import { readCii } from '../src/readers/cii.js';
import { readUbl } from '../src/readers/ubl.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { prepareFile } from '../src/service/prepare.js';
import { peakRssMb } from './support.js';

const config = loadConfig({ configDir: join(PROJECT_ROOT, 'config'), mappingsDir: join(PROJECT_ROOT, 'mappings') });

/**
 * A realistic 6-line invoice, numbered: the Access sample's lines (discounts, 9 % and 21 %, a fractional
 * quantity) as one order, written in the sample's own encoding and mapped the way the service maps it.
 * The envelope line (unit price 0,0125) is left out: @e-invoice-eu/core accepts no more than 2 decimals
 * in a price, and the comparison needs invoices both generators take.
 */
async function sampleInvoice(): Promise<CalculatedInvoice> {
  const source = readFileSync(join(PROJECT_ROOT, 'inbox-sample', 'access', 'orders_20261130.csv'), 'latin1').split(/\r?\n/);
  const lines = source
    .slice(1)
    .filter((l) => l && !l.includes(';0,0125;'))
    .slice(0, 6)
    .map((l, i) => l.replace(/^\d+;[^;]*;[^;]*;[^;]*;\d+;/, `40117;28-11-2026;10001;PO-7731;${i + 1};`));
  const file = join(PROJECT_ROOT, '.bench-tmp', 'orders_bench-6-lines.csv');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, [source[0], ...lines, ''].join('\r\n'), 'latin1');
  for await (const item of prepareFile(file, config, { folder: 'access' })) {
    if (item.ok) return { ...item.invoice, number: '2026-00001', payment: { ...item.invoice.payment!, paymentReference: '2026-00001' } };
  }
  throw new Error('no sample invoice');
}

function variant(inv: CalculatedInvoice, i: number): CalculatedInvoice {
  return { ...inv, number: `2026-${String(i + 1).padStart(5, '0')}` };
}

async function time(count: number, fn: (i: number) => unknown): Promise<Record<string, number>> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { count, seconds, perSecond: count / seconds, peakRssMb: peakRssMb() };
}

/** The port to reach a server by: itself, or a relay that adds BENCH_DELAY_MS each way. */
async function benchPort(port: number): Promise<number> {
  const delay = Number(process.env['BENCH_DELAY_MS'] ?? 0);
  if (!delay) return port;
  const { latencyRelay } = await import('./support.js');
  return (await latencyRelay(port, delay)).port;
}

const [mode, countText] = process.argv.slice(2);
const count = Number(countText ?? 1000);
const inv = await sampleInvoice();
let result: Record<string, unknown> = {};
switch (mode) {
  case 'ubl':
    result = { ...(await time(count, (i) => writeUbl(variant(inv, i), { profile: 'peppol' }))), lines: inv.lines.length };
    break;
  case 'cii':
    result = { ...(await time(count, (i) => writeCii(variant(inv, i)))), lines: inv.lines.length };
    break;
  case 'factur-x':
    // the PDF with its CII inside, on this one thread (the service spreads PDFs over worker threads)
    result = { ...(await time(count, (i) => pdfFor(variant(inv, i), {}, config.sellers.sellers, config.configDir, 'factur-x'))), lines: inv.lines.length };
    break;
  case 'read-ubl':
  case 'read-cii': {
    // the same invoices, written before the clock starts, read back into the canonical model
    const documents = Array.from({ length: count }, (_, i) =>
      Buffer.from(mode === 'read-ubl' ? writeUbl(variant(inv, i), { profile: 'peppol' }) : writeCii(variant(inv, i))),
    );
    result = {
      ...(await time(count, (i) => (mode === 'read-ubl' ? readUbl(documents[i]!, { file: 'bench.xml' }) : readCii(documents[i]!, { file: 'bench.xml' })))),
      lines: inv.lines.length,
    };
    break;
  }
  case 'e-invoice-eu': {
    // the same invoices through @e-invoice-eu/core (a bench-only dev dependency), for comparison;
    // each is handed over in its own JSON format, converted from our UBL before the clock starts
    const { loadEInvoiceEu, toEInvoiceEu } = await import('./e-invoice-eu.js');
    const lib = loadEInvoiceEu();
    const service = new lib.InvoiceService({ log() {}, warn() {}, error: console.error });
    const inputs = Array.from({ length: count }, (_, i) => toEInvoiceEu(writeUbl(variant(inv, i), { profile: 'peppol' }), lib));
    const outputs: string[] = [];
    result = await time(count, async (i) => {
      outputs.push(String(await service.generate(inputs[i]!.data, { format: 'UBL', lang: 'en-us', noWarnings: true })));
    });
    const payable = (xml: string) => /<cbc:PayableAmount[^>]*>([^<]+)</.exec(xml)?.[1];
    const ours = writeUbl(variant(inv, 0), { profile: 'peppol' });
    result = {
      ...result,
      lines: inv.lines.length,
      samePayableAmount: payable(outputs[0]!) === payable(ours),
      payableAmount: payable(outputs[0]!),
      notInTheirSchema: inputs[0]!.dropped,
    };
    break;
  }
  case 'exact': {
    const invoices = Array.from({ length: count }, (_, i) => variant(inv, i));
    const started = process.hrtime.bigint();
    const file = importFile('exact-online', invoices, { name: 'devries', admin: config.accounting['devries']!, debtorCodes: {} });
    const genSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { createRequire } = await import('node:module');
    const { validateXML } = createRequire(import.meta.url)('xsd-schema-validator') as { validateXML(xml: string, schema: string): Promise<{ valid: boolean }> };
    const v0 = process.hrtime.bigint();
    const verdict = await validateXML(file.content.toString('utf-8'), join(PROJECT_ROOT, 'standards', 'exact', 'exact-online-eExact-XML.xsd'));
    const validateSeconds = Number(process.hrtime.bigint() - v0) / 1e9;
    result = { count, genSeconds, perSecond: count / genSeconds, validateSeconds, valid: verdict.valid, bytes: file.content.length, peakRssMb: peakRssMb() };
    break;
  }
  case 'pdf':
    result = await time(count, (i) => pdfFor(variant(inv, i), { language: 'nl' }, config.sellers.sellers, config.configDir));
    break;
  case 'pdf-workers': {
    // the gateway's own render pool, one thread per core, kept busy with 4 requests per thread
    const { PdfRenderPool } = await import('../src/formats/pdf/pool.js');
    const size = availableParallelism();
    const pool = new PdfRenderPool(size, config.sellers.sellers, config.configDir);
    await Promise.all(Array.from({ length: size * 2 }, (_, i) => pool.render(variant(inv, i), { language: 'nl' }))); // threads started, fonts loaded
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: size * 4 }, async () => {
        while (next < count) await pool.render(variant(inv, next++), { language: 'nl' });
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await pool.close();
    result = { count, seconds, perSecond: count / seconds, workers: size, peakRssMb: peakRssMb() };
    break;
  }
  case 'validate-jvm':
  case 'validate-saxonjs': {
    // the gateway's own engine selection: where Saxon-HE is missing, 'validate-jvm' runs (and says it runs) SaxonJS
    const { createEngine } = await import('../src/validation/index.js');
    const { engine, why } = createEngine(mode === 'validate-jvm' ? 'auto' : 'saxon-js');
    const docs = Array.from({ length: count }, (_, i) => writeUbl(variant(inv, i), { profile: 'peppol' }));
    // warm up: stylesheets compiled, JIT warm (the reference validators run warm too)
    const warm = engine.name === 'saxon-js' ? 10 : 600;
    await Promise.all(docs.slice(0, warm).map((d) => engine.validate(d, 'peppol')));
    const started = process.hrtime.bigint();
    const results = await Promise.all(docs.map((d) => engine.validate(d, 'peppol')));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await engine.close();
    result = {
      count,
      seconds,
      perSecond: count / seconds,
      invalid: results.filter((f) => f.some((x) => x.severity === 'fatal')).length,
      peakRssMb: peakRssMb(),
      engine: engine.name,
      why,
    };
    break;
  }
  case 'saxon-cli': {
    // Saxon-HE's own command line, -repeat, on the same stylesheets and one of the same documents
    const { spawnSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const doc = join(PROJECT_ROOT, '.bench-tmp', 'invoice.xml');
    writeFileSync(doc, writeUbl(inv, { profile: 'peppol' }));
    const perSheet: Record<string, number> = {};
    for (const sheet of ['en16931/ubl/xslt/EN16931-UBL-validation.xslt', 'peppol-bis-3/release-2026.5/xslt/PEPPOL-EN16931-UBL.xslt']) {
      const r = spawnSync(
        'java',
        [
          '-cp',
          '/usr/share/java/Saxon-HE.jar',
          'net.sf.saxon.Transform',
          '-t',
          `-repeat:${count}`,
          `-s:${doc}`,
          `-xsl:${join(PROJECT_ROOT, 'standards', sheet)}`,
          '-o:/dev/null',
        ],
        { encoding: 'utf-8' },
      );
      const m = /Average execution time over last \d+ runs: ([\d.]+)ms/.exec(r.stderr) ?? /Average execution time: ([\d.]+)ms/.exec(r.stderr);
      perSheet[sheet] = m ? Number(m[1]) : NaN;
    }
    const msPerDoc = Object.values(perSheet).reduce((a, b) => a + b, 0);
    result = { perSheet, msPerDocSchematron: msPerDoc, perSecondOneCore: 1000 / msPerDoc };
    break;
  }
  case 'sftp':
  case 'sftp-one': {
    // UBL files to a real OpenSSH server on loopback (started like the tests start it); 'sftp-one'
    // uploads one file at a time on one connection, to put beside OpenSSH's own client
    const one = mode === 'sftp-one';
    const { startSshd, currentUser } = await import('../test/helpers/sshd.js');
    const { SftpTransport } = await import('../src/transports/sftp.js');
    const sshd = await startSshd();
    const port = await benchPort(sshd.port);
    const transport = new SftpTransport('bench', {
      kind: 'sftp',
      host: '127.0.0.1',
      port,
      user: currentUser(),
      privateKeyFile: sshd.clientKeyFile,
      folder: sshd.folder,
      hostKeySha256: sshd.hostKeySha256,
      maxConnections: one ? 1 : 4,
    });
    const docs = Array.from({ length: count }, (_, i) => Buffer.from(writeUbl(variant(inv, i))));
    // the connection is made before the clock starts, as OpenSSH's is in the side-by-side run
    await transport.send({
      delivery: { idempotencyKey: 'warm' } as never,
      document: { fileName: 'warm.xml', mediaType: 'application/xml', content: docs[0]! },
      invoice: inv,
    });
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: one ? 1 : 8 }, async () => {
        while (next < count) {
          const i = next++;
          await transport.send({
            delivery: { idempotencyKey: `k${i}` } as never,
            document: { fileName: `2026-${String(i + 1).padStart(5, '0')}.xml`, mediaType: 'application/xml', content: docs[i]! },
            invoice: inv,
          });
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await transport.close();
    await sshd.stop();
    result = { count, seconds, perSecond: count / seconds, peakRssMb: peakRssMb() };
    break;
  }
  case 'sftp-library': {
    // how the gateway uploaded before: ssh2-sftp-client's exists + put (a write stream) + rename,
    // Nagle's algorithm on; one connection, one file at a time
    const { startSshd, currentUser } = await import('../test/helpers/sshd.js');
    const { default: SftpClient } = await import('ssh2-sftp-client');
    const { readFileSync: read } = await import('node:fs');
    const sshd = await startSshd();
    const client = new SftpClient('bench');
    await client.connect({ host: '127.0.0.1', port: await benchPort(sshd.port), username: currentUser(), privateKey: read(sshd.clientKeyFile) });
    const docs = Array.from({ length: count }, (_, i) => Buffer.from(writeUbl(variant(inv, i))));
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const name = `2026-${String(i + 1).padStart(5, '0')}.xml`;
      if (await client.exists(`${sshd.folder}/${name}`)) throw new Error('exists');
      await client.put(docs[i]!, `${sshd.folder}/.${name}.part`);
      await client.rename(`${sshd.folder}/.${name}.part`, `${sshd.folder}/${name}`);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await client.end();
    await sshd.stop();
    result = { count, seconds, perSecond: count / seconds };
    break;
  }
  case 'sftp-openssh': {
    // OpenSSH's own client on the same server configuration: one connection, `sftp -b` with the
    // same pattern (put under a temporary name, then rename); the files are written locally first
    const { startSshd, currentUser } = await import('../test/helpers/sshd.js');
    const { mkdtempSync } = await import('node:fs');
    const write = writeFileSync;
    const { tmpdir } = await import('node:os');
    const { spawn } = await import('node:child_process');
    // asynchronous: a latency relay in this process must go on forwarding while sftp runs
    const sftp = (batchFile: string) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn('sftp', [...args, '-b', batchFile, `${currentUser()}@127.0.0.1`], { stdio: ['pipe', 'pipe', 'pipe'] });
        child.stdout.resume();
        child.stdin.end();
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (status) => resolve({ status, stderr }));
      });
    const sshd = await startSshd();
    const local = mkdtempSync(join(tmpdir(), 'igw-sftp-bench-'));
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `2026-${String(i + 1).padStart(5, '0')}.xml`;
      write(join(local, name), writeUbl(variant(inv, i)));
      lines.push(`put ${join(local, name)} ${sshd.folder}/.${name}.part`, `rename ${sshd.folder}/.${name}.part ${sshd.folder}/${name}`);
    }
    const batch = join(local, 'batch');
    write(batch, `${lines.join('\n')}\n`);
    const args = [
      '-q',
      '-i',
      sshd.clientKeyFile,
      '-P',
      String(await benchPort(sshd.port)),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
    ];
    // the connection set-up alone (an empty batch), taken off the timed run
    const empty = join(local, 'empty');
    write(empty, 'pwd\n');
    const setupStart = process.hrtime.bigint();
    await sftp(empty);
    const setup = Number(process.hrtime.bigint() - setupStart) / 1e9;
    const started = process.hrtime.bigint();
    const r = await sftp(batch);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9 - setup;
    await sshd.stop();
    if (r.status !== 0) throw new Error(`sftp -b failed: ${r.stderr}`);
    result = { count, seconds, perSecond: count / seconds, setupSeconds: setup };
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
