import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { workspace, type Workspace } from './service.js';

/** A real SMTP server on a loopback port; every accepted message is parsed back with mailparser. */
export interface TestSmtp {
  port: number;
  received: ParsedMail[];
  /** the SMTP side of each accepted message: envelope recipients, TLS, login, arrival time */
  envelopes: { to: string[]; secure: boolean; user?: string; at: number }[];
  /** each accepted message as the server got it (for signature checks) */
  raw: Buffer[];
  /** answer this code (e.g. 451 or 550) for matching recipients; return undefined to accept */
  reject?: (recipient: string) => { code: number; message: string } | undefined;
  close(): Promise<void>;
}

/** Options of the test server: STARTTLS with this key and certificate, and a required login. */
export interface TestSmtpOptions {
  tls?: { key: Buffer; cert: Buffer };
  auth?: { user: string; pass: string };
}

export async function startSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const state: TestSmtp = { port: 0, received: [], envelopes: [], raw: [], close: async () => undefined };
  const server = new SMTPServer({
    authOptional: !options.auth,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    disabledCommands: options.tls ? [] : ['STARTTLS'],
    // a login only over TLS, as a real server would insist
    allowInsecureAuth: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    logger: false,
    size: 50 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      const answer = state.reject?.(address.address);
      if (answer) {
        const err = new Error(answer.message) as Error & { responseCode: number };
        err.responseCode = answer.code;
        callback(err);
        return;
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.raw.push(Buffer.concat(chunks));
        state.envelopes.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          ...(session.user ? { user: String(session.user) } : {}),
          at: Date.now(),
        });
        void simpleParser(Buffer.concat(chunks)).then((mail) => {
          state.received.push(mail);
          callback();
        }, callback);
      });
    },
  });
  // a client killed in the middle of a conversation resets its connection: not an error of the server
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

/** Every customer gets the membership PDF by e-mail. */
export const MEMBERSHIP_CUSTOMERS = { defaults: { paymentTermsDays: 30, routes: [{ format: 'pdf', transport: 'email', template: 'membership' }] } };

/**
 * A workspace whose mail goes to `smtp` as TV De Lobbers (Reply-To and archive BCC set); `target`
 * overrides settings of that SMTP target.
 */
export function mailWorkspace(
  smtp: { port: number },
  target: Record<string, unknown> = {},
  customers: Record<string, unknown> = MEMBERSHIP_CUSTOMERS,
): Workspace {
  const ws = workspace({ email: { server: 'mail' } }, customers);
  const file = join(ws.config, 'gateway.yaml');
  const settings = parse(readFileSync(file, 'utf-8')) as { targets: Record<string, unknown> };
  settings.targets['mail'] = {
    kind: 'smtp',
    host: '127.0.0.1',
    port: smtp.port,
    secure: false,
    tlsRejectUnauthorized: false,
    from: 'TV De Lobbers <penningmeester@tvdelobbers.nl>',
    replyTo: 'penningmeester@tvdelobbers.nl',
    bcc: 'archief@tvdelobbers.nl',
    ...target,
  };
  writeFileSync(file, stringify(settings));
  return ws;
}
