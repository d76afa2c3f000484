/**
 * What the demo sender sends: uniquely tagged to-device messages, and room messages whose notification needs a
 * to-device payload (sent first, as a room key is sent before the messages it unlocks).
 *
 * Runtime: node. Sends are sequential, so per-sender order on the server is the order here, and each uses a
 * fresh transaction ID (`sendToDevice` is idempotent per txnId, so a retried request would not duplicate).
 */
import { randomUUID } from 'node:crypto';
import type { MatrixClient, MatrixClientError } from '../../engine/matrix-client';
import { DEMO_MESSAGE_TYPE, PAYLOAD_EVENT_TYPE, PAYLOAD_TAG_FIELD } from '../../shared/demo-protocol';
import type { Result } from '../../shared/result';
import { err, ok } from '../../shared/result';

export interface Recipient {
  userId: string;
  deviceId: string;
}

export class DemoTraffic {
  private sequence = 0;
  readonly runId = randomUUID().slice(0, 8);

  constructor(
    private readonly sender: MatrixClient,
    private readonly recipient: Recipient,
  ) {}

  /** Sends `count` tagged messages in order; stops at the first failure and says how many went out. */
  async sendToDevice(count: number): Promise<Result<{ sent: number }, MatrixClientError & { sent: number }>> {
    for (let i = 0; i < count; i += 1) {
      const sent = await this.sendOne(DEMO_MESSAGE_TYPE, {});
      if (!sent.ok) return err({ ...sent.error, sent: i });
    }
    return ok({ sent: count });
  }

  /** Sends the payload by to-device, then the room message that names it; the homeserver pushes the latter. */
  async sendRoomMessage(roomId: string, text: string): Promise<Result<{ eventId: string }, MatrixClientError>> {
    const payload = await this.sendOne(PAYLOAD_EVENT_TYPE, { text });
    if (!payload.ok) return payload;
    const content = { msgtype: 'm.text', body: 'You have a new message', [PAYLOAD_TAG_FIELD]: payload.value.tag };
    return this.sender.sendRoomEvent(roomId, 'm.room.message', `demo-${this.runId}-${payload.value.tag}`, content);
  }

  private async sendOne(type: string, extra: Record<string, unknown>): Promise<Result<{ tag: string }, MatrixClientError>> {
    this.sequence += 1;
    const tag = `${this.runId}-${this.sequence}`;
    const content = { tag, sent_at_ms: Date.now(), ...extra };
    const result = await this.sender.sendToDevice(type, `demo-${tag}`, { [this.recipient.userId]: { [this.recipient.deviceId]: content } });
    return result.ok ? ok({ tag }) : result;
  }
}
