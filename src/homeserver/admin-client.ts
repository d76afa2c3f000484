/**
 * A tiny typed client for the homeserver's admin surface, for tests and the race harness.
 *
 * Runtime: common (uses only `fetch`). Non-2xx answers throw an Error carrying the Matrix `errcode`.
 *
 * @example
 *   const admin = new AdminClient(server.url, server.adminToken);
 *   await admin.addFault('@alice:localhost', 'PHONE', { kind: 'drop-response', count: 1 });
 *   const inspection = await admin.inspectDevice('@alice:localhost', 'PHONE');
 */
import { ADMIN_PREFIX, type AddFaultRequest, type DeviceInspection, type Fault, type RunRetentionRequest, type RunRetentionResponse } from '../shared/admin-wire';
import { isMatrixErrorBody } from '../shared/matrix-errors';

export class AdminRequestError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'AdminRequestError';
  }
}

export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  async addFault(userId: string, deviceId: string, fault: Fault): Promise<void> {
    const body: AddFaultRequest = { user_id: userId, device_id: deviceId, fault };
    await this.request('POST', `${ADMIN_PREFIX}/faults`, body);
  }

  async clearFaults(): Promise<void> {
    await this.request('DELETE', `${ADMIN_PREFIX}/faults`);
  }

  async listFaults(): Promise<Array<{ user_id: string; device_id: string; fault: Fault }>> {
    const body = (await this.request('GET', `${ADMIN_PREFIX}/faults`)) as {
      faults: Array<{ user_id: string; device_id: string; fault: Fault }>;
    };
    return body.faults;
  }

  async inspectDevice(userId: string, deviceId: string): Promise<DeviceInspection> {
    const path = `${ADMIN_PREFIX}/devices/${encodeURIComponent(userId)}/${encodeURIComponent(deviceId)}`;
    return (await this.request('GET', path)) as DeviceInspection;
  }

  /** Runs the homeserver's retention pass, as if its clock read `nowMs` (default: now). */
  async runRetention(nowMs?: number): Promise<RunRetentionResponse> {
    const body: RunRetentionRequest = nowMs === undefined ? {} : { now_ms: nowMs };
    return (await this.request('POST', `${ADMIN_PREFIX}/retention`, body)) as RunRetentionResponse;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { Authorization: `Bearer ${this.adminToken}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed = (await response.json()) as unknown;
    if (!response.ok) {
      const errcode = isMatrixErrorBody(parsed) ? parsed.errcode : undefined;
      const detail = isMatrixErrorBody(parsed) ? parsed.error : JSON.stringify(parsed);
      throw new AdminRequestError(response.status, errcode, `${method} ${path}: ${response.status} ${errcode ?? ''} ${detail}`);
    }
    return parsed;
  }
}
