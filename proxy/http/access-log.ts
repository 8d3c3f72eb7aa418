// One line per request when the access log is on, and the request counter either way. The
// line carries the path without its query string (queries carry tokens and personal data) and
// never a header, so credentials cannot reach it.
import type { Logger } from 'pino';
import type { CoreMetrics } from '../metrics.ts';
import type { ProxyRequest } from './request-context.ts';

export function recordRequest(pr: ProxyRequest, metrics: CoreMetrics, log: Logger | undefined): void {
  metrics.requests.inc({ route: pr.route ?? '', status: String(pr.status) });
  if (!log) return;
  log.info(
    {
      req: pr.id,
      conn: pr.connection.id,
      method: pr.method,
      host: pr.host,
      path: pr.path,
      status: pr.status,
      bytes: pr.bytes,
      ms: Math.round((performance.now() - pr.startedMark) * 100) / 100,
      route: pr.route,
      upstream: pr.upstream,
      server: pr.candidate?.id,
      attempts: pr.attempts > 1 ? pr.attempts : undefined,
      tags: pr.connection.tags,
    },
    'request',
  );
}
