// Rules from the console: a filtered list for everyone, creation and removal for admins. Each
// change is audited with the change itself and pushed to the machines the rule reaches.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { POLICIES, RULE_TYPES, type Policy, type RuleType } from '../../../common/rules';
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

export const RULE_SCOPES: readonly RuleScope[] = ['global', 'tag', 'user', 'machine'];
const COMPILER_TYPES: readonly RuleType[] = ['BINARY', 'CDHASH', 'SIGNINGID'];

/** What each rule type's identifier looks like, and how it is stored. */
const IDENTIFIERS: Record<RuleType, { pattern: RegExp; says: string; normal(id: string): string }> =
  {
    BINARY: {
      pattern: /^[0-9a-f]{64}$/i,
      says: "the file's SHA-256 (64 hex digits)",
      normal: (id) => id.toLowerCase(),
    },
    CERTIFICATE: {
      pattern: /^[0-9a-f]{64}$/i,
      says: "the leaf certificate's SHA-256 (64 hex digits)",
      normal: (id) => id.toLowerCase(),
    },
    CDHASH: {
      pattern: /^[0-9a-f]{40}$/i,
      says: 'a CDHash (40 hex digits)',
      normal: (id) => id.toLowerCase(),
    },
    TEAMID: {
      pattern: /^[A-Z0-9]{10}$/i,
      says: 'a 10-character Team ID such as EQHXZ8M8AV',
      normal: (id) => id.toUpperCase(),
    },
    SIGNINGID: {
      pattern: /^([A-Z0-9]{10}|platform):[^\s:][^\s]{0,254}$/,
      says: 'TEAMID:signing.id or platform:signing.id',
      normal: (id) => id,
    },
  };

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
    comment: rule.comment,
    created_by: rule.created_by,
    created_at: Number(rule.created_at),
  };
}

const optionalBodyText = (value: unknown, what: string, max: number): string | null => {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > max)
    throw new RequestError(400, `${what} must be text of at most ${max} characters`);
  return value.trim() || null;
};

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

/** The rule a console admin asked for, checked field by field. */
async function ruleFromBody(
  b: Record<string, unknown>,
  createdBy: string,
  repos: FastifyInstance['repos'],
) {
  const ruleType = (b.rule_type ?? 'BINARY') as RuleType;
  if (!RULE_TYPES.includes(ruleType))
    throw new RequestError(400, `rule_type must be one of ${RULE_TYPES.join(', ')}`);
  const rawIdentifier = requiredText(b.identifier, 'identifier', 512);
  const shape = IDENTIFIERS[ruleType];
  if (!shape.pattern.test(rawIdentifier))
    throw new RequestError(400, `a ${ruleType} rule's identifier is ${shape.says}`);
  const policy = b.policy as Policy;
  if (!POLICIES.includes(policy))
    throw new RequestError(400, `policy must be one of ${POLICIES.join(', ')}`);
  if (policy === 'ALLOWLIST_COMPILER' && !COMPILER_TYPES.includes(ruleType))
    throw new RequestError(
      400,
      `ALLOWLIST_COMPILER applies to ${COMPILER_TYPES.join(', ')} rules only`,
    );
  const scope = (b.scope ?? 'global') as RuleScope;
  if (!RULE_SCOPES.includes(scope))
    throw new RequestError(400, `scope must be one of ${RULE_SCOPES.join(', ')}`);
  const scopeValue = await scopeValueOf(b, scope, repos);
  const customUrl = optionalBodyText(b.custom_url, 'custom_url', 2048);
  if (customUrl !== null && !/^https?:\/\/[^\s]+$/.test(customUrl))
    throw new RequestError(400, 'custom_url must be an http:// or https:// address');
  return {
    identifier: shape.normal(rawIdentifier),
    rule_type: ruleType,
    policy,
    scope,
    scope_value: scopeValue,
    expires_at: expiryOf(b.expires),
    custom_msg: optionalBodyText(b.custom_msg, 'custom_msg', 512),
    custom_url: customUrl,
    comment: optionalBodyText(b.comment, 'comment', 2000),
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
    const policy = optionalChoice(query, 'policy', POLICIES);
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
        details: { comment: rule.comment },
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
