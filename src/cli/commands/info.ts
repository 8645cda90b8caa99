// genmodels info: api/info.ts info + formatInfo.
import { useBackend } from '../../api/common.js';
import { formatInfo, info } from '../../api/info.js';
import { parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels info

  Backend in use, threads, versions, registered models with their taxonomy, datasets and where they are found.`;

async function run(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, { backend: { type: 'string' } }, 'info');
  if (o.help) return printHelp(command);
  const backend = await useBackend(o.backend);
  process.stdout.write(formatInfo(await info(backend)) + '\n');
  return 0;
}

export const command: Command = {
  name: 'info',
  usage: 'info',
  summary: 'backend, versions, models and datasets',
  help,
  run,
};
