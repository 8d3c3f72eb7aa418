// Loads each configured feed from a file or a URL, now and then every `refreshMs`, and hands the
// engine the whole entry list of a feed each time it changes. A failed refresh (unreadable,
// HTTP error, timeout, too large, unparsable) changes nothing: the engine keeps the last good
// copy, and status() says what went wrong. URLs must be loopback unless remote ones are allowed
// on purpose: a feed URL is configuration, but a proxy should not become a fetcher of anything.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { request } from 'undici';
import { BUNDLED_BENIGN_JA3, ja3Collisions, loadBenignJa3, type Ja3Collision } from './benign-ja3.ts';
import type { FeedAction, IntelEntry } from './entries.ts';
import { IntelError } from './errors.ts';
import type { FeedConfig, IntelOptions } from './options.ts';
import { parseFeed, type FeedFormat, type FeedLineError } from './parse.ts';

export interface FeedUpdateInfo {
  feed: string;
  /** The path or URL it came from. */
  source: string;
  format: FeedFormat;
  action: FeedAction;
  loadedAt: number;
  skipped: number;
  errors: FeedLineError[];
  /** Listed JA3s that benign software shares (downgraded to 'flag' when downgradeBenignJa3). */
  collisions: Ja3Collision[];
}

export interface FeedStatus {
  name: string;
  source: string;
  ok: boolean;
  entries: number;
  skipped: number;
  lastLoadedAt?: number;
  lastError?: { code: string; message: string; at: number };
}

type Log = { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };

export interface FeedLoaderOptions {
  options: IntelOptions;
  /** Where relative paths start (the config file's directory). */
  baseDir: string;
  /** The full, new entry list of one feed. Not called when a refresh fails or nothing changed. */
  onUpdate: (feed: string, entries: IntelEntry[], info: FeedUpdateInfo) => void;
  log?: Log;
}

interface FeedState {
  config: FeedConfig;
  source: string;
  status: FeedStatus;
  digest?: string;
  timer?: NodeJS.Timeout;
  running?: Promise<FeedStatus>;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** A failed feed is tried again after this long, or its own refreshMs if that is shorter. */
const RETRY_MS = 60_000;

export class FeedLoader {
  private readonly opts: FeedLoaderOptions;
  private readonly feeds = new Map<string, FeedState>();
  private benign = new Map<string, string>();
  private stopped = false;

  constructor(opts: FeedLoaderOptions) {
    this.opts = opts;
    for (const config of opts.options.feeds) {
      if (this.feeds.has(config.name)) throw new IntelError('WEAVER_ERR_INTEL_CONFIG', `feed "${config.name}" is configured twice`);
      if ((config.path === undefined) === (config.url === undefined)) {
        throw new IntelError('WEAVER_ERR_INTEL_CONFIG', `feed "${config.name}" needs exactly one of path and url`);
      }
      if (config.url !== undefined) checkUrl(config.url, opts.options.allowRemoteUrls, config.name);
      const source = config.url !== undefined ? displayUrl(config.url) : isAbsolute(config.path!) ? config.path! : resolve(opts.baseDir, config.path!);
      this.feeds.set(config.name, { config, source, status: { name: config.name, source, ok: false, entries: 0, skipped: 0 } });
    }
  }

  /** Loads every feed once (a failing feed is logged, not fatal), then keeps them fresh. */
  async start(): Promise<void> {
    const extra = this.opts.options.benignJa3.map((f) => (isAbsolute(f) ? f : resolve(this.opts.baseDir, f)));
    this.benign = loadBenignJa3([BUNDLED_BENIGN_JA3, ...extra]);
    await Promise.all([...this.feeds.keys()].map((name) => this.refresh(name)));
  }

  stop(): void {
    this.stopped = true;
    for (const f of this.feeds.values()) clearTimeout(f.timer);
  }

  status(): FeedStatus[] {
    return [...this.feeds.values()].map((f) => ({ ...f.status }));
  }

  /** Fetches and parses one feed now; resolves with its status (never rejects for a bad feed). */
  refresh(name: string): Promise<FeedStatus> {
    const feed = this.feeds.get(name);
    if (!feed) return Promise.reject(new IntelError('WEAVER_ERR_INTEL_CONFIG', `no feed named "${name}"`));
    feed.running ??= this.load(feed).finally(() => {
      feed.running = undefined;
      this.schedule(feed);
    });
    return feed.running;
  }

  private schedule(feed: FeedState): void {
    clearTimeout(feed.timer);
    if (this.stopped) return;
    const delay = feed.status.ok ? feed.config.refreshMs : Math.min(RETRY_MS, feed.config.refreshMs);
    feed.timer = setTimeout(() => void this.refresh(feed.config.name), delay).unref();
  }

  private async load(feed: FeedState): Promise<FeedStatus> {
    const { config, source } = feed;
    try {
      const text = config.url !== undefined ? await fetchText(config.url, source, config) : await readText(source, config.maxBytes);
      const digest = createHash('sha256').update(text).digest('hex');
      if (digest === feed.digest) {
        feed.status = { ...feed.status, ok: true, lastLoadedAt: Date.now() };
        return { ...feed.status };
      }
      const parsed = parseFeed(text, config.format, config.name, { maxBytes: config.maxBytes });
      const collisions = ja3Collisions(parsed.entries, this.benign);
      const downgrade = config.action === 'deny' && this.opts.options.downgradeBenignJa3 ? new Map(collisions.map((c) => [c.ja3, c.benign])) : undefined;
      const entries: IntelEntry[] = parsed.entries.map((e) => {
        const benign = e.kind === 'ja3' ? downgrade?.get(e.ja3) : undefined;
        return benign === undefined ? { ...e, action: config.action } : { ...e, action: 'flag', downgraded: benign };
      });
      const info: FeedUpdateInfo = {
        feed: config.name, source, format: parsed.format, action: config.action, loadedAt: Date.now(),
        skipped: parsed.skipped, errors: parsed.errors, collisions,
      };
      this.opts.onUpdate(config.name, entries, info);
      feed.digest = digest;
      feed.status = { name: config.name, source, ok: true, entries: entries.length, skipped: parsed.skipped, lastLoadedAt: info.loadedAt };
      this.opts.log?.info(
        { feed: config.name, format: parsed.format, entries: entries.length, skipped: parsed.skipped, firstErrors: parsed.errors.slice(0, 3), collisions: collisions.length },
        'threat-intel feed loaded',
      );
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const code = typeof e.code === 'string' && e.code.startsWith('WEAVER_ERR_') ? e.code : 'WEAVER_ERR_INTEL_FETCH';
      feed.status = { ...feed.status, ok: false, lastError: { code, message: String(e.message ?? err), at: Date.now() } };
      this.opts.log?.warn({ feed: config.name, err: feed.status.lastError }, 'threat-intel feed not refreshed; keeping the last good copy');
    }
    return { ...feed.status };
  }
}

function checkUrl(text: string, allowRemote: boolean, feed: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new IntelError('WEAVER_ERR_INTEL_URL', `feed "${feed}": not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IntelError('WEAVER_ERR_INTEL_URL', `feed "${feed}": only http and https URLs`);
  if (allowRemote) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  const isLoopback = host === 'localhost' || (family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6'));
  if (!isLoopback) throw new IntelError('WEAVER_ERR_INTEL_URL', `feed "${feed}": ${url.host} is not a loopback address (set intel.allowRemoteUrls to fetch it)`);
}

async function readText(file: string, maxBytes: number): Promise<string> {
  const size = (await stat(file)).size;
  if (size > maxBytes) throw new IntelError('WEAVER_ERR_INTEL_TOO_LARGE', `${file}: ${size} bytes, over the limit of ${maxBytes}`);
  return readFile(file, 'utf8');
}

/** A feed URL may carry a key (user:password@, ?key=…): logs and the admin API get it without. */
function displayUrl(text: string): string {
  const url = new URL(text);
  if (url.username || url.password) [url.username, url.password] = ['***', ''];
  if (url.search) url.search = '?***';
  return url.toString();
}

async function fetchText(url: string, shown: string, config: FeedConfig): Promise<string> {
  const signal = AbortSignal.timeout(config.timeoutMs);
  // undici's request() follows no redirect: a 3xx is a failed fetch, like any status but 200.
  const res = await request(url, { signal, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
  if (res.statusCode !== 200) {
    res.body.resume();
    throw new IntelError('WEAVER_ERR_INTEL_FETCH', `${shown}: HTTP ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > config.maxBytes) {
      res.body.destroy();
      throw new IntelError('WEAVER_ERR_INTEL_TOO_LARGE', `${shown}: more than ${config.maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
