// The request id ties the client's response, our logs and the upstream's logs together. A
// client's (or the hop before us') id is kept when it is a plain short token, so a trace can
// start outside; anything else could smuggle text into logs and is replaced.
import { nextId } from '../connection.ts';

const SANE = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdFrom(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE.test(incoming) ? incoming : nextId();
}
