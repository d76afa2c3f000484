/**
 * What the demo sender sends: uniquely tagged to-device messages, and Megolm-encrypted room messages, each
 * preceded by the to-device event that shares its room key.
 *
 * Runtime: node. Sends are sequential, so per-sender order on the server is the order here, and each uses a
 * fresh transaction ID (`sendToDevice` is idempotent per txnId, so a retried request would not duplicate).
 * Every room message starts a new Megolm session (rotation 1), so one lost key costs exactly one message and
 * the dashboard's counts map one to one; `withholdKey` shares the session with nobody, to show the harm on purpose.
 * Room keys travel as an Olm-encrypted `m.room_key` from the sender's matrix-rust-sdk `OlmMachine`
 * (src/crypto/olm-machine-sender.ts). With `encryptToDevice`, the tagged to-device messages
 * are Olm-encrypted too (`m.room.encrypted`, the tag inside the payload); a recipient device without published
 * keys is then an error, never a silent plaintext fallback.
 */
import { randomUUID } from 'node:crypto';
import { describeOlmSenderError, OlmMachineSender, type OlmSenderError } from '../../crypto/olm-machine-sender';
import { describeClientError, type FailureContext } from '../../engine/describe-failure';
import type { MatrixClient, MatrixClientError } from '../../engine/matrix-client';
import { DEMO_MESSAGE_TYPE } from '../../shared/demo-protocol';
import { ENCRYPTED_TO_DEVICE_TYPE } from '../../shared/olm-wire';
import type { Result } from '../../shared/result';
import { err, ok } from '../../shared/result';

export interface Recipient {
  userId: string;
  deviceId: string;
}

export interface SentRoomMessage {
  eventId: string;
  sessionId: string;
  /** The tag of the key-sharing to-device message (`room-key:<session_id>`); null when the key was withheld. */
  keyTag: string | null;
}

export interface DemoTrafficOptions {
  /** Olm-encrypt the tagged to-device messages. Default false. */
  encryptToDevice?: boolean;
  /** How long a room message waits for the recipient device to publish its keys. Default 10 s. */
  keysWaitMs?: number;
}

const keysPollMs = 250;

/** A failed request, or an encryption that could not be done (`reason`: recipient-has-no-keys, no-olm-session, …). */
export type DemoTrafficError = MatrixClientError | { kind: 'encryption'; reason: string; message: string };

export function describeTrafficError(error: DemoTrafficError, context: FailureContext = {}): string {
  return error.kind === 'encryption' ? error.message : describeClientError(error, context);
}

type Lazy<T> = Promise<Result<T, DemoTrafficError>> | undefined;

export class DemoTraffic {
  private sequence = 0;
  private roomSequence = 0;
  private olmSender: Lazy<OlmMachineSender<MatrixClientError>>;
  private readonly encrypted: boolean;
  private readonly keysWaitMs: number;
  readonly runId = randomUUID().slice(0, 8);

  constructor(
    private readonly sender: MatrixClient,
    private readonly recipient: Recipient,
    options: DemoTrafficOptions = {},
  ) {
    this.encrypted = options.encryptToDevice === true;
    this.keysWaitMs = options.keysWaitMs ?? 10_000;
  }

  /** Sends `count` tagged messages in order; stops at the first failure and says how many went out. */
  async sendToDevice(count: number): Promise<Result<{ sent: number }, DemoTrafficError & { sent: number }>> {
    for (let i = 0; i < count; i += 1) {
      const sent = await this.sendOne();
      if (!sent.ok) return err({ ...sent.error, sent: i });
    }
    return ok({ sent: count });
  }

  /**
   * Encrypts `text` for the room, sends its room key by to-device (unless withheld), then the `m.room.encrypted`
   * event; the homeserver pushes the latter.
   */
  async sendRoomMessage(roomId: string, text: string, options: { withholdKey?: boolean } = {}): Promise<Result<SentRoomMessage, DemoTrafficError>> {
    const sharing = await this.machine();
    if (!sharing.ok) return sharing;
    const content = { msgtype: 'm.text', body: text };
    let message = await sharing.value.encryptRoomMessage(roomId, this.recipient, 'm.room.message', content, options);
    // The app's device publishes its keys when its main process first starts; a message sent in that moment waits
    // for them (bounded), as a client waits for a device list it has not got yet.
    const waitUntilMs = Date.now() + this.keysWaitMs;
    while (!message.ok && message.error.kind === 'recipient-has-no-keys' && Date.now() < waitUntilMs) {
      await new Promise((resolve) => setTimeout(resolve, keysPollMs));
      message = await sharing.value.encryptRoomMessage(roomId, this.recipient, 'm.room.message', content, options);
    }
    if (!message.ok) return err(trafficError(message.error));
    this.roomSequence += 1;
    const sent = await this.sender.sendRoomEvent(roomId, message.value.type, `demo-${this.runId}-room-${this.roomSequence}`, message.value.content);
    return sent.ok ? ok({ eventId: sent.value.eventId, sessionId: message.value.sessionId, keyTag: message.value.keyTag }) : sent;
  }

  /**
   * Makes the sender's device ready now instead of at its first room message: an Olm sender publishes its keys,
   * so the recipient can learn the device before the first key arrives. A failure is retried at the first use.
   */
  async prepare(): Promise<Result<void, DemoTrafficError>> {
    const sharing = await this.machine();
    return sharing.ok ? ok(undefined) : sharing;
  }

  close(): void {
    void this.olmSender?.then((sender) => sender.ok && sender.value.close());
  }

  /** The sender's OlmMachine, made once; shared by the room keys and the encrypted to-device messages. */
  private machine(): Promise<Result<OlmMachineSender<MatrixClientError>, DemoTrafficError>> {
    this.olmSender ??= this.once(async (me) => {
      const made = await OlmMachineSender.create({ ...me, transport: this.sender });
      return made.ok ? made : err(trafficError(made.error));
    }, () => (this.olmSender = undefined));
    return this.olmSender;
  }

  /** Runs `make` with the sender's user and device; a failure is forgotten (`forget`) so the next call retries. */
  private once<T>(make: (me: { userId: string; deviceId: string }) => Promise<Result<T, DemoTrafficError>>, forget: () => void): Promise<Result<T, DemoTrafficError>> {
    return (async () => {
      const me = await this.sender.whoami();
      const made = me.ok ? await make({ userId: me.value.userId, deviceId: me.value.deviceId ?? 'DEMO_SENDER' }) : me;
      if (!made.ok) forget();
      return made;
    })();
  }

  private async sendOne(): Promise<Result<{ tag: string }, DemoTrafficError>> {
    this.sequence += 1;
    const tag = `${this.runId}-${this.sequence}`;
    const content = { tag, sent_at_ms: Date.now() };
    let type = DEMO_MESSAGE_TYPE;
    let wire: Record<string, unknown> = content;
    if (this.encrypted) {
      const machine = await this.machine();
      if (!machine.ok) return machine;
      const encrypted = await machine.value.encryptToDevice(this.recipient, DEMO_MESSAGE_TYPE, content);
      if (!encrypted.ok) return err(trafficError(encrypted.error));
      type = ENCRYPTED_TO_DEVICE_TYPE;
      wire = encrypted.value;
    }
    const result = await this.sender.sendToDevice(type, `demo-${tag}`, { [this.recipient.userId]: { [this.recipient.deviceId]: wire } });
    return result.ok ? ok({ tag }) : result;
  }
}

function trafficError(error: OlmSenderError<MatrixClientError>): DemoTrafficError {
  if (error.kind === 'request-failed') return error.error;
  return { kind: 'encryption', reason: error.kind, message: describeOlmSenderError<MatrixClientError>(error, (cause) => describeClientError(cause)) };
}
