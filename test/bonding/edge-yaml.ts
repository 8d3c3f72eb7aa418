// The edge's `plugins:` block for one bonded session named "main": the loopback tests and the
// netns bed build their edge config around it.

export interface EdgeChannelYaml {
  readonly name: string;
  readonly remote: string;
  readonly local?: string | undefined;
  readonly weight?: number | undefined;
}

export interface EdgePluginYaml {
  readonly plugin: string;
  readonly cert: { readonly certFile: string; readonly keyFile: string };
  readonly peerCertFile: string;
  readonly mode: string;
  readonly probe: { readonly intervalMs: number; readonly downAfterMs: number };
  readonly reconnect: { readonly minMs: number; readonly maxMs: number };
  readonly failbackMs: number;
  /** More session keys, indented as session keys. */
  readonly sessionExtra?: string | undefined;
  readonly channels: readonly EdgeChannelYaml[];
}

export function edgePluginYaml(o: EdgePluginYaml): string {
  const channels = o.channels
    .map((ch) => `              - { name: ${ch.name}, remote: "${ch.remote}"${ch.local ? `, local: ${ch.local}` : ''}${ch.weight ? `, weight: ${ch.weight}` : ''} }`)
    .join('\n');
  return `plugins:
  - use: ${o.plugin}
    options:
      edge:
        certificate: ${o.cert.certFile}
        key: ${o.cert.keyFile}
        sessions:
          - name: main
            mode: ${o.mode}
            peerCertificates: [${o.peerCertFile}]
            probe: { intervalMs: ${o.probe.intervalMs}, downAfterMs: ${o.probe.downAfterMs} }
            reconnect: { minMs: ${o.reconnect.minMs}, maxMs: ${o.reconnect.maxMs} }
            failbackMs: ${o.failbackMs}
${o.sessionExtra ?? ''}
            channels:
${channels}
`;
}
