import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMoney, translate } from './i18n.js';
import type { Language } from './users.js';
import { formatDate } from '../model/display.js';

/**
 * The folder of the console's page templates (server-rendered Handlebars, HTML-escaped by default),
 * beside this module: the build copies them into dist/, so a running gateway reads nothing from src/.
 */
export const VIEWS_DIR = fileURLToPath(new URL('./views', import.meta.url));

/** What every page gets besides its own data. */
export interface PageFrame {
  lang: Language;
  title: string;
  /** the menu entry to mark */
  nav?: string;
  actor?: { name: string; role: string };
  csrf?: string;
  canAct?: boolean;
  isAdmin?: boolean;
  canDownload?: boolean;
  /** a one-line message after an action */
  flash?: string;
  flashError?: boolean;
}

/** Compiles every template once at start and renders a page inside the layout. */
export class Views {
  private readonly hb = Handlebars.create();
  private readonly pages = new Map<string, Handlebars.TemplateDelegate>();
  private readonly layout: Handlebars.TemplateDelegate;

  constructor(dir = VIEWS_DIR) {
    const hb = this.hb;
    hb.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
      return translate((options.data as { root: PageFrame }).root.lang, key, options.hash as Record<string, unknown>);
    });
    hb.registerHelper('money', (...args: unknown[]) => {
      // {{money amount}} or {{money amount currency}}: Handlebars passes its options last
      const options = args.pop() as Handlebars.HelperOptions;
      const [amount, currency] = args as [string | undefined, string | undefined];
      return formatMoney((options.data as { root: PageFrame }).root.lang, amount, typeof currency === 'string' ? currency : 'EUR');
    });
    hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    hb.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
    hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
    hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
    hb.registerHelper('json', (v: unknown) => JSON.stringify(v, null, 2));
    hb.registerHelper('date', (iso: string | undefined, options: Handlebars.HelperOptions) => formatDate(iso, (options.data as { root: PageFrame }).root.lang));
    hb.registerHelper('time', (iso: string | undefined) => (iso ? iso.replace('T', ' ').slice(0, 19) : ''));
    hb.registerHelper('pct', (part: number, whole: number) => (whole ? Math.round((100 * part) / whole) : 0));
    hb.registerHelper('entries', (o: Record<string, unknown> | undefined) => Object.entries(o ?? {}).map(([key, value]) => ({ key, value })));
    hb.registerHelper('query', (base: string, params: Record<string, unknown>, before: number) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '' && k !== 'before') q.set(k, String(v));
      q.set('before', String(before));
      return `${base}?${q.toString()}`;
    });
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.hbs'))) {
      const source = readFileSync(join(dir, name), 'utf8');
      // _name.hbs is a partial, used by pages as {{> _name}}
      if (name.startsWith('_')) hb.registerPartial(basename(name, '.hbs'), source);
      else this.pages.set(basename(name, '.hbs'), hb.compile(source));
    }
    this.layout = this.pages.get('layout')!;
  }

  /** The HTML of a page: its template inside the layout. */
  render(page: string, frame: PageFrame, data: Record<string, unknown> = {}): string {
    const template = this.pages.get(page);
    if (!template) throw new Error(`no console page template "${page}"`);
    const context = { ...data, ...frame };
    const body = template(context);
    return this.layout({ ...context, body: new this.hb.SafeString(body) });
  }
}
