/**
 * A tiny method + path router for `node:http`.
 *
 * Runtime: node (homeserver only).
 *
 * Patterns are literal segments and `:name` parameters (one whole segment each). Parameters are
 * percent-decoded; a malformed escape means no route matches. A path that matches some route but not with this
 * method is reported as `method-not-allowed` so the dispatcher can answer 405 instead of 404, as the
 * Client-Server API asks.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (`undefined` when the body was empty). */
  body: unknown;
  /** Aborted when the client goes away or the server closes; long polls and delays listen to it. */
  signal: AbortSignal;
}

/** What the server does with a computed response, used by fault injection. */
export type ResponseFault = { kind: 'drop' } | { kind: 'delay'; delayMs: number };

export interface Reply {
  status: number;
  /** A JSON value, or `JsonText` (json-text.ts) that is written as it is. */
  body: unknown;
  fault?: ResponseFault;
}

export interface Route {
  method: HttpMethod;
  pattern: string;
  /** When true the dispatcher reads and parses a JSON body before calling `handle`. */
  hasBody?: boolean;
  handle(request: RouteRequest): Reply | Promise<Reply> | undefined | Promise<Reply | undefined>;
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed' }
  | { kind: 'not-found' };

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(routes: readonly Route[]): void {
    for (const route of routes) this.routes.push({ route, segments: route.pattern.split('/') });
  }

  match(method: string, path: string): RouteMatch {
    const segments = path.split('/');
    let pathMatched = false;
    for (const compiled of this.routes) {
      const params = matchSegments(compiled.segments, segments);
      if (params === undefined) continue;
      if (compiled.route.method === method) return { kind: 'found', route: compiled.route, params };
      pathMatched = true;
    }
    return pathMatched ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
  }
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const expected = pattern[i] ?? '';
    const segment = actual[i] ?? '';
    if (expected.startsWith(':')) {
      const decoded = safeDecode(segment);
      if (decoded === undefined || decoded === '') return undefined;
      params[expected.slice(1)] = decoded;
    } else if (expected !== segment) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
