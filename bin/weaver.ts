// The weaver command line: one small module per sub-command in cli/.
const usage = `Usage:
  weaver [run] -c config.yaml        run the proxy
  weaver check -c config.yaml        validate a config (exit 0 when valid, 1 otherwise)
  weaver cert --host NAME [--host NAME…] [--out DIR] [--days N]
                                     write a development certificate and key
  weaver fingerprint [--hex HEX | --pcap FILE]
                                     ClientHello bytes (hex, one per line on stdin) → JSON lines
                                     with sni, alpn, ja3, ja3_string, ja4, ja4_r, ja4_o, ja4_ro
  weaver ata evaluate --train FILE (--test FILE | --holdout FRACTION) --format nsl-kdd|jsonl [--supervised]
                                     traffic-analyzer detectors on labelled data → JSON (AUROC,
                                     detection at 1 % / 5 % false positives, recall per category)
  weaver segmentation export --format nft -c config.yaml
                                     the segmentation policy (config, stored rules, feeds) as nftables
  weaver audit verify FILE…          check a segmentation audit log's hash chain (oldest file first)
  weaver --version | --help
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('../cli/run.ts')).runCommand,
  check: async () => (await import('../cli/check.ts')).checkCommand,
  cert: async () => (await import('../cli/cert.ts')).certCommand,
  fingerprint: async () => (await import('../cli/fingerprint.ts')).fingerprintCommand,
  ata: async () => (await import('../cli/ata.ts')).ataCommand,
  segmentation: async () => (await import('../cli/segmentation.ts')).segmentationCommand,
  audit: async () => (await import('../cli/audit.ts')).auditCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default;
    process.stdout.write(`weaver ${pkg.version} (node ${process.versions.node})\n`);
    return 0;
  }
  if (first === undefined || first.startsWith('-')) return (await commands.run!())(argv);
  const load = commands[first];
  if (!load) {
    process.stderr.write(`weaver: unknown command "${first}"\n\n${usage}`);
    return 2;
  }
  return (await load())(rest);
}
