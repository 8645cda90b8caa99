// genmodels pretrained: api/pretrained.ts addPretrained + listPretrained.
import { addPretrained, listPretrained } from '../../api/pretrained.js';
import { UserError } from '../../core/errors.js';
import { numArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels pretrained list
       genmodels pretrained add <runDir> <name> [--fp16] [--results FILE] [--force] [--steps N] [--sampler NAME]
                                [--temperature T]

  The models shipped in assets/pretrained/<name>/ (model.safetensors + config.json + results.json). Any
  command that takes a run directory takes pretrained:<name> (e.g. genmodels sample pretrained:maf-moons).
  add makes one from a run: its model variables (EMA weights when it kept an EMA, no optimizer state),
  its config, and its result.json / eval.json (or --results FILE).
  --fp16     store float32 weights as F16 (half the size; measure with genmodels eval pretrained:<name>)
  --force    replace an existing pretrained model of that name
  --steps N, --sampler NAME, --temperature T
             the playground's defaults for sampling it (e.g. --steps 20 for a diffusion model's DDIM,
             --temperature 0.7 for an image flow)`;

function positiveInt(v: string): number {
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1) throw new UserError(`--steps must be a positive integer (got '${v}')`);
  return k;
}

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      fp16: { type: 'boolean' },
      results: { type: 'string' },
      force: { type: 'boolean' },
      steps: { type: 'string' },
      sampler: { type: 'string' },
      temperature: { type: 'string' },
    },
    'pretrained',
  );
  if (o.help) return printHelp(command);
  const [sub, ...rest] = positionals;
  if (sub === 'list' && rest.length === 0) {
    for (const e of listPretrained()) {
      const t = e.taxonomy;
      process.stdout.write(
        `${e.name.padEnd(28)} ${e.kind.padEnd(14)} ${e.data.padEnd(12)} density=${t.density} sampling=${t.sampling} ` +
          `${(e.bytes / 1024).toFixed(0)} KiB${e.fp16 ? ' (fp16)' : ''}\n`,
      );
    }
    return 0;
  }
  if (sub === 'add' && rest.length === 2) {
    const temperature = numArg(o.temperature, '--temperature');
    if (temperature !== undefined && !(temperature > 0))
      throw new UserError(`--temperature must be > 0 (got ${temperature})`);
    const e = addPretrained(rest[0]!, rest[1]!, {
      fp16: o.fp16 === true,
      force: o.force === true,
      ...(o.results !== undefined ? { results: String(o.results) } : {}),
      sample: {
        ...(o.steps !== undefined ? { steps: positiveInt(String(o.steps)) } : {}),
        ...(o.sampler !== undefined ? { sampler: String(o.sampler) } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
      },
    });
    process.stderr.write(
      `wrote pretrained:${e.name} (${e.kind}, ${(e.bytes / 1024).toFixed(0)} KiB${e.fp16 ? ', fp16' : ''})\n`,
    );
    return 0;
  }
  throw new UserError("pretrained: use 'pretrained list' or 'pretrained add <runDir> <name>'");
}

export const command: Command = {
  name: 'pretrained',
  usage: 'pretrained list|add',
  summary: 'the shipped pretrained models (pretrained:NAME)',
  help,
  run,
};
