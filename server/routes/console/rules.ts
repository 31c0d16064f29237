// Rules from the console: a filtered list for everyone, creation and removal for admins. Each
// change is audited with the change itself and pushed to the machines the rule reaches.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import {
  parseRuleSpec,
  RULE_DETAIL_FIELDS,
  RULE_POLICIES,
  RULE_TYPES,
  RuleError,
  type RuleSpec,
} from '../../../common/rules';
import { RequestError } from '../../db/requests';
import type { RuleRow, RuleScope } from '../../db/rules';
import { consoleUserOf } from '../../plugins/console-session';
import { IdParams, Rule, RuleList } from '../../schemas/console';
import {
  bodyOf,
  expiryOf,
  onlyKnown,
  optionalChoice,
  optionalText,
  page,
  queryOf,
  requiredText,
} from './input';

/** The scopes in the order the console lists them. */
export const RULE_SCOPES: readonly RuleScope[] = ['global', 'tag', 'user', 'machine'];

export function ruleView(rule: RuleRow): Rule {
  return {
    id: Number(rule.id),
    identifier: rule.identifier,
    rule_type: rule.rule_type,
    policy: rule.policy,
    scope: rule.scope,
    scope_value: rule.scope_value,
    expires_at: rule.expires_at === null ? null : Number(rule.expires_at),
    custom_msg: rule.custom_msg,
    custom_url: rule.custom_url,
    cel_expr: rule.cel_expr,
    event_detail_button_label: rule.event_detail_button_label,
    notification_app_name: rule.notification_app_name,
    comment: rule.comment,
    created_by: rule.created_by,
    created_at: Number(rule.created_at),
  };
}

/** The scope's value: an enrolled machine, a primary user or a tag; a global rule has none. */
async function scopeValueOf(
  b: Record<string, unknown>,
  scope: RuleScope,
  repos: FastifyInstance['repos'],
): Promise<string | null> {
  let scopeValue: string | null = null;
  if (scope === 'machine') {
    scopeValue = requiredText(b.scope_value, 'scope_value (the machine id)', 256);
    if (!(await repos.machines.get(scopeValue)))
      throw new RequestError(400, `no machine "${scopeValue}" is enrolled`);
  } else if (scope === 'user') {
    scopeValue = requiredText(b.scope_value, 'scope_value (the primary user)', 256);
    if (/\s/.test(scopeValue))
      throw new RequestError(400, 'scope_value (the primary user) has no spaces');
  } else if (scope === 'tag') {
    scopeValue = requiredText(b.scope_value, 'scope_value (the tag)', 64);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(scopeValue))
      throw new RequestError(400, 'scope_value (the tag) has letters, digits and . _ - only');
  } else if (b.scope_value !== undefined && b.scope_value !== null && b.scope_value !== '')
    throw new RequestError(400, 'a global rule has no scope_value');
  return scopeValue;
}

/** The rule a console admin asked for: the rule itself as common/rules.ts checks it, its scope. */
async function ruleFromBody(
  b: Record<string, unknown>,
  createdBy: string,
  repos: FastifyInstance['repos'],
) {
  let spec: RuleSpec;
  try {
    spec = parseRuleSpec(b);
  } catch (error) {
    if (error instanceof RuleError) throw new RequestError(400, error.message);
    throw error;
  }
  const scope = (b.scope ?? 'global') as RuleScope;
  if (!RULE_SCOPES.includes(scope))
    throw new RequestError(400, `scope must be one of ${RULE_SCOPES.join(', ')}`);
  const comment = b.comment;
  if (
    comment !== undefined &&
    comment !== null &&
    (typeof comment !== 'string' || comment.length > 2000)
  )
    throw new RequestError(400, 'comment must be text of at most 2000 characters');
  return {
    ...spec,
    scope,
    scope_value: await scopeValueOf(b, scope, repos),
    expires_at: expiryOf(b.expires),
    comment: (comment as string | null | undefined)?.trim() || null,
    created_by: createdBy,
  };
}

export async function ruleRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;
  app.get('/console/api/rules', { schema: { response: { 200: RuleList } } }, async (request) => {
    const query = queryOf(request.query);
    onlyKnown(query, ['scope', 'target', 'type', 'policy', 'q', 'limit', 'offset']);
    const scope = optionalChoice(query, 'scope', RULE_SCOPES);
    const target = optionalText(query, 'target');
    const ruleType = optionalChoice(query, 'type', RULE_TYPES);
    const policy = optionalChoice(query, 'policy', RULE_POLICIES);
    const text = optionalText(query, 'q');
    const { rows, total } = await repos.rules.list(
      {
        ...(scope ? { scope } : {}),
        ...(target ? { scopeValue: target } : {}),
        ...(ruleType ? { ruleType } : {}),
        ...(policy ? { policy } : {}),
        ...(text ? { text } : {}),
      },
      page(query, 100, 500),
    );
    return { total, rules: rows.map(ruleView) };
  });

  app.post(
    '/console/api/rules',
    { config: { role: 'admin' }, schema: { response: { 200: Rule } } },
    async (request) => {
      const rule = await ruleFromBody(bodyOf(request), consoleUserOf(request).username, repos);
      const id = await repos.rules.put(rule, Date.now(), {
        actor: consoleUserOf(request).username,
        details: {
          comment: rule.comment,
          ...Object.fromEntries(RULE_DETAIL_FIELDS.map((field) => [field, rule[field]])),
        },
      });
      return ruleView((await repos.rules.get(id))!);
    },
  );

  app.delete(
    '/console/api/rules/:id',
    { config: { role: 'admin' }, schema: { params: IdParams } },
    async (request, reply) => {
      const removed =
        /^\d+$/.test(request.params.id) &&
        (await repos.rules.remove(Number(request.params.id), {
          actor: consoleUserOf(request).username,
        }));
      if (!removed) return reply.code(404).send({ error: `no rule ${request.params.id} in force` });
      return { removed: true };
    },
  );
}
