// The endpoint opens connections only to the destinations its config lists: `host:port`, or
// `host:*` for any port of a host. Hosts compare case-insensitively; nothing else matches.
export class AllowList {
  private readonly exact = new Set<string>();
  private readonly anyPort = new Set<string>();

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const at = e.lastIndexOf(':');
      const host = normalizeHost(e.slice(0, at));
      const port = e.slice(at + 1);
      if (port === '*') this.anyPort.add(host);
      else this.exact.add(`${host}:${Number(port)}`);
    }
  }

  allows(host: string, port: number): boolean {
    const h = normalizeHost(host);
    return this.anyPort.has(h) || this.exact.has(`${h}:${port}`);
  }
}

function normalizeHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}
