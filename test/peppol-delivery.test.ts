import { strict as assert } from 'node:assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_TYPES, BILLING_PROCESS } from '../src/peppol/identifiers.js';
import { Phase4Stub, StorecoveStub } from './helpers/access-points.js';
import { CLI } from './helpers/paths.js';
import { addConsoleUser, ApiClient } from './helpers/console.js';
import { freePort } from './helpers/net.js';
import { FakeSml, FakeSmp, serviceMetadata, signMetadata, testSmpPki } from './helpers/peppol-network.js';
import { filesIn, membersCsv, startService, stopService, waitFor, workspace, type Workspace } from './helpers/service.js';
import { listDeliveries, listInvoices } from './helpers/ledger-view.js';

/** Members 5001–5009 have the Peppol id 0106:1000<member>; 5001, 5002, 5004 and 5005 are registered on the (fake) network. */
const REGISTERED = ['0106:10005001', '0106:10005002', '0106:10005004', '0106:10005005'];

describe('delivery over Peppol through an access point (local SML, SMP and access point stubs)', function () {
  this.timeout(180_000);
  const sml = new FakeSml();
  const smp = new FakeSmp();
  const pki = testSmpPki();
  const phase4 = new Phase4Stub('phase4-test-token');
  const storecove = new StorecoveStub('storecove-test-key');
  let service: ChildProcess | undefined;

  before(async () => {
    await Promise.all([sml.start(), smp.start(), phase4.start(), storecove.start()]);
    for (const p of REGISTERED) {
      sml.register(p, smp.url);
      smp.answer(p, DOCUMENT_TYPES.invoice, {
        status: 200,
        body: signMetadata(serviceMetadata(p, DOCUMENT_TYPES.invoice, 'https://ap.receiver.test/as4'), pki.signerKey, pki.signerCert),
      });
    }
  });
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });
  after(async () => {
    await Promise.all([sml.stop(), smp.stop(), phase4.stop(), storecove.stop()]);
  });

  /** A gateway whose members go "Peppol first, else e-mail" through the named access point. */
  function peppolWorkspace(accessPoint: 'phase4' | 'storecove', extra: Record<string, unknown> = {}): Workspace {
    const route = { format: 'ubl', transport: 'peppol', target: accessPoint, profile: 'peppol', fallback: { format: 'pdf', transport: 'email' } };
    // one member is also a customer of its own: the console shows what the network said about it
    const customers = {
      'lid-5001': { party: { name: 'Lid 5001', endpoint: { id: '10005001', scheme: '0106' } }, email: 'lid5001@example.nl', routes: [route] },
    };
    const ws = workspace(
      {
        ...extra,
        peppol: { sml: sml.zone, dns: [sml.server], smpTrust: pki.caCert, smpTlsCa: smp.tls.cert, cacheTtl: '1h', timeout: '3s', followUpEvery: '200ms' },
        email: { server: 'mailbox' },
        targets: {
          mailbox: { kind: 'pickup', path: 'mailbox-out' },
          phase4: { kind: 'peppol', accessPoint: 'phase4', url: phase4.url, token: '${PHASE4_TOKEN}', sender: '0106:00000001', countryC1: 'NL' },
          storecove: { kind: 'peppol', accessPoint: 'storecove', url: storecove.url, token: '${STORECOVE_API_KEY}', legalEntityId: 42 },
        },
      },
      { defaults: { language: 'nl', paymentTermsDays: 30, routes: [route] }, unknownCustomers: 'default', customers },
    );
    // the members' export gains their Peppol id (BT-49): scheme 0106, "1000" and the member number
    const mapping = join(ws.mappings, 'members-contribution.yaml');
    writeFileSync(
      mapping,
      readFileSync(mapping, 'utf-8').replace(
        '    email: { column: E-mail }\n',
        '    email: { column: E-mail }\n    endpointId: { template: "1000{Lidnummer}" }\n    endpointScheme: { const: "0106" }\n',
      ),
    );
    return ws;
  }
  const env = { PHASE4_TOKEN: phase4.token, STORECOVE_API_KEY: storecove.apiKey };
  /** Deliveries with the source key of their invoice, in source-key order. */
  const deliveries = async (ws: Workspace) => {
    const keys = new Map((await listInvoices(ws)).map((i) => [i.id, i.sourceKey]));
    return (await listDeliveries(ws))
      .map((d) => ({ ...d, progress: d.progress ?? null, key: keys.get(d.invoiceId) ?? '' }))
      .sort((a, b) => a.key.localeCompare(b.key));
  };

  it('check-config: a Peppol route needs an access point target and the SMP CA to trust', () => {
    const ws = workspace(
      { targets: { out: { kind: 'folder', path: 'out' } } },
      { defaults: { paymentTermsDays: 30, routes: [{ format: 'ubl', transport: 'peppol', target: 'out', fallback: { format: 'pdf', transport: 'email' } }] } },
    );
    const run = spawnSync(process.execPath, [CLI, 'check-config', '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8' });
    assert.notEqual(run.status, 0);
    const said = run.stdout + run.stderr;
    assert.match(said, /defaults\.routes\.0\.target.*a Peppol route needs target: the name of a target of kind peppol .*'out' is of kind folder/);
    assert.match(said, /peppol\.smpTrust.*Peppol routes need peppol\.smpTrust/);
  });

  it('Peppol first, else e-mail, both ways; Storecove down for a while is waited for; each document submitted once with our instance id', async () => {
    const port = await freePort();
    const ws = peppolWorkspace('storecove', { console: { port } });
    addConsoleUser(ws, 'anna', 'viewer', 'correct horse battery');
    storecove.behaviour.downFor = 2;
    service = startService(ws, env);
    writeFileSync(join(ws.inbox, 'members', 'contributie_p.csv'), membersCsv(3, 5001));
    await waitFor('three deliveries sent', async () => (await deliveries(ws)).filter((d) => d.state === 'sent').length === 3, 120_000);
    const rows = await deliveries(ws);
    assert.deepEqual(
      rows.map((d) => [d.routeId, d.transport]),
      [
        ['ubl-peppol-1', 'peppol'],
        ['ubl-peppol-1', 'peppol'],
        ['ubl-peppol-1-fallback', 'email'],
      ],
    );
    assert.match(rows[0]!.result!, /accepted by Storecove for delivery over Peppol \(submission sc-\d+-[0-9a-f]{8}\); instance [0-9a-f-]{36}/);
    // sent means handed over: the access point accepted them; the mail has no further stage
    assert.deepEqual(
      rows.map((d) => d.progress),
      ['accepted', 'accepted', null],
    );
    // the provider's outage was waited for, and each invoice went once
    assert.equal(storecove.submissions.size, 2);
    assert.ok(storecove.calls >= 4, `${storecove.calls} calls`);
    const sent = [...storecove.submissions.values()].map((s) => s.body);
    assert.deepEqual(
      sent.map((b) => b.routing.eIdentifiers[0]).sort((a, b) => a.id.localeCompare(b.id)),
      [
        { scheme: '0106', id: '10005001' },
        { scheme: '0106', id: '10005002' },
      ],
    );
    for (const b of sent) {
      assert.equal(b.legalEntityId, 42);
      assert.match(b.idempotencyGuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(b.document.rawDocumentData.documentTypeId, DOCUMENT_TYPES.invoice);
      assert.equal(b.document.rawDocumentData.processId, BILLING_PROCESS);
      const ubl = Buffer.from(b.document.rawDocumentData.document, 'base64').toString('utf-8');
      assert.match(ubl, /<cbc:EndpointID schemeID="0106">1000500[12]<\/cbc:EndpointID>/);
      assert.match(ubl, /urn:fdc:peppol\.eu:2017:poacc:billing:3\.0/);
    }
    // once Storecove has its sending evidence, the deliveries say they were delivered
    storecove.transmitAll();
    await waitFor('delivered according to the evidence', async () =>
      (await deliveries(ws))
        .filter((d) => d.transport === 'peppol')
        .every((d) => /delivered over Peppol according to Storecove's sending evidence \(peppol, to 0106:1000500[12], message as4-sc-/.test(d.result ?? '')),
    );
    assert.deepEqual(
      (await deliveries(ws)).map((d) => [d.state, d.progress]),
      [
        ['sent', 'delivered'],
        ['sent', 'delivered'],
        ['sent', null],
      ],
    );
    // the console shows the customer's Peppol id and what the network said, from the ledger
    const api = new ApiClient(`http://127.0.0.1:${port}`);
    assert.equal(await api.login('anna', 'correct horse battery'), 200);
    const listed = await api.get<{ items: { transport: string; state: string; progress?: string }[] }>('/api/deliveries?transport=peppol');
    assert.deepEqual(
      listed.items.map((d) => [d.state, d.progress]),
      [
        ['sent', 'delivered'],
        ['sent', 'delivered'],
      ],
    );
    const config = await api.get<{ customers: { key: string; peppol?: { participant: string; answer: string } }[] }>('/api/configuration');
    assert.deepEqual(config.customers.find((c) => c.key === 'lid-5001')?.peppol?.participant, '0106:10005001');
    assert.match(
      config.customers.find((c) => c.key === 'lid-5001')!.peppol!.answer,
      /0106:10005001 receives Peppol BIS Billing 3 invoices at https:\/\/ap\.receiver\.test\/as4/,
    );
    // the member who is not on Peppol got the PDF by e-mail, and the receipt says why
    const mails = filesIn(join(ws.root, 'mailbox-out'), (n) => n.endsWith('.eml'));
    assert.equal(mails.length, 1);
    assert.match(readFileSync(mails[0]!, 'utf-8'), /^To: lid5003@example\.nl/m);
    const receipt = readFileSync(filesIn(join(ws.data, 'archive'), (n) => n.endsWith('.receipt.json'))[0]!, 'utf-8');
    assert.match(receipt, /ubl-peppol-1-fallback \(by pdf over email instead of Peppol: 0106:10005003 is not registered in the Peppol SML/);
    assert.match(receipt, /ubl-peppol-1 \(over Peppol: 0106:10005001 receives Peppol BIS Billing 3 invoices at https:\/\/ap\.receiver\.test\/as4\)/);
  });

  it('phase4: sent with its token, sender, receiver, document type, process and country; a receiver that refuses makes the delivery dead with its reason', async () => {
    const ws = peppolWorkspace('phase4');
    phase4.refusing.set('0106:10005005', 'PEPPOL-EN16931-R001 business process missing at the receiver');
    const before = phase4.sent.length;
    service = startService(ws, env);
    writeFileSync(join(ws.inbox, 'members', 'contributie_q.csv'), membersCsv(2, 5004));
    await waitFor('one sent, one dead', async () => {
      const states = (await deliveries(ws)).map((d) => d.state);
      return states.includes('sent') && states.includes('dead');
    });
    const [ok, refused] = await deliveries(ws);
    assert.equal(ok!.state, 'sent');
    assert.equal(ok!.progress, 'delivered', "phase4 answers once the receiver's access point has it");
    assert.match(ok!.result!, /delivered to the receiver's access point https:\/\/ap\.receiver\.test\/as4 \(AS4 message \d+@phase4\.stub\)/);
    assert.equal(refused!.state, 'dead');
    assert.match(
      refused!.lastError!,
      /the receiver's access point refused the invoice: EBMS:0004 Other PEPPOL-EN16931-R001 business process missing at the receiver/,
    );
    const mine = phase4.sent.slice(before).find((s) => s.receiver === '0106:10005004')!;
    assert.deepEqual([mine.sender, mine.docType, mine.process, mine.country], ['0106:00000001', DOCUMENT_TYPES.invoice, BILLING_PROCESS, 'NL']);
    assert.match(mine.xml, /^<\?xml[\s\S]*<Invoice /);
  });

  it('a crash between submitting and recording: Storecove is asked again with the same instance id and keeps one submission; phase4, which cannot tell, stops the delivery with that reason until an operator retries it', async () => {
    // Storecove: the submission is taken, the answer never comes, the gateway is killed
    const sc = peppolWorkspace('storecove');
    storecove.behaviour.hangOnce = true;
    // a fresh installation numbers from the start again: its first invoice must not look like the earlier test's
    storecove.submissions.clear();
    const submissionsBefore = storecove.submissions.size;
    const callsBefore = storecove.submitCalls;
    service = startService(sc, env);
    writeFileSync(join(sc.inbox, 'members', 'contributie_c.csv'), membersCsv(1, 5001));
    await waitFor('the submission is taken', () => storecove.submissions.size === submissionsBefore + 1);
    await stopService(service, 'SIGKILL');
    service = startService(sc, env);
    await waitFor('sent after the restart', async () => (await deliveries(sc))[0]?.state === 'sent', 120_000);
    assert.equal(storecove.submissions.size, submissionsBefore + 1, 'one submission: the second POST carried the same idempotencyGuid');
    // two POSTs: the one the kill cut off and the one after the restart (the follow-up's evidence requests aside)
    assert.equal(storecove.submitCalls, callsBefore + 2);
    await stopService(service);

    // phase4: the same crash; the gateway does not send a second copy on its own
    const p4 = peppolWorkspace('phase4');
    phase4.behaviour.hangOnce = true;
    const sentBefore = phase4.sent.length;
    service = startService(p4, env);
    writeFileSync(join(p4.inbox, 'members', 'contributie_d.csv'), membersCsv(1, 5002));
    await waitFor('the document is taken', () => phase4.sent.length === sentBefore + 1);
    await stopService(service, 'SIGKILL');
    service = startService(p4, env);
    await waitFor('stopped with the reason', async () => (await deliveries(p4))[0]?.state === 'dead', 120_000);
    const stopped = (await deliveries(p4))[0]!;
    assert.match(stopped.lastError!, /an earlier attempt may have reached phase4 before the gateway stopped, and this access point cannot tell whether it did/);
    assert.equal(phase4.sent.length, sentBefore + 1, 'no second copy');
    // the operator checked the access point's log and decides to send it
    const retry = spawnSync(process.execPath, [CLI, 'retry', String(stopped.id), '--config', p4.config, '--mappings', p4.mappings], { encoding: 'utf-8' });
    assert.equal(retry.status, 0, retry.stderr);
    await waitFor('sent after the retry', async () => (await deliveries(p4))[0]?.state === 'sent');
    assert.equal(phase4.sent.length, sentBefore + 2);
  });
});
