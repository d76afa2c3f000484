/**
 * One line for a person about a failed request or a stopped sync loop, with the likely cause where it is known.
 *
 * Runtime: node. Every command and every process log uses these, so an error reads the same wherever it shows,
 * and never as a JSON dump. The cause is a guess only where the evidence is specific: a refused connection means
 * nothing listens on that port; an access token the server does not know, or a to-device token it says it never
 * issued, after a store worked with that server before, usually means the server was reset (a `:memory:`
 * homeserver forgets everything when it restarts). Secrets never appear: errors carry no request, no token.
 */
import { ErrCode } from '../shared/matrix-errors';
import type { DbError } from '../store/sqlite-errors';
import type { MatrixClientError } from './http';
import type { SinceNotIssuedError } from './since-echo-check';

export interface FailureContext {
  /** The homeserver the request went to, named in network errors. */
  homeserverUrl?: string;
}

export function describeClientError(error: MatrixClientError | DbError, context: FailureContext = {}): string {
  switch (error.kind) {
    case 'network':
      return describeNetwork(error.message, context.homeserverUrl);
    case 'http':
      return describeHttp(error);
    case 'unknown-pos':
      return `the homeserver ended the sliding sync connection (M_UNKNOWN_POS: ${error.message})`;
    case 'aborted':
      return 'the request was cancelled';
    case 'db-busy':
      return `the store stayed locked by another process past the busy timeout (${error.code}); is a process of this data directory suspended?`;
    case 'db-full':
      return `the disk is full (${error.code}): free some space; nothing acknowledged was lost`;
    case 'db-readonly':
      return `the store cannot be written (${error.code}): check the data directory's permissions`;
    case 'db-corrupt':
      return `the store is damaged (${error.code}: ${error.message})`;
    case 'db-constraint':
    case 'db-other':
      return `the store refused a write (${error.code}: ${error.message})`;
  }
}

/**
 * Why a sync loop stopped for good. A 400 `M_INVALID_PARAM` names the to-device `since`: MSC4538 has the server
 * answer so for a token it could not have issued, which for a token this store got from that server means the
 * server lost its state.
 */
export function describeSyncFailure(error: MatrixClientError | DbError | SinceNotIssuedError, context: FailureContext = {}): string {
  if (error.kind === 'since-not-issued') return error.message;
  if (error.kind === 'http' && error.status === 400 && error.errcode === ErrCode.invalidParam) {
    return (
      `the homeserver refused this store's to-device token (${error.errcode}: ${error.message}). It says it never ` +
      'issued it: if the homeserver was reset (a :memory: database forgets everything when it restarts), the ' +
      'messages queued for this device are gone with it; start again with a new --data directory'
    );
  }
  if (error.kind === 'http' && error.status === 401) {
    return `${describeHttp(error)}; log in again by restarting this process with --password`;
  }
  return describeClientError(error, context);
}

function describeNetwork(message: string, homeserverUrl: string | undefined): string {
  const where = homeserverUrl ?? 'the homeserver';
  if (message.includes('ECONNREFUSED')) return `cannot reach ${where}: connection refused (is a homeserver running on that port?)`;
  if (message.includes('ENOTFOUND') || message.includes('EAI_AGAIN')) return `cannot reach ${where}: unknown host name (${message})`;
  if (message.includes('ECONNRESET') || message.includes('socket hang up')) return `${where} closed the connection (${message})`;
  if (message === 'request timed out') return `${where} did not answer in time`;
  return `cannot reach ${where}: ${message}`;
}

function describeHttp(error: Extract<MatrixClientError, { kind: 'http' }>): string {
  const code = error.errcode === undefined ? `HTTP ${error.status}` : `${error.status} ${error.errcode}`;
  const said = error.message === `HTTP ${error.status}` ? '' : `: ${error.message}`;
  const base = `the homeserver answered ${code}${said}`;
  switch (error.errcode) {
    case ErrCode.unknownToken:
      return `${base} (it does not know this access token: the device was logged out, or the server was reset)`;
    case ErrCode.forbidden:
      return `${base} (wrong user name or password, or not allowed)`;
    case ErrCode.unrecognized:
      return `${base} (the server does not implement this endpoint)`;
    case ErrCode.limitExceeded:
      return `${base} (rate limited${error.retryAfterMs === undefined ? '' : `; retry after ${error.retryAfterMs} ms`})`;
    case ErrCode.userInUse:
      return `${base} (that user name is taken; log in with its password instead)`;
    default:
      if (error.status >= 200 && error.status < 300) return `the homeserver's answer was not the JSON expected (HTTP ${error.status})`;
      return base;
  }
}
