import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, cpSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EnvironmentError } from '../src/errors.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { DOCUMENT_TYPES, smlHostname } from '../src/peppol/identifiers.js';
import { PeppolDirectory, SmpSignatureError, type PeppolSettings } from '../src/peppol/lookup.js';
import { FakeSml, FakeSmp, expectedSmlName, peppolYaml, serviceMetadata, signMetadata, testSmpPki } from './helpers/peppol-network.js';
import { CLI, ROOT, tempDir } from './helpers/paths.js';

const AP = 'https://ap.receiver.test/as4';

describe('Peppol receiver lookup (SML over DNS, signed SMP metadata)', function () {
  this.timeout(60_000);
  const sml = new FakeSml();
  const smp = new FakeSmp();
  const pki = testSmpPki();
  let settings: Omit<PeppolSettings, 'followUpEveryMs'>;
  let ledger: SqliteLedger;
  const signed = (participant: string, doc: string, endpoint = AP) => signMetadata(serviceMetadata(participant, doc, endpoint), pki.signerKey, pki.signerCert);

  before(async () => {
    await sml.start();
    await smp.start();
    for (const p of ['0106:12345678', '0208:0123456789', '9944:NL123456789B01', '0106:87654321', '0106:11112222', '0106:33334444']) sml.register(p, smp.url);
    smp.answer('0106:12345678', DOCUMENT_TYPES.invoice, { status: 200, body: signed('0106:12345678', DOCUMENT_TYPES.invoice) });
    // takes invoices, not credit notes
    smp.answer('0208:0123456789', DOCUMENT_TYPES.invoice, { status: 200, body: signed('0208:0123456789', DOCUMENT_TYPES.invoice) });
    // metadata whose content was changed after signing, unsigned metadata, and metadata signed by a certificate no trusted CA issued
    smp.answer('9944:NL123456789B01', DOCUMENT_TYPES.invoice, {
      status: 200,
      body: signed('9944:NL123456789B01', DOCUMENT_TYPES.invoice).replace(AP, 'https://attacker.test/as4'),
    });
    smp.answer('0106:87654321', DOCUMENT_TYPES.invoice, { status: 200, body: serviceMetadata('0106:87654321', DOCUMENT_TYPES.invoice, AP) });
    smp.answer('0106:11112222', DOCUMENT_TYPES.invoice, {
      status: 200,
      body: signMetadata(serviceMetadata('0106:11112222', DOCUMENT_TYPES.invoice, AP), pki.strangerKey, pki.strangerCert),
    });
    smp.answer('0106:33334444', DOCUMENT_TYPES.invoice, { status: 500 });
    settings = { sml: sml.zone, dns: [sml.server], smpTrust: [pki.caCert], smpTlsCa: [smp.tls.cert], cacheTtlMs: 3_600_000, timeoutMs: 3000 };
    ledger = new SqliteLedger(join(tempDir('igw-peppol-'), 'ledger.sqlite'));
  });
  after(async () => {
    await ledger.close();
    await sml.stop();
    await smp.stop();
  });

  it('names a participant in the SML as the Peppol specification says (SHA-256, Base32 without padding, scheme, zone)', () => {
    assert.equal(smlHostname({ value: '0106:12345678' }, sml.zone), expectedSmlName('0106:12345678', sml.zone));
    assert.equal(smlHostname({ value: '9944:NL123456789B01' }, 'z'), expectedSmlName('9944:nl123456789b01', 'z'), 'the identifier is lower-cased first');
    assert.doesNotMatch(smlHostname({ value: '0106:12345678' }, 'z'), /=/);
  });

  it('found: the SMP from the SML, its signed metadata checked, the AS4 endpoint; the answer is kept in the ledger', async () => {
    const directory = new PeppolDirectory(settings, ledger);
    const first = await directory.lookup('0106:12345678', 'invoice');
    assert.equal(first.answer, 'yes', first.reason);
    assert.equal(first.smp, smp.url);
    assert.equal(first.endpoint?.address, AP);
    assert.ok(first.signature?.ok && first.signature.signer.includes('Test SMP'));
    assert.equal(first.cached, false);
    const asked = { dns: sml.queries, smp: smp.requests };
    const again = await new PeppolDirectory(settings, ledger).lookup('iso6523-actorid-upis::0106:12345678', 'invoice');
    assert.equal(again.answer, 'yes');
    assert.equal(again.cached, true);
    assert.deepEqual({ dns: sml.queries, smp: smp.requests }, asked, 'a kept answer asks nobody');
    // once it expires, the network is asked again
    const later = await directory.lookup('0106:12345678', 'invoice', Date.now() + 2 * 3_600_000);
    assert.equal(later.cached, false);
  });

  it('not registered: no NAPTR record in the SML', async () => {
    const r = await new PeppolDirectory(settings, ledger).lookup('0106:99999999', 'invoice');
    assert.equal(r.answer, 'not-registered');
    assert.match(r.reason, /0106:99999999 is not registered in the Peppol SML/);
  });

  it('document type not supported: the SMP lists no credit notes for this receiver', async () => {
    const r = await new PeppolDirectory(settings, ledger).lookup('0208:0123456789', 'credit-note');
    assert.equal(r.answer, 'not-supported');
    assert.match(r.reason, /does not accept Peppol BIS Billing 3 credit-notes/);
  });

  it('a wrong, missing or untrusted signature is said plainly, and nothing of that answer is used', async () => {
    const directory = new PeppolDirectory(settings, ledger);
    await assert.rejects(
      directory.lookup('9944:NL123456789B01', 'invoice'),
      (err: Error) => err instanceof SmpSignatureError && /signature does not match the content/.test(err.message),
    );
    await assert.rejects(directory.lookup('0106:87654321', 'invoice'), /carries no XML signature/);
    await assert.rejects(directory.lookup('0106:11112222', 'invoice'), /Somebody Else\) was not issued by a trusted SMP CA/);
    await assert.rejects(directory.lookup('0106:33334444', 'invoice'), /answered HTTP 500 .*tried again/);
  });

  it('signed metadata of another participant or another document type is not used (the e-mail fallback applies)', async () => {
    sml.register('0106:55550001', smp.url);
    sml.register('0106:55550002', smp.url);
    // a genuine, validly signed answer of someone else, replayed under this participant's address
    smp.answer('0106:55550001', DOCUMENT_TYPES.invoice, { status: 200, body: signed('0106:12345678', DOCUMENT_TYPES.invoice) });
    smp.answer('0106:55550002', DOCUMENT_TYPES.invoice, { status: 200, body: signed('0106:55550002', DOCUMENT_TYPES['credit-note']) });
    const directory = new PeppolDirectory(settings);
    const other = await directory.lookup('0106:55550001', 'invoice');
    assert.equal(other.answer, 'not-supported');
    assert.match(other.reason, /signed metadata of another participant \(.*0106:12345678\)/);
    const otherDocument = await directory.lookup('0106:55550002', 'invoice');
    assert.equal(otherDocument.answer, 'not-supported');
    assert.match(otherDocument.reason, /another document type/);
  });

  it('an SMP over plain http (common on the network) is read; a huge or trickling answer is cut off as an environment problem', async () => {
    let mode: 'good' | 'huge' | 'trickle' = 'good';
    const trickles: NodeJS.Timeout[] = [];
    const plain = createHttpServer((_req, res) => {
      if (mode === 'good') return res.writeHead(200, { 'content-type': 'text/xml' }).end(signed('0106:66660001', DOCUMENT_TYPES.invoice));
      res.writeHead(200, { 'content-type': 'text/xml' });
      if (mode === 'huge') {
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (res.write(chunk));
          res.once('drain', pump);
        };
        res.on('error', () => undefined);
        return pump();
      }
      // one byte every 200 ms: never silent long enough for a socket timeout
      trickles.push(setInterval(() => res.write('<'), 200));
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    sml.register('0106:66660001', base);
    try {
      const directory = new PeppolDirectory({ ...settings, timeoutMs: 1500 });
      const found = await directory.lookup('0106:66660001', 'invoice');
      assert.equal(found.answer, 'yes', found.reason);
      mode = 'huge';
      const before = process.memoryUsage().rss;
      await assert.rejects(
        new PeppolDirectory(settings).lookup('0106:66660001', 'invoice'),
        (err: Error) => err instanceof EnvironmentError && /more than 2 MB/.test(err.message),
      );
      assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'memory stays bounded');
      mode = 'trickle';
      const started = Date.now();
      await assert.rejects(
        new PeppolDirectory({ ...settings, timeoutMs: 1500 }).lookup('0106:66660001', 'invoice'),
        (err: Error) => err instanceof EnvironmentError && /did not answer in full within 1.5 s/.test(err.message),
      );
      assert.ok(Date.now() - started < 10_000, `gave up after ${Date.now() - started} ms`);
    } finally {
      for (const t of trickles) clearInterval(t);
      plain.closeAllConnections();
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });

  it('a DNS server that does not answer is an environment problem, not "not on Peppol"', async () => {
    const dead = new PeppolDirectory({ ...settings, dns: ['127.0.0.1:9'], timeoutMs: 300 });
    await assert.rejects(dead.lookup('0106:55556666', 'invoice'), /SML lookup of 0106:55556666 .* failed: .*tried again/);
  });

  it('invoice-gateway peppol lookup prints the answer (exit 0 can receive, 1 cannot)', async () => {
    const root = tempDir('igw-peppol-cli-');
    cpSync(join(ROOT, 'config'), join(root, 'config'), { recursive: true });
    const gatewayYaml = join(root, 'config', 'gateway.yaml');
    writeFileSync(gatewayYaml, `${readFileSync(gatewayYaml, 'utf-8')}\n${peppolYaml(sml, smp, pki.caCert)}`);
    mkdirSync(join(root, 'data'), { recursive: true });
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [CLI, '--config', join(root, 'config'), 'peppol', 'lookup', ...args], { cwd: root }, (err, stdout) =>
          resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
        ),
      );
    const yes = await run('0106:12345678');
    assert.equal(yes.code, 0, yes.stdout);
    assert.match(yes.stdout, /0106:12345678 \(invoice\): CAN RECEIVE\n.*\n {2}SMP: https:\/\/127\.0\.0\.1:\d+\n {2}signature: valid, signed by .*Test SMP/);
    assert.match(yes.stdout, /endpoint: https:\/\/ap\.receiver\.test\/as4 \(peppol-transport-as4-v2_0\)/);
    const no = await run('0106:99999999', '--json');
    assert.equal(no.code, 1);
    assert.equal((JSON.parse(no.stdout) as { answer: string }).answer, 'not-registered');
  });
});
