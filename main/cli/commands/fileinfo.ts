import { EXIT, UsageError, type Command } from '../command';
import { fileInfo } from '../fileinfo';

export const fileinfo: Command = {
  name: 'fileinfo',
  synopsis: 'fileinfo PATH [--check]',
  summary: 'SHA-256, size, kind, package; --check: the decision and why',
  options: { check: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }, { service, print }) {
    if (positionals.length !== 1) throw new UsageError('fileinfo needs exactly one PATH');
    const info = await fileInfo(positionals[0]!);
    const lines = Object.entries(info).map(([k, v]) => `${k.padEnd(14)}: ${v}`);
    if (!values.check) {
      print(info, () => lines.join('\n'));
      return EXIT.ok;
    }
    // The caller hashes the file: it may read it, and the service must not read it for them.
    const check = await service.call('fileinfo', {
      sha256: info.sha256,
      md5: info.md5,
      path: info.path,
    });
    print({ ...info, ...check }, () =>
      [...lines, `${'decision'.padEnd(14)}: ${check.decision} (${check.reason})`].join('\n'),
    );
    return EXIT.ok;
  },
};
