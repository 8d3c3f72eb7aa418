// The router alone (host classes, prefixes, normalization), then host and path routing through
// the proxy to two origins.
import t from 'tap';
import { request } from 'undici';
import type { RouteConfig } from '../../proxy/config/schema.ts';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { Router, normalizeHost, prefixMatches } from '../../proxy/http/routes.ts';
import { startProxy } from './fixture.ts';

const r = (upstream: string, pathPrefix = '/', host?: string[], name?: string): RouteConfig => ({
  upstream,
  match: { pathPrefix, ...(host ? { host } : {}) },
  ...(name ? { name } : {}),
});

t.test('normalizeHost', async (t) => {
  t.equal(normalizeHost('Example.COM:8443'), 'example.com');
  t.equal(normalizeHost('example.com.'), 'example.com');
  t.equal(normalizeHost('[::1]:443'), '[::1]');
  t.equal(normalizeHost('127.0.0.1:80'), '127.0.0.1');
});

t.test('prefixes match on segment boundaries', async (t) => {
  t.ok(prefixMatches('/', '/anything'));
  t.ok(prefixMatches('/api', '/api'));
  t.ok(prefixMatches('/api', '/api/'));
  t.ok(prefixMatches('/api', '/api/v1'));
  t.notOk(prefixMatches('/api', '/apix'));
  t.ok(prefixMatches('/api/', '/api/v1'));
  t.notOk(prefixMatches('/api/', '/api'));
});

t.test('most specific host first, then longest prefix', async (t) => {
  const router = new Router([
    r('any-root'),
    r('any-api', '/api'),
    r('wild', '/', ['*.example.com']),
    r('wild-deep', '/', ['*.eu.example.com']),
    r('exact', '/', ['www.example.com']),
    r('exact-api', '/api', ['WWW.Example.com'], 'named'),
    r('exact-only-admin', '/admin', ['admin.example.org']),
  ]);
  t.equal(router.match('www.example.com', '/')?.upstream, 'exact');
  t.equal(router.match('www.example.com', '/api/x')?.upstream, 'exact-api');
  t.equal(router.match('www.example.com', '/api/x')?.name, 'named');
  t.equal(router.match('www.example.com', '/apix')?.upstream, 'exact');
  t.equal(router.match('a.example.com', '/api')?.upstream, 'wild', 'a host class beats a longer prefix of a less specific one');
  t.equal(router.match('a.b.example.com', '/')?.upstream, 'wild', 'wildcards match one label or more');
  t.equal(router.match('x.eu.example.com', '/')?.upstream, 'wild-deep', 'the longest wildcard suffix wins');
  t.equal(router.match('example.com', '/api')?.upstream, 'any-api', 'a wildcard does not match its apex');
  t.equal(router.match('admin.example.org', '/other')?.upstream, 'any-root', 'no fitting prefix falls through to less specific hosts');
  t.equal(router.match('admin.example.org', '/admin/x')?.upstream, 'exact-only-admin');
  t.equal(router.match('other.test', '/api')?.upstream, 'any-api');
  t.equal(router.match('other.test', '/')?.name, 'route0', 'unnamed routes are named by position');
});

t.test('ties keep config order; no route at all gives undefined', async (t) => {
  const router = new Router([r('first', '/x'), r('second', '/x'), r('host', '/', ['h.test'])]);
  t.equal(router.match('a.test', '/x')?.upstream, 'first');
  t.equal(router.match('a.test', '/y'), undefined);
  t.equal(router.match('h.test', '/y')?.upstream, 'host');
});

t.test('host and path routing through the proxy', async (t) => {
  const a = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const b = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const fx = await startProxy({
    routes: [
      { upstream: 'a' },
      { upstream: 'b', pathPrefix: '/b' },
      { upstream: 'b', host: ['*.static.test'] },
      { upstream: 'a', host: ['api.test'], pathPrefix: '/b' },
    ],
    upstreams: {
      a: { servers: [{ url: `http://127.0.0.1:${a.port}` }] },
      b: { servers: [{ url: `http://127.0.0.1:${b.port}` }] },
    },
  });
  t.teardown(async () => {
    await fx.close();
    await a.close();
    await b.close();
  });
  const whoAnswers = async (host: string, path: string): Promise<string> => {
    const res = await request(`${fx.url}${path}`, { dispatcher: fx.agent, headers: { host } });
    await res.body.dump();
    const by = res.headers['x-demo-origin'];
    return by === `127.0.0.1:${a.port}` ? 'a' : by === `127.0.0.1:${b.port}` ? 'b' : String(by);
  };
  t.equal(await whoAnswers('plain.test', '/'), 'a');
  t.equal(await whoAnswers('plain.test', '/b/'), 'b');
  t.equal(await whoAnswers('img.STATIC.test:8443', '/'), 'b');
  t.equal(await whoAnswers('api.test', '/b/'), 'a', 'an exact host beats the any-host /b route');
  t.equal(await whoAnswers('api.test', '/'), 'a');
});
