// Every error Weaver raises on purpose carries a stable code, like undici's UND_ERR_*:
// logs, metrics and tests match on `code`, never on message text.
export class WeaverError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WeaverError';
    this.code = code;
  }
}

export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Key path in the document, e.g. `listeners[0].port`. */
  path: string;
  message: string;
}

export class ConfigError extends WeaverError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], code = 'WEAVER_ERR_CONFIG') {
    super(code, issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.path ? ` at ${i.path}` : '';
  return `${i.file}:${i.line}:${i.col}${where}: ${i.message}`;
}

export class ClientHelloError extends WeaverError {
  /** The bytes read before the error, so the caller can answer a plain-HTTP client in kind. */
  received: Buffer | undefined;
  constructor(code: ClientHelloErrorCode, message: string) {
    super(code, message);
    this.name = 'ClientHelloError';
  }
}

export type ClientHelloErrorCode =
  | 'WEAVER_ERR_HELLO_NOT_TLS'
  | 'WEAVER_ERR_HELLO_MALFORMED'
  | 'WEAVER_ERR_HELLO_TOO_LARGE'
  | 'WEAVER_ERR_HELLO_TIMEOUT'
  | 'WEAVER_ERR_HELLO_TRUNCATED';

export class CertificateError extends WeaverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEAVER_ERR_CERTIFICATE', message, options);
    this.name = 'CertificateError';
  }
}

export class PluginError extends WeaverError {
  readonly plugin: string;
  constructor(code: PluginErrorCode, plugin: string, message: string, options?: { cause?: unknown }) {
    super(code, `plugin ${plugin}: ${message}`, options);
    this.name = 'PluginError';
    this.plugin = plugin;
  }
}

export type PluginErrorCode =
  | 'WEAVER_ERR_PLUGIN_LOAD'
  | 'WEAVER_ERR_PLUGIN_OPTIONS'
  | 'WEAVER_ERR_PLUGIN_THREW'
  | 'WEAVER_ERR_PLUGIN_TIMEOUT'
  | 'WEAVER_ERR_PLUGIN_BAD_DECISION';

export class ListenError extends WeaverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEAVER_ERR_LISTEN', message, options);
    this.name = 'ListenError';
  }
}
