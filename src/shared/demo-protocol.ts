/**
 * The small content protocol the demo, the harness and the notifier agree on, on top of Matrix.
 *
 * Runtime: common.
 * - Every to-device message todevice sends carries a unique `tag` and its `sent_at_ms`, so an oracle can tell
 *   lost from duplicated messages (MSC3885 messages carry no IDs) and measure latency.
 * - A room message whose notification needs to-device data names it in `org.todevice.payload_tag`; the data
 *   travels as an `org.todevice.payload` to-device message with that tag, sent before the room message, the way
 *   a room key is sent before the messages it unlocks.
 */
export const DEMO_MESSAGE_TYPE = 'org.todevice.test';
export const PAYLOAD_EVENT_TYPE = 'org.todevice.payload';
export const PAYLOAD_TAG_FIELD = 'org.todevice.payload_tag';
