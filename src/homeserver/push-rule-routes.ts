/**
 * Reading push rules: `GET /v3/pushrules/` (what every client fetches before its first sync), the `global`
 * scope, one rule, and a rule's `enabled` and `actions`.
 *
 * Runtime: node (homeserver only).
 *
 * Every user has exactly the server-default rules (push-rules.ts); changing rules is not offered, so the
 * `PUT`/`DELETE` forms are answered 405 `M_UNRECOGNIZED` by the router, which clients treat as "not supported".
 * An unknown kind or rule is 404 `M_NOT_FOUND`, as Synapse answers.
 */
import type { HomeserverContext } from './context';
import { notFound } from './errors';
import { defaultPushRules, PUSH_RULE_KINDS, type PushRule, type PushRuleKind } from './push-rules';
import type { Route, RouteRequest } from './router';

const PREFIX = '/_matrix/client/v3/pushrules';

export function pushRuleRoutes(ctx: HomeserverContext): Route[] {
  const all = (request: RouteRequest) => ({ status: 200, body: { global: defaultPushRules(ctx.auth.authenticate(request).userId) } });
  const global = (request: RouteRequest) => ({ status: 200, body: defaultPushRules(ctx.auth.authenticate(request).userId) });
  const oneRule = (request: RouteRequest): PushRule => {
    const me = ctx.auth.authenticate(request);
    const kind = request.params.kind ?? '';
    if (!(PUSH_RULE_KINDS as readonly string[]).includes(kind)) throw notFound(`unknown push rule kind "${kind}"`);
    const found = defaultPushRules(me.userId)[kind as PushRuleKind].find((rule) => rule.rule_id === request.params.ruleId);
    if (found === undefined) throw notFound('unknown push rule');
    return found;
  };
  return [
    { method: 'GET', pattern: `${PREFIX}/`, handle: all },
    { method: 'GET', pattern: PREFIX, handle: all },
    { method: 'GET', pattern: `${PREFIX}/global/`, handle: global },
    { method: 'GET', pattern: `${PREFIX}/global`, handle: global },
    { method: 'GET', pattern: `${PREFIX}/global/:kind/:ruleId`, handle: (r) => ({ status: 200, body: oneRule(r) }) },
    { method: 'GET', pattern: `${PREFIX}/global/:kind/:ruleId/enabled`, handle: (r) => ({ status: 200, body: { enabled: oneRule(r).enabled } }) },
    { method: 'GET', pattern: `${PREFIX}/global/:kind/:ruleId/actions`, handle: (r) => ({ status: 200, body: { actions: oneRule(r).actions } }) },
  ];
}
