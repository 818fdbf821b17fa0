import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './net.js';
import { tempDir } from './paths.js';

/** A real Postfix MTA (Debian postfix) on a loopback port, in a folder of its own. */
export interface TestPostfix {
  port: number;
  /** the mails Postfix delivered to a mailbox it keeps itself (not one handed in as a Maildir of another server) */
  delivered(address: string): Promise<ParsedMail[]>;
  log(): string;
  stop(): Promise<void>;
}

export interface PostfixOptions {
  /** the domains Postfix is the final destination for; any other recipient is refused at RCPT */
  domains: string[];
  /**
   * the addresses that exist, each delivered to a Maildir: one of its own, or the path given (the
   * Maildir of a Dovecot user, so a bounce lands in the mailbox the gateway reads)
   */
  mailboxes: Record<string, string | true>;
  /** domains whose mail Postfix accepts and throws away (a bench measures acceptance, not delivery) */
  discard?: string[];
}

const MAIL_UID = 65534;

const SERVICES = `pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`;

async function greets(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', (d) => {
      socket.end('QUIT\r\n');
      resolve(d.toString().startsWith('220'));
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts Postfix as the final destination of a few domains: an address that is not listed is accepted
 * and then bounced by Postfix itself (unknown user), with a real RFC 3464 DSN to the envelope sender,
 * as a provider's relay does when the remote side refuses. Its master runs as root and its daemons as
 * the postfix user, as in production; the mailboxes are written as nobody (Dovecot's user here).
 */
export async function startPostfix(options: PostfixOptions): Promise<TestPostfix> {
  if (userInfo().uid !== 0) throw new Error('the Postfix tests start a real Postfix, whose master must run as root (as it does on CI)');
  const dir = tempDir('igw-postfix-');
  chmodSync(dir, 0o755);
  const port = await freePort();
  const etc = join(dir, 'etc');
  const data = join(dir, 'data');
  const boxes = join(dir, 'mail');
  for (const d of [etc, data, join(dir, 'queue'), boxes]) mkdirSync(d, { recursive: true });
  chownSync(data, Number(spawnSync('id', ['-u', 'postfix']).stdout.toString().trim()), 0);
  chownSync(boxes, MAIL_UID, MAIL_UID);
  const maildirOf = new Map<string, string>();
  const lines = Object.entries(options.mailboxes).map(([address, where]) => {
    // virtual(8) takes paths under virtual_mailbox_base (/ here), ending in / for a Maildir
    const path = where === true ? join(boxes, address.replace(/[^a-z0-9.-]/gi, '_'), 'Maildir') : where;
    maildirOf.set(address.toLowerCase(), path);
    return `${address} ${path.replace(/^\//, '')}/`;
  });
  writeFileSync(join(etc, 'mailboxes'), `${lines.join('\n')}\n`);
  writeFileSync(join(etc, 'transports'), (options.discard ?? []).map((d) => `${d} discard:\n`).join(''));
  writeFileSync(
    join(etc, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.igw.test
mydomain = igw.test
myorigin = igw.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_reject_unlisted_recipient = no
virtual_mailbox_domains = ${[...options.domains, ...(options.discard ?? [])].join(', ')}
virtual_mailbox_maps = texthash:${etc}/mailboxes
transport_maps = texthash:${etc}/transports
virtual_mailbox_base = /
virtual_uid_maps = static:${MAIL_UID}
virtual_gid_maps = static:${MAIL_UID}
virtual_mailbox_limit = 0
message_size_limit = 104857600
# a delivery deferred by a busy machine (a daemon slow to answer) is tried again within seconds, not minutes
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
disable_dns_lookups = yes
maillog_file_prefixes = ${dir}
maillog_file = ${dir}/maillog
`,
  );
  writeFileSync(join(etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${SERVICES}`);
  const child: ChildProcess = spawn('/usr/sbin/postfix', ['-c', etc, 'start-fg'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const log = (): string => `${output}${existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf-8') : ''}`;
  const until = Date.now() + 60_000;
  while (!(await greets(port))) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`postfix did not start: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    log,
    delivered: async (address) => {
      const maildir = maildirOf.get(address.toLowerCase());
      if (!maildir) throw new Error(`${address} is not a mailbox of this Postfix`);
      const files = ['new', 'cur'].flatMap((sub) => (existsSync(join(maildir, sub)) ? readdirSync(join(maildir, sub)).map((f) => join(maildir, sub, f)) : []));
      return Promise.all(files.sort().map((f) => simpleParser(readFileSync(f))));
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      spawnSync('/usr/sbin/postfix', ['-c', etc, 'stop']);
      await exited;
    },
  };
}
