/**
 * The server-default push rules of the Client-Server API (v1.11, "Predefined Rules"), for one user.
 *
 * Runtime: node (homeserver only).
 *
 * Each rule is the spec's definition verbatim, in the spec's order within its kind, with the user's Matrix ID
 * put where the spec says "[the user's Matrix ID]" and the localpart where it says "[the local part of the
 * user's Matrix ID]". The server advertises v1.11, so the rules deprecated in v1.7 and removed in v1.17
 * (`.m.rule.contains_display_name`, `.m.rule.roomnotif`, `.m.rule.contains_user_name`) are still served, as
 * Synapse serves them. There are no user-defined rules here, so `room` and `sender` are empty.
 */

export type PushRuleKind = 'override' | 'content' | 'room' | 'sender' | 'underride';
export const PUSH_RULE_KINDS: readonly PushRuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];

export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  conditions?: Array<Record<string, unknown>>;
  pattern?: string;
  actions: unknown[];
}

export type PushRuleset = Record<PushRuleKind, PushRule[]>;

const SOUND_DEFAULT = { set_tweak: 'sound', value: 'default' };
const HIGHLIGHT = { set_tweak: 'highlight' };

export function defaultPushRules(userId: string): PushRuleset {
  const localpart = userId.slice(1, userId.includes(':') ? userId.indexOf(':') : undefined);
  return {
    override: [
      rule('.m.rule.master', [], [], false),
      rule('.m.rule.suppress_notices', [eventMatch('content.msgtype', 'm.notice')], []),
      rule(
        '.m.rule.invite_for_me',
        [eventMatch('type', 'm.room.member'), eventMatch('content.membership', 'invite'), eventMatch('state_key', userId)],
        ['notify', SOUND_DEFAULT],
      ),
      rule('.m.rule.member_event', [eventMatch('type', 'm.room.member')], []),
      rule(
        '.m.rule.is_user_mention',
        [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
        ['notify', SOUND_DEFAULT, HIGHLIGHT],
      ),
      rule('.m.rule.contains_display_name', [{ kind: 'contains_display_name' }], ['notify', SOUND_DEFAULT, HIGHLIGHT]),
      rule(
        '.m.rule.is_room_mention',
        [{ kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true }, { kind: 'sender_notification_permission', key: 'room' }],
        ['notify', HIGHLIGHT],
      ),
      rule(
        '.m.rule.roomnotif',
        [eventMatch('content.body', '@room'), { kind: 'sender_notification_permission', key: 'room' }],
        ['notify', HIGHLIGHT],
      ),
      rule('.m.rule.tombstone', [eventMatch('type', 'm.room.tombstone'), eventMatch('state_key', '')], ['notify', HIGHLIGHT]),
      rule('.m.rule.reaction', [eventMatch('type', 'm.reaction')], []),
      rule('.m.rule.room.server_acl', [eventMatch('type', 'm.room.server_acl'), eventMatch('state_key', '')], []),
      rule('.m.rule.suppress_edits', [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], []),
    ],
    content: [
      { rule_id: '.m.rule.contains_user_name', default: true, enabled: true, pattern: localpart, actions: ['notify', SOUND_DEFAULT, HIGHLIGHT] },
    ],
    room: [],
    sender: [],
    underride: [
      rule('.m.rule.call', [eventMatch('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }]),
      rule(
        '.m.rule.encrypted_room_one_to_one',
        [{ kind: 'room_member_count', is: '2' }, eventMatch('type', 'm.room.encrypted')],
        ['notify', SOUND_DEFAULT],
      ),
      rule('.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, eventMatch('type', 'm.room.message')], ['notify', SOUND_DEFAULT]),
      rule('.m.rule.message', [eventMatch('type', 'm.room.message')], ['notify']),
      rule('.m.rule.encrypted', [eventMatch('type', 'm.room.encrypted')], ['notify']),
    ],
  };
}

function rule(ruleId: string, conditions: Array<Record<string, unknown>>, actions: unknown[], enabled = true): PushRule {
  return { rule_id: ruleId, default: true, enabled, conditions, actions };
}

function eventMatch(key: string, pattern: string): Record<string, unknown> {
  return { kind: 'event_match', key, pattern };
}
