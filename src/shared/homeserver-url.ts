/**
 * Homeserver base URLs as the user types them, checked and put in one canonical spelling.
 *
 * Runtime: common (the WHATWG `URL` class only). Two spellings of one server must compare equal, or a data
 * directory would take the second for another server: scheme and host are lower-cased, a default port is
 * dropped, trailing slashes go, and the loopback names (`localhost`, `127.0.0.1` and the rest of 127/8, `[::1]`)
 * are one host, since a port on this machine's loopback interface is one server whichever name reaches it.
 * A base URL with a query or a fragment, or another scheme than http(s), is refused rather than guessed at.
 */
import type { Result } from './result';
import { err, ok } from './result';

/** The URL to send requests to: the input with trailing slashes removed, after it was checked. */
export function parseHomeserverUrl(input: string): Result<string, string> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return err(`invalid homeserver URL "${input}": expected http://host:port or https://host`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return err(`invalid homeserver URL "${input}": only http and https are supported`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return err(`invalid homeserver URL "${input}": a base URL has no query, fragment or credentials`);
  }
  return ok(input.trim().replace(/\/+$/, ''));
}

/** The canonical spelling used to compare two homeserver URLs (not for requests). */
export function canonicalHomeserverUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return input.trim().replace(/\/+$/, '');
  }
  const host = isLoopbackHost(url.hostname) ? 'loopback' : url.hostname;
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${host}:${port}${path}`;
}

export function sameHomeserver(a: string, b: string): boolean {
  return canonicalHomeserverUrl(a) === canonicalHomeserverUrl(b);
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
