// The model registry: one entry per model kind. An entry's options are ONE zod object schema (types, ranges,
// defaults, descriptions); resolveModel merges defaults and validates a config in one place; the taxonomy is
// declared by the entry (taxonomy(config)), so tools never build a model to learn it. A conditional model is
// the same kind with `conditional: true`; older names (cvae, conditional-pixelcnn, cgan) are aliases: a kind
// plus preset options.
import { z } from 'zod';
import type { DataSpec } from '../data/spec.js';
import { UserError } from './errors.js';
import { labelledDataReason } from './labels.js';
import type { Family, GenerativeModel, Taxonomy } from './model.js';
import { configError, nearestName, optionsHelp } from './options.js';

export type ModelConfig = Record<string, unknown>;

/** Another name for a kind with some options preset (the user may still override them). */
export interface ModelAlias {
  description: string;
  config: ModelConfig;
}

/** What a family registers. `config` given to taxonomy/accepts/create is validated, defaults filled. */
export interface ModelEntry<C extends object = ModelConfig> {
  kind: string;
  family: Family;
  description: string;
  schema: z.ZodObject;
  /** where a model built with this config sits in the taxonomy (equals the instance's taxonomy) */
  taxonomy: (config: C) => Taxonomy;
  /** null when the model can take this data with this config, else the reason it cannot */
  accepts: (spec: DataSpec, config: C) => string | null;
  create: (config: C, spec: DataSpec, seed: number) => GenerativeModel;
  /**
   * Options added after checkpoints of this model were first written: the value that reproduces those
   * checkpoints' model, used when a saved config lacks the key (a new default must not change an old run).
   */
  savedDefaults?: ModelConfig;
  /** other names, e.g. { cvae: { description, config: { conditional: true } } } */
  aliases?: Record<string, ModelAlias>;
}

/** The registration of a model before the schema (new families until the merge; test models). */
export interface LegacyModelEntry {
  kind: string;
  family: Family;
  description: string;
  defaults: ModelConfig;
  savedDefaults?: ModelConfig;
  taxonomy?: (config: ModelConfig) => Taxonomy;
  accepts: (spec: DataSpec) => string | null;
  create: (config: ModelConfig, spec: DataSpec, seed: number) => GenerativeModel;
}

/**
 * A registered model as modelEntry returns it (for a kind or an alias): the entry, its defaults, and
 * accepts/create that take any config (merged over the defaults and validated here; accepts defaults to the
 * defaults' config).
 */
export interface RegisteredModel extends ModelEntry {
  defaults: ModelConfig;
  accepts: (spec: DataSpec, config?: ModelConfig) => string | null;
  /** the name asked for (a kind or an alias) */
  name: string;
}

const entries = new Map<string, ModelEntry>();
const aliases = new Map<string, { kind: string; alias: ModelAlias }>();
/** entries registered the pre-schema way, and those of them without a declared taxonomy */
const legacy = new WeakSet<ModelEntry>();
const noTaxonomy = new WeakSet<ModelEntry>();

function fromLegacy(l: LegacyModelEntry): ModelEntry {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(l.defaults)) shape[k] = z.unknown().default(v);
  const e: ModelEntry = {
    kind: l.kind,
    family: l.family,
    description: l.description,
    // passes unknown keys through: a legacy model's saved config may hold keys its defaults lack
    schema: z.looseObject(shape),
    taxonomy:
      l.taxonomy ??
      (() => {
        throw new Error(`model '${l.kind}' was registered without a taxonomy (legacy registerModel)`);
      }),
    accepts: (spec) => l.accepts(spec),
    create: l.create,
    ...(l.savedDefaults ? { savedDefaults: l.savedDefaults } : {}),
  };
  legacy.add(e);
  if (!l.taxonomy) noTaxonomy.add(e);
  return e;
}

function addEntry(e: ModelEntry): void {
  entries.set(e.kind, e);
  for (const [name, alias] of Object.entries(e.aliases ?? {})) aliases.set(name, { kind: e.kind, alias });
}

/**
 * Register a model: taxonomy/accepts/create see the schema's output type (defaults filled, validated).
 * Returns the entry.
 */
export function registerModelEntry<S extends z.ZodObject>(
  e: Omit<ModelEntry<z.output<S>>, 'schema'> & { schema: S },
): ModelEntry {
  const entry = e as unknown as ModelEntry;
  addEntry(entry);
  return entry;
}

/** Register a model the pre-schema way (defaults, accepts(spec)); its taxonomy is unknown unless given. */
export function registerModel(entry: LegacyModelEntry): void {
  addEntry(fromLegacy(entry));
}

function lookup(name: string): { entry: ModelEntry; preset: ModelConfig; alias?: string } {
  const e = entries.get(name);
  if (e) return { entry: e, preset: {} };
  const a = aliases.get(name);
  if (a) return { entry: entries.get(a.kind)!, preset: a.alias.config, alias: name };
  const known = modelKinds({ aliases: true });
  const near = nearestName(name, known);
  throw new UserError(
    `unknown model '${name}'${near ? ` (did you mean ${near}?)` : ''} (known: ${known.join(', ')})`,
  );
}

export interface ResolvedModel {
  entry: RegisteredModel;
  /** the canonical kind (an alias resolves to its kind) */
  kind: string;
  /** the alias asked for, if any */
  alias?: string;
  /** the validated config: the schema defaults, alias presets, savedDefaults (saved configs) and the user's keys */
  config: ModelConfig;
  /** why the model with this config cannot take this data (conditional models need labels), or null */
  accepts: (spec: DataSpec) => string | null;
  /** the model with this config (no second validation) */
  create: (spec: DataSpec, seed: number) => GenerativeModel;
}

/**
 * The schema check every config goes through: unknown keys (own properties: 'toString' is unknown) are a
 * UserError naming the nearest known option; then the schema fills defaults and checks types and ranges.
 * Idempotent: a parsed config parses to itself.
 */
export function parseModelOptions<S extends z.ZodObject>(
  kind: string,
  schema: S,
  raw: object,
  under: ModelConfig = {},
  opts: { allowUnknown?: boolean } = {},
): z.output<S> {
  const known = Object.keys(schema.shape);
  for (const k of opts.allowUnknown ? [] : Object.keys(raw)) {
    if (!Object.hasOwn(schema.shape, k)) {
      const near = nearestName(k, known);
      throw new UserError(
        `unknown option '${k}' for model '${kind}'${near ? ` (did you mean ${near}?)` : ''} (options: ${known.join(', ') || 'none'})`,
      );
    }
  }
  const merged: ModelConfig = { ...under, ...raw };
  const r = schema.safeParse(merged);
  if (!r.success) throw configError(kind, schema, merged, r.error.issues);
  return r.data;
}

function validate(entry: ModelEntry, preset: ModelConfig, user: ModelConfig, saved: boolean): ModelConfig {
  const under = { ...preset, ...(saved ? entry.savedDefaults : {}) };
  // saved configs of legacy entries were never checked for unknown keys
  const allowUnknown = saved && legacy.has(entry);
  return parseModelOptions(entry.kind, entry.schema, user, under, { allowUnknown }) as ModelConfig;
}

/**
 * The one place a model config is merged and validated: unknown keys are refused (naming the nearest known
 * option), then schema defaults < alias presets < savedDefaults (saved: a config read from a checkpoint) <
 * the given keys, checked by the schema. UserError on any problem.
 */
export function resolveModel(
  kindOrAlias: string,
  userConfig: ModelConfig = {},
  opts: { saved?: boolean } = {},
): ResolvedModel {
  const { entry, preset, alias } = lookup(kindOrAlias);
  const config = validate(entry, preset, userConfig, opts.saved ?? false);
  return {
    entry: modelEntry(kindOrAlias),
    kind: entry.kind,
    ...(alias ? { alias } : {}),
    config,
    accepts: (spec) => acceptsWith(entry, spec, config),
    create: (spec, seed) => entry.create(config, spec, seed),
  };
}

/** Why the model cannot take this data with this (validated) config: labels for conditional models, then the entry's own check. */
function acceptsWith(entry: ModelEntry, spec: DataSpec, config: ModelConfig): string | null {
  return labelledDataReason(spec, config.conditional === true) ?? entry.accepts(spec, config);
}

/** resolveModel, then the data check (UserError naming the reason), then create. */
export function createModel(
  kindOrAlias: string,
  userConfig: ModelConfig,
  spec: DataSpec,
  seed: number,
  opts: { saved?: boolean } = {},
): GenerativeModel {
  const r = resolveModel(kindOrAlias, userConfig, opts);
  const why = r.accepts(spec);
  if (why) throw new UserError(`model '${kindOrAlias}' cannot take this data: ${why}`);
  return r.create(spec, seed);
}

const views = new Map<string, RegisteredModel>();

/** The registered model for a kind or an alias (UserError naming the known ones otherwise). */
export function modelEntry(kindOrAlias: string): RegisteredModel {
  const { entry, preset } = lookup(kindOrAlias);
  const cached = views.get(kindOrAlias);
  if (cached && cached.schema === entry.schema) return cached;
  const defaults = validate(entry, preset, {}, false);
  const view: RegisteredModel = {
    ...entry,
    name: kindOrAlias,
    defaults,
    accepts: (spec, config) =>
      acceptsWith(entry, spec, config === undefined ? defaults : validate(entry, preset, config, false)),
    create: (config, spec, seed) => createModel(kindOrAlias, config, spec, seed),
    taxonomy: (config) => entry.taxonomy(validate(entry, preset, config, false)),
  };
  views.set(kindOrAlias, view);
  return view;
}

/** Registered kinds, sorted; with aliases: true, the aliases too. */
export function modelKinds(opts: { aliases?: boolean } = {}): string[] {
  const names = [...entries.keys()];
  if (opts.aliases) names.push(...aliases.keys());
  return names.sort();
}

/** Every alias: its name, the kind it names and the preset options. */
export function modelAliases(): { name: string; kind: string; description: string; config: ModelConfig }[] {
  return [...aliases.entries()]
    .map(([name, a]) => ({ name, kind: a.kind, description: a.alias.description, config: a.alias.config }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The declared taxonomy of a kind or alias with a config (default: its defaults); null for legacy entries without one. */
export function modelTaxonomy(kindOrAlias: string, config: ModelConfig = {}): Taxonomy | null {
  const { entry, preset } = lookup(kindOrAlias);
  if (noTaxonomy.has(entry)) return null;
  return entry.taxonomy(validate(entry, preset, config, false));
}

/** Every option of a kind or alias: type, default (alias presets included), range/choices and description. */
export function modelOptionsHelp(kindOrAlias: string): string {
  const { entry, preset, alias } = lookup(kindOrAlias);
  const defaults = validate(entry, preset, {}, false);
  const head = alias
    ? `${alias}: ${aliases.get(alias)!.alias.description}\n(alias of '${entry.kind}' with ${JSON.stringify(preset)})`
    : `${entry.kind}: ${entry.description}`;
  return `${head}\n\nmodel options (--set K=V):\n${optionsHelp(entry.schema, defaults)}\n`;
}
