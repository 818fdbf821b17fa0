import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { tempDir } from './paths.js';

/** A real Dovecot IMAP server (Debian dovecot-imapd) on a loopback port, in a folder of its own. */
export interface TestDovecot {
  port: number;
  user: string;
  password: string;
  /** the user's mail folders (Maildir), to read what arrived without IMAP */
  maildir: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Dovecot with one user (password login, no TLS: loopback only) whose Maildir has Sent and
 * Drafts folders marked with their special use (RFC 6154), as a mail provider's would. As root, the
 * mail processes run as nobody (Dovecot refuses uid 0); otherwise everything runs as this user.
 */
export async function startDovecot(): Promise<TestDovecot> {
  const dir = tempDir('igw-dovecot-');
  const port = await freePort();
  const user = 'facturen@devries-kantoor.nl';
  const password = 'imap-password-1';
  const me = userInfo();
  const root = me.uid === 0;
  const mailUid = root ? 65534 : me.uid;
  const mailGid = root ? 65534 : me.gid;
  // Dovecot's auth process (its own user) reads the password file in here
  chmodSync(dir, 0o755);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  if (root) chownSync(home, mailUid, mailGid);
  writeFileSync(join(dir, 'passwd'), `${user}:{PLAIN}${password}:${mailUid}:${mailGid}::${home}\n`);
  const internal = root ? 'dovecot' : me.username;
  const login = root ? 'dovenull' : me.username;
  writeFileSync(
    join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
instance_name = igw-${port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${internal}
default_login_user = ${login}
first_valid_uid = ${Math.min(mailUid, 500)}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${mailUid} gid=${mailGid} home=${home}
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`,
  );
  const child: ChildProcess = spawn('/usr/sbin/dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const log = (): string => {
    try {
      return `${output}${readFileSync(join(dir, 'dovecot.log'), 'utf-8')}`;
    } catch {
      return output;
    }
  };
  // ready when the IMAP port greets
  const until = Date.now() + 30_000;
  for (;;) {
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
    });
    if (greeted) break;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`dovecot did not start: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    user,
    password,
    maildir: join(home, 'Maildir'),
    log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
