import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import * as tar from 'tar';
import { componentInstalled, installedState, rulesetFor, standardsHome, standardsInstalled, verifyComponent } from '../src/validation/artefacts.js';
import { validateDocument } from '../src/validation/index.js';
import { installStandards, type InstallResult } from '../src/validation/install.js';
import { JvmEngine } from '../src/validation/jvm-engine.js';
import { manifest, sefPath } from '../src/validation/manifest.js';
import { download, LookupFailedError } from '../src/validation/download.js';
import { SaxonJsEngine } from '../src/validation/saxonjs-engine.js';
import { buildOfficialMirror, MirrorServer, writeTagFeed } from './helpers/artefact-mirror.js';
import { CLI, tempDir } from './helpers/paths.js';

const ALL = Object.keys(manifest().components);
const FAST_RETRY = { attempts: 3, pauseMs: 50, timeoutMs: 120_000 };
const EN16931_ZIP = manifest().components['en16931-1.3.16']!.parts[0]!.url;
const EN16931_XSLT = 'en16931/ubl/xslt/EN16931-UBL-validation.xslt';

/** Runs the CLI without blocking this process (the mirror server answers from it). */
function cli(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** Nothing of an install is left beside the target: no staging folder, no previous tree. */
function leftovers(home: string): string[] {
  return readdirSync(dirname(home)).filter((n) => n.startsWith(`${basename(home)}.`));
}

describe('installing the official validation artefacts', function () {
  this.timeout(600_000);

  it('a name that cannot be looked up is not retried: the download gives up at once and says why', async () => {
    // .invalid never resolves (RFC 2606): what a machine without internet or name server sees for every host
    const retries: string[] = [];
    const started = Date.now();
    await assert.rejects(
      download('https://artefacts.invalid/UBL-2.1.zip', join(tempDir(), 'x.zip'), { attempts: 4, pauseMs: 2_000, timeoutMs: 60_000 }, (why) =>
        retries.push(why),
      ),
      (err: Error) => err instanceof LookupFailedError && /artefacts\.invalid cannot be looked up .*no internet or no name server/.test(err.message),
    );
    assert.deepEqual(retries, [], 'not retried');
    assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`);
  });
  let goodDir: string;
  let good: MirrorServer;

  before(async () => {
    goodDir = tempDir('igw-mirror-');
    await buildOfficialMirror(goodDir);
    writeTagFeed(goodDir, manifest().feeds.peppol!.url, ['v3.0.19', 'v3.0.22', '3.0.15']);
    writeTagFeed(goodDir, manifest().feeds.en16931!.url, ['validation-1.3.16', 'validation-1.3.15']);
    good = new MirrorServer(goodDir);
    await good.start();
  });
  after(async () => good?.stop());

  it('downloads every component from its official address (a local mirror), checks each file, compiles the stylesheets; an interrupted download is tried again', async () => {
    const home = join(tempDir('igw-std-'), 'standards');
    good.interruptOnce.add(MirrorServer.pathOf(EN16931_ZIP));
    const lines: string[] = [];
    const result = await installStandards({ from: good.url, home, policy: FAST_RETRY, progress: (l) => lines.push(l) });
    assert.deepEqual(result.failed, []);
    assert.deepEqual(result.installed.sort(), [...ALL].sort());
    assert.equal(good.requests.get(MirrorServer.pathOf(EN16931_ZIP)), 2, 'the cut-off download was tried again');
    assert.ok(
      lines.some((l) => /stopped after \d+ of \d+ bytes|terminated|other side closed/.test(l) && l.includes('trying again')),
      lines.join('\n'),
    );
    const state = installedState(home);
    for (const id of ALL) assert.deepEqual(verifyComponent(id, home, state), [], id);
    for (const sheet of manifest().rulesets.peppol.flatMap((r) => r.stylesheets)) assert.ok(existsSync(join(home, sefPath(sheet))), sefPath(sheet));
    // only what the gateway uses is taken from an archive
    assert.ok(!existsSync(join(home, 'en16931', 'build')));
    assert.deepEqual(leftovers(home), []);

    // --check: intact, the releases by date, and the feed that tells of a newer Peppol release
    const check = await cli(['install-standards', '--check'], { STANDARDS_HOME: home, STANDARDS_MIRROR: good.url });
    assert.equal(check.status, 3, check.stdout + check.stderr);
    assert.match(check.stdout, /peppol-bis-3\.0\.21 +installed, every file intact/);
    assert.match(check.stdout, /peppol +3\.0\.19 +from 2025-08-25 +installed\s/);
    assert.match(check.stdout, /peppol +3\.0\.21 +from 2026-08-24 +installed, in force today/);
    assert.match(check.stdout, /peppol: NEWER RELEASE PUBLISHED: v3\.0\.22 \(this version of invoice-gateway knows up to 3\.0\.21\)/);
    assert.match(check.stdout, /en16931: no newer release than 1\.3\.16 published/);
    assert.match(check.stdout, /nlcius: could not check for newer releases/);
  });

  it('refuses a file whose SHA-256 differs: that component is not installed, nothing of it is left half-way, an installed copy stays', async () => {
    const badDir = tempDir('igw-mirror-bad-');
    await buildOfficialMirror(badDir, (installed, bytes) =>
      installed === EN16931_XSLT ? Buffer.from(bytes.toString('utf-8').replace('BR-CO-15', 'BR-CO-99')) : bytes,
    );
    const bad = new MirrorServer(badDir);
    await bad.start();
    try {
      const home = join(tempDir('igw-std-'), 'standards');
      const run = await cli(['install-standards'], { STANDARDS_HOME: home, STANDARDS_MIRROR: bad.url });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /NOT installed[\s\S]*en16931-1\.3\.16[\s\S]*altered \(SHA-256 differs\)[^\n]*en16931\/ubl\/xslt\/EN16931-UBL-validation\.xslt/);
      const state = installedState(home);
      assert.ok(!componentInstalled('en16931-1.3.16', state));
      assert.ok(componentInstalled('nlcius-2.0.3.12', state), 'the other components are installed');
      assert.ok(!existsSync(join(home, 'en16931')), 'no file of the refused component is left');
      assert.ok(!standardsInstalled(state), 'without EN 16931 the validator does not count as installed');
      assert.deepEqual(leftovers(home), []);

      // over a good installation, a bad download changes nothing of what was there
      const result: InstallResult = await installStandards({ from: good.url, home, policy: FAST_RETRY });
      assert.deepEqual(result.failed, []);
      const again = await installStandards({ from: bad.url, home, policy: FAST_RETRY, force: true });
      assert.deepEqual(
        again.failed.map((f) => f.component),
        ['en16931-1.3.16'],
      );
      assert.ok(again.kept.includes('en16931-1.3.16'));
      assert.deepEqual(verifyComponent('en16931-1.3.16', home), []);
      assert.ok(standardsInstalled(installedState(home)));
      assert.deepEqual(leftovers(home), []);
    } finally {
      await bad.stop();
    }
  });

  it('a partial source (an archive with two of the components) installs what it has and says what is missing', async () => {
    const archive = join(tempDir('igw-partial-'), 'standards-partial.tar.gz');
    await tar.c(
      { gzip: true, file: archive, cwd: dirname(standardsHome()), prefix: '' },
      ['ubl-2.1', 'nlcius'].map((f) => join(basename(standardsHome()), f)),
    );
    const home = join(tempDir('igw-std-'), 'standards');
    const run = await cli(['install-standards', '--from', archive], { STANDARDS_HOME: home });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /installed into [^\n]*\n {2}ubl-2\.1: [^\n]*\n {2}nlcius-2\.0\.3\.12: /);
    assert.match(run.stdout, /NOT installed[\s\S]*en16931-1\.3\.16[\s\S]*missing: en16931\/[^\n]*\(not in the archive /);
    assert.match(run.stdout, /exact: [^\n]*\n {4}missing: exact\/exact-online-eExact-XML\.xsd/);
    assert.match(run.stdout, /--from <folder\|archive\|URL> or STANDARDS_MIRROR/);
    const state = installedState(home);
    assert.deepEqual(
      ALL.filter((id) => componentInstalled(id, state)),
      ['ubl-2.1', 'nlcius-2.0.3.12'],
    );
  });

  it('an older and a newer Peppol release side by side: each invoice is checked with the release in force on its issue date', async () => {
    const base = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
    // a KVK number (0106) of 7 digits: the May 2026 release (3.0.21) warns about it, 3.0.19 has no such rule
    const shortKvk = base.replace(/<cbc:EndpointID schemeID="[^"]*">[^<]*<\/cbc:EndpointID>/, '<cbc:EndpointID schemeID="0106">1234567</cbc:EndpointID>');
    assert.notEqual(shortKvk, base);
    const issued = (day: string): string => shortKvk.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, `<cbc:IssueDate>${day}</cbc:IssueDate>`);
    assert.equal(rulesetFor('peppol', '2026-08-23').release, '3.0.19');
    assert.equal(rulesetFor('peppol', '2026-08-24').release, '3.0.21');
    assert.equal(rulesetFor('peppol', '2019-01-01').release, '3.0.19', 'before the first known release: the oldest');
    const engines = [new SaxonJsEngine(), new JvmEngine({ size: 1 })];
    try {
      for (const engine of engines) {
        const before = await validateDocument(engine, issued('2026-03-01'), 'peppol');
        const after = await validateDocument(engine, issued('2026-09-01'), 'peppol');
        assert.equal(before.release, '3.0.19', engine.name);
        assert.equal(after.release, '3.0.21', engine.name);
        assert.match(after.artefacts, /Peppol BIS Billing 3\.0\.21/);
        assert.ok(!before.findings.some((f) => f.rule === 'PEPPOL-COMMON-R054'), `${engine.name}: 3.0.19 has no KVK format rule`);
        assert.ok(
          after.findings.some((f) => f.rule === 'PEPPOL-COMMON-R054' && f.severity === 'warning'),
          `${engine.name}: ${JSON.stringify(after.findings)}`,
        );
        assert.ok(before.valid && after.valid, 'a warning does not reject');
      }
    } finally {
      for (const engine of engines) await engine.close();
    }
  });
});
