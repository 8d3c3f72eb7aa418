// Routes that plugins mount on the admin API, under /api/plugins/<plugin>/<path>.
import type { AdminHandler } from '../plugin/types.ts';

interface Route {
  plugin: string;
  method: string;
  path: string;
  handler: AdminHandler;
}

export class AdminRoutes {
  private readonly routes = new Map<string, Route>();

  add(plugin: string, method: string, path: string, handler: AdminHandler): void {
    const clean = '/' + path.replace(/^\/+|\/+$/g, '');
    const key = `${method} /api/plugins/${plugin}${clean === '/' ? '' : clean}`;
    if (this.routes.has(key)) throw new Error(`admin route ${key} is registered twice`);
    this.routes.set(key, { plugin, method, path: clean, handler });
  }

  removePlugin(plugin: string): void {
    for (const [key, route] of this.routes) if (route.plugin === plugin) this.routes.delete(key);
  }

  match(method: string, pathname: string): Route | undefined {
    return this.routes.get(`${method} ${pathname.replace(/\/+$/, '') || '/'}`);
  }

  list(): Array<{ plugin: string; method: string; path: string }> {
    return [...this.routes.values()].map(({ plugin, method, path }) => ({ plugin, method, path: `/api/plugins/${plugin}${path === '/' ? '' : path}` }));
  }
}
