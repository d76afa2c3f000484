/**
 * JSON that is already text: a response part the server holds as stored JSON, spliced into a response as it is
 * instead of being parsed and serialized again.
 *
 * Runtime: node (homeserver only).
 *
 * Why: a to-device message's content is stored as the JSON text `sendToDevice` serialized (to-device-queue.ts).
 * A long poll woken by a message answers inside the sender's transaction (device-waiters.ts), so whatever it does
 * there is on every live message's path; parsing the content only to serialize it again is work with no effect.
 * Guarantee: `text` is valid JSON, because it is only ever made by `JSON.stringify` here or taken from a column
 * that only `JSON.stringify` wrote; the dispatcher writes it unchanged (dispatcher.ts `sendJson`).
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * `JSON.stringify(object)` for a plain object whose values may be `JsonText`, which are spliced in as they are.
 * Only the object's own values are looked at: a `JsonText` nested deeper is not supported. The text is built
 * with `+`, which joins strings without copying them (V8 keeps a concatenation as a pair until it is read), so
 * a batch of stored contents nested in two objects is copied once, when the response is encoded, instead of
 * once per level as `join` did.
 */
export function objectWithJsonText(object: Record<string, unknown>): JsonText {
  let text = '{';
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const value = object[key];
    if (value === undefined) continue;
    text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:`;
    text += value instanceof JsonText ? value.text : JSON.stringify(value);
  }
  return new JsonText(`${text}}`);
}
