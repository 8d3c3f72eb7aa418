// Shared by the config tests: temp dirs, a minimal valid config, and the issues a text yields.
import { loadConfigText } from '../../proxy/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../proxy/errors.ts';

export { tempDir } from '../support/temp-dir.ts';

/** The smallest config that loads; tests append or replace sections. */
export const minimalYaml = `listeners:
  - name: web
    port: 8443
handshakePools:
  primary:
    kind: local
    certificates:
      - dev: true
`;

/** Issues of a text that must fail to load, as `line:col path: message` strings. */
export function issuesOf(text: string, file = '/cfg/weaver.yaml'): string[] {
  try {
    loadConfigText(text, file);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(short);
    throw err;
  }
  throw new Error('expected the config to be rejected, but it loaded');
}

export function short(i: ConfigIssue): string {
  return i.path ? `${i.line}:${i.col} ${i.path}: ${i.message}` : `${i.line}:${i.col}: ${i.message}`;
}
