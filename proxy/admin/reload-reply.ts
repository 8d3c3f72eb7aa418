// How a reload's outcome reads on the admin API and over the cluster's IPC: 200 with the
// summary, 422 with the reasons (config issues with file:line:col) when the config was refused
// and the running one left as it was.
import { WeaverError, type ConfigIssue } from '../errors.ts';
import type { AdminReply } from './handler.ts';

export interface ErrorBody {
  error: string;
  code: string;
  issues?: ConfigIssue[];
  plugin?: string;
}

/** ConfigError's issues and PluginError's plugin kept, so a worker's refusal reads like a local one. */
export function errorBody(err: unknown): ErrorBody {
  if (!(err instanceof WeaverError)) return { error: (err as Error).message ?? String(err), code: 'WEAVER_ERR_INTERNAL' };
  const { issues, plugin } = err as Partial<ErrorBody>;
  return { error: err.message, code: err.code, ...(issues ? { issues } : {}), ...(plugin ? { plugin } : {}) };
}

/**
 * A refused config is the caller's to fix (422); a stopping proxy is 503; workers that failed
 * or disagreed (some applied it, some not) are the server's fault (500).
 */
export async function reloadReply(reload: () => Promise<object>): Promise<AdminReply> {
  try {
    return { status: 200, body: { reloaded: true, ...(await reload()) } };
  } catch (err) {
    if (!(err instanceof WeaverError)) throw err;
    const status = err.code === 'WEAVER_ERR_STOPPING' ? 503 : err.code === 'WEAVER_ERR_RELOAD_PARTIAL' || err.code === 'WEAVER_ERR_WORKER' ? 500 : 422;
    return { status, body: { reloaded: false, ...errorBody(err) } };
  }
}
