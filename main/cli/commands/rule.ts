import { EXIT, UsageError, type Command, type Values } from '../command';
import { fileInfo } from '../fileinfo';

const ACTIONS = ['allow', 'block', 'remove'] as const;

/** The one action asked for; the usage error when there is not exactly one. */
function actionOf(values: Values): (typeof ACTIONS)[number] {
  const actions = ACTIONS.filter((action) => values[action]);
  if (actions.length !== 1)
    throw new UsageError('rule needs exactly one of --allow, --block, --remove');
  return actions[0]!;
}

export const rule: Command = {
  name: 'rule',
  synopsis:
    'rule --allow [--compiler]|--block|--remove (--sha256 HEX | --path FILE) [--message TEXT] [--comment TEXT]',
  summary:
    'add or remove a BINARY rule (root); --compiler: what this program writes may run too (EnableTransitiveRules)',
  options: {
    allow: { type: 'boolean' },
    block: { type: 'boolean' },
    remove: { type: 'boolean' },
    compiler: { type: 'boolean' },
    sha256: { type: 'string' },
    path: { type: 'string' },
    message: { type: 'string' },
    comment: { type: 'string' },
  },
  async run({ values }, { service, print }) {
    const action = actionOf(values);
    const { sha256, path, message, comment, compiler } = values;
    if (compiler && action !== 'allow') throw new UsageError('--compiler goes with --allow only');
    if ((typeof sha256 === 'string') === (typeof path === 'string'))
      throw new UsageError('rule needs exactly one of --sha256 HEX or --path FILE');
    const identifier = typeof sha256 === 'string' ? sha256 : (await fileInfo(String(path))).sha256;
    if (action === 'remove') {
      const removed = await service.call('rules.remove', { type: 'BINARY', identifier });
      print(removed, () => `removed: ${JSON.stringify(removed)}`);
      return EXIT.ok;
    }
    const added = await service.call('rules.add', {
      type: 'BINARY',
      identifier,
      policy: action === 'block' ? 'BLOCKLIST' : compiler ? 'ALLOWLIST_COMPILER' : 'ALLOWLIST',
      ...(typeof message === 'string' ? { customMsg: message } : {}),
      ...(typeof comment === 'string' ? { comment } : {}),
    });
    print(added, () => `added: ${JSON.stringify(added)}`);
    return EXIT.ok;
  },
};
