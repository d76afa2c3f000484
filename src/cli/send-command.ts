/**
 * `todevice send`: sends uniquely tagged to-device messages to one device, in order, so that a person can kill
 * processes at will and then check with `todevice inbox` that every tag arrived exactly once.
 *
 * Runtime: node. The sender logs in with `--user/--password`, or registers a fresh `sender-…` user. Each message
 * is `{tag, sent_at_ms}` with tags `<run>-1 … <run>-N`; the last stdout line is JSON with the run ID, the count
 * and what the server said of the recipient (recipient-check.ts). With `--encrypted` each message is
 * Olm-encrypted by a matrix-rust-sdk `OlmMachine` (`m.room.encrypted`, the tag inside the payload); a recipient
 * device that published no keys is refused before anything is sent.
 */
import type { Command } from 'commander';
import { describeClientError } from '../engine/describe-failure';
import type { MatrixClient } from '../engine/matrix-client';
import { parseHomeserverUrl } from '../shared/homeserver-url';
import { parsePositiveInt, runCommand, UsageError } from './cli-errors';

interface SendOptions {
  homeserver: string;
  to: string;
  device: string;
  count: number;
  user?: string;
  password?: string;
  encrypted?: boolean;
}

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description('send N uniquely tagged to-device messages to one device (for checking delivery by hand)')
    .requiredOption('--homeserver <url>', 'homeserver base URL')
    .requiredOption('--to <userId>', 'recipient user ID, e.g. @phone:localhost')
    .requiredOption('--device <id>', 'recipient device ID')
    .option('--count <n>', 'how many messages', parsePositiveInt('count'), 100)
    .option('--user <name>', 'sender to log in as (default: register a new sender)')
    .option('--password <password>', 'password of --user')
    .option('--encrypted', 'Olm-encrypt every message for the device (it must have published its keys)')
    .addHelpText(
      'after',
      '\nExamples:\n  todevice send --homeserver http://127.0.0.1:8008 --to @phone:localhost --device PHONE --count 500\n' +
        '  todevice send --homeserver http://127.0.0.1:8008 --to @phone:localhost --device PHONE --count 500 --encrypted',
    )
    .action((options: SendOptions) => runCommand(() => send(options)));
}

async function send(options: SendOptions): Promise<void> {
  if (!/^@[^:]+:.+$/.test(options.to)) throw new UsageError(`--to must be a full user ID like @phone:localhost, got "${options.to}"`);
  const parsed = parseHomeserverUrl(options.homeserver);
  if (!parsed.ok) throw new UsageError(parsed.error);
  const homeserverUrl = parsed.value;
  const encrypted = options.encrypted === true;
  const [{ DemoTraffic, describeTrafficError }, { checkRecipient, recipientNotice }] = await Promise.all([
    import('../main/host/demo-traffic'),
    import('./recipient-check'),
  ]);
  const sender = await senderClient(options, homeserverUrl);
  const recipient = { userId: options.to, deviceId: options.device };
  const check = await checkRecipient(sender, recipient);
  const notice = recipientNotice(check, recipient, { encrypted });
  if (notice?.refuse === true) throw new UsageError(notice.line);
  if (notice !== undefined) process.stderr.write(`todevice: ${notice.line}\n`);
  const traffic = new DemoTraffic(sender, recipient, { encryptToDevice: encrypted });
  try {
    const progressEvery = Math.max(1, Math.floor(options.count / 10));
    let sent = 0;
    for (let start = 0; start < options.count; start += progressEvery) {
      const batch = Math.min(progressEvery, options.count - start);
      const result = await traffic.sendToDevice(batch);
      sent += result.ok ? batch : result.error.sent;
      if (!result.ok) throw new UsageError(`sending failed after ${sent} messages: ${describeTrafficError(result.error, { homeserverUrl })}`);
      process.stderr.write(`sent ${sent}/${options.count}${encrypted ? ' (Olm-encrypted)' : ''}\n`);
    }
    const summary = { run: traffic.runId, count: sent, tags: `${traffic.runId}-1 … ${traffic.runId}-${sent}`, encrypted, recipient: check.kind };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    traffic.close();
  }
}

async function senderClient(options: SendOptions, homeserverUrl: string): Promise<MatrixClient> {
  const { MatrixClient } = await import('../engine/matrix-client');
  const anonymous = new MatrixClient({ baseUrl: homeserverUrl });
  if (options.user !== undefined) {
    if (options.password === undefined) throw new UsageError('--user needs --password');
    const login = await anonymous.login({ user: options.user, password: options.password });
    if (!login.ok) throw new UsageError(`cannot log in as ${options.user}: ${describeClientError(login.error, { homeserverUrl })}`);
    return anonymous.withAccessToken(login.value.access_token);
  }
  const username = `sender-${Math.random().toString(36).slice(2, 10)}`;
  const registered = await anonymous.register({ username, password: Math.random().toString(36) });
  if (!registered.ok) throw new UsageError(`cannot register a sender: ${describeClientError(registered.error, { homeserverUrl })}`);
  return anonymous.withAccessToken(registered.value.access_token);
}
