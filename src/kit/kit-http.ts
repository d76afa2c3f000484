/**
 * The kit's client-server API calls: plain `fetch`, JSON in and out, a non-2xx answer thrown as one line with
 * the method, path, status and Matrix `errcode`.
 *
 * Runtime: node. Independent of the project's own client (src/engine), so what the kit sends and checks does not
 * depend on the code under test. An access token goes only into the Authorization header, never into a message.
 */
import { isMatrixErrorBody } from '../shared/matrix-errors';

export class KitHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KitHttpError';
  }
}

export async function matrixRequest(
  baseUrl: string,
  method: 'GET' | 'POST' | 'PUT',
  urlPath: string,
  options: { accessToken?: string; body?: unknown } = {},
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (options.accessToken !== undefined) headers.Authorization = `Bearer ${options.accessToken}`;
  const response = await fetch(new URL(urlPath, baseUrl), {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = { error: text.slice(0, 200) };
  }
  if (!response.ok) {
    const errcode = isMatrixErrorBody(parsed) ? parsed.errcode : undefined;
    const detail = isMatrixErrorBody(parsed) ? parsed.error : text.slice(0, 200);
    throw new KitHttpError(response.status, errcode, `${method} ${urlPath.split('?')[0]}: ${response.status} ${errcode ?? ''} ${detail}`.trim());
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}
