// The IPC between a cluster primary and its workers. Every message carries `weaver`, so ours
// never mix with prom-client's own metrics requests on the same channel.
import type { AdminCall } from '../admin/handler.ts';
import type { ErrorBody } from '../admin/reload-reply.ts';

export type ToWorker =
  | { weaver: 'config'; text: string; file: string }
  | { weaver: 'call'; id: number; op: 'reload'; text: string; file: string }
  | { weaver: 'call'; id: number; op: 'admin'; call: AdminCall }
  | { weaver: 'call'; id: number; op: 'metrics' }
  | { weaver: 'stop' };

export type ToPrimary =
  /** A worker is up and asks which config to run: the primary's accepted text, not the file as it is now. */
  | { weaver: 'boot' }
  | { weaver: 'ready'; listeners: Array<{ name: string; address: string; port: number }> }
  | { weaver: 'result'; id: number; ok: true; value: unknown }
  | { weaver: 'result'; id: number; ok: false; error: ErrorBody };

export function isOurs<T extends { weaver: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { weaver?: unknown }).weaver === 'string';
}
