// The public API for plugin authors: everything a plugin may use, and nothing else.
// Built-in plugins import only this file, exactly like a third-party plugin.
export { definePlugin } from './plugin/define.ts';
export { decide, CONTINUE } from './hooks/decisions.ts';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
export { WeaverError, PluginError } from './errors.ts';
export { seededRandom, sampleIndices, type Random } from './plugin-kit/seeded-random.ts';
export { splitCsvLine } from './plugin-kit/csv-line.ts';
export { EXT as TLS_EXTENSION } from './clienthello/extensions.ts';
export { isGrease } from './clienthello/grease.ts';
export type {
  AdminHandler,
  AdminRequest,
  AdminResponse,
  ClientCertificateInfo,
  CloseSummary,
  ConnectionContext,
  ConnectionDecision,
  Direction,
  HandshakeDecision,
  HandshakeInfo,
  HelloDecision,
  HelloInfo,
  MetricSpec,
  PluginApi,
  PluginDefinition,
  PluginHooks,
  PluginMetrics,
  PluginUpstreamTransports,
  RequestContext,
  RequestDecision,
  ResponseInfo,
  TagValue,
  UpstreamCandidate,
} from './plugin/types.ts';
export type { ClientHello, ClientHelloData, ClientHelloExtension, Fingerprints, HelloArrival, KeyShareEntry } from './clienthello/types.ts';
export type { PluginStore, StoreSetOptions } from './store/types.ts';
export type { UpstreamTarget, UpstreamTransport } from './upstream/transports.ts';
