/**
 * The outgoing-request loop of a matrix-rust-sdk `OlmMachine`: every request the machine asks for goes to the
 * homeserver over HTTP, and the server's real answer goes back through `markRequestAsSent`.
 *
 * Runtime: node. Guarantees:
 * - A request is marked as sent only with the answer the server gave it, never with a made-up one, so the
 *   machine's view (its one-time key count, the devices it knows, the sessions it claimed) is the server's.
 * - A failed request is not marked: the machine asks for it again (uploads, queries) or the caller retries
 *   (claims, to-device sends), and the error says which request failed.
 * - `flushOutgoingRequests` is bounded: a machine that keeps asking after `maxRounds` rounds is an error, not a
 *   loop that never ends.
 * The transport is injected (src/crypto may not import the engine's HTTP client); `MatrixClient` fits it.
 */
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import type { CryptoLibrary } from './crypto-library';

export type OlmMachine = InstanceType<CryptoLibrary['OlmMachine']>;

/** What the loop needs from the network: the `/keys/*` endpoints and `/sendToDevice`, with raw JSON answers. */
export interface OlmRequestTransport<E> {
  keysRequest(endpoint: 'upload' | 'query' | 'claim' | 'signatures/upload', body: unknown): Promise<Result<unknown, E>>;
  sendToDevice(eventType: string, txnId: string, messages: Record<string, Record<string, Record<string, unknown>>>): Promise<Result<void, E>>;
}

/** The request that failed, by its endpoint, with the transport's error. */
export type OlmRequestError<E> =
  | { kind: 'request-failed'; request: string; error: E }
  | { kind: 'unsupported-request'; request: string }
  | { kind: 'not-settled'; rounds: number };

/** The shape every outgoing request of the machine has (`SignatureUploadRequest.id` may be undefined). */
export interface MachineRequest {
  readonly id: string | undefined;
  readonly type: number;
  readonly body: string;
  readonly event_type?: string;
  readonly txn_id?: string;
}

const keysEndpoints = ['upload', 'query', 'claim', 'signatures/upload'] as const;

/** Sends one of the machine's requests and marks it as sent with the server's answer. */
export async function sendMachineRequest<E>(
  library: CryptoLibrary,
  machine: OlmMachine,
  transport: OlmRequestTransport<E>,
  request: MachineRequest,
): Promise<Result<void, OlmRequestError<E>>> {
  const { RequestType } = library;
  const body = JSON.parse(request.body) as unknown;
  let answer: Result<unknown, E>;
  let name: string;
  const keysIndex = [RequestType.KeysUpload, RequestType.KeysQuery, RequestType.KeysClaim, RequestType.SignatureUpload].indexOf(request.type);
  const endpoint = keysEndpoints[keysIndex];
  if (endpoint !== undefined) {
    name = `keys/${endpoint}`;
    answer = await transport.keysRequest(endpoint, body);
  } else if (request.type === RequestType.ToDevice && request.event_type !== undefined && request.txn_id !== undefined) {
    name = `sendToDevice/${request.event_type}`;
    const messages = (body as { messages: Record<string, Record<string, Record<string, unknown>>> }).messages;
    const sent = await transport.sendToDevice(request.event_type, request.txn_id, messages);
    answer = sent.ok ? ok({}) : sent;
  } else {
    return err({ kind: 'unsupported-request', request: RequestType[request.type] ?? String(request.type) });
  }
  if (!answer.ok) return err({ kind: 'request-failed', request: name, error: answer.error });
  if (request.id !== undefined) await machine.markRequestAsSent(request.id, request.type, JSON.stringify(answer.value));
  return ok(undefined);
}

/** Sends everything the machine asks for, round after round, until it asks for nothing more. */
export async function flushOutgoingRequests<E>(
  library: CryptoLibrary,
  machine: OlmMachine,
  transport: OlmRequestTransport<E>,
  maxRounds = 10,
): Promise<Result<void, OlmRequestError<E>>> {
  for (let round = 0; round < maxRounds; round += 1) {
    const requests = (await machine.outgoingRequests()) as MachineRequest[];
    if (requests.length === 0) return ok(undefined);
    for (const request of requests) {
      const sent = await sendMachineRequest(library, machine, transport, request);
      if (!sent.ok) return sent;
    }
  }
  return err({ kind: 'not-settled', rounds: maxRounds });
}
