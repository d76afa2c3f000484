// The notifier's command line: defaults, the pickle key's source, and bad values refused with the reason.
import { describe, expect, it } from 'vitest';
import { parseNotifierOptions } from '../../../src/notifier/notifier-options';

const base = ['--data', '/tmp/d', '--event-id', '$e', '--room-id', '!r:x'];

describe('notifier options', () => {
  it('notifier options: the pickle key comes from the file unless the app says it hands it over', () => {
    expect(parseNotifierOptions(base)).toMatchObject({ strategy: 'explicit-lease', leaseWaitMs: 10_000, pickleKey: 'file' });
    expect(parseNotifierOptions([...base, '--pickle-key', 'parent']).pickleKey).toBe('parent');
  });

  it('notifier options: a bad pickle key source, strategy or wait is refused with the reason', () => {
    expect(() => parseNotifierOptions([...base, '--pickle-key', 'env'])).toThrow('notifier: --pickle-key must be file or parent, got "env"');
    expect(() => parseNotifierOptions([...base, '--strategy', 'yolo'])).toThrow('notifier: unknown strategy "yolo"');
    expect(() => parseNotifierOptions([...base, '--lease-wait-ms', '0'])).toThrow('notifier: --lease-wait-ms must be a positive integer');
  });
});
