/**
 * A step's definition, as the registry (activities/steps/registry.ts) holds it: its code version,
 * the name of one invocation, and the function that runs it. Every runner (the Temporal
 * activities, the compute threads, the in-process runner) is derived from the registry's type.
 */
import type { StepResult } from '../../pipeline/contract.ts';
import type { StepContext } from './context.ts';

export interface StepDef<A extends unknown[]> {
  /** Code version, part of every key the step computes: bump it when the step's output for the same inputs changes. */
  version: string;
  /** The name of one invocation in the run record and in progress lines (`polca/3`, `cluster/loss`). */
  label(...args: A): string;
  run(ctx: StepContext, ...args: A): Promise<StepResult>;
}

/** A step definition, its argument types taken from `run`. */
export function defineStep<A extends unknown[]>(def: {
  version: string;
  label: (...args: NoInfer<A>) => string;
  run: (ctx: StepContext, ...args: A) => Promise<StepResult>;
}): StepDef<A> {
  return def;
}

/** Any step definition (arguments unknown): what a registry holds. */
export interface AnyStepDef {
  version: string;
  label(...args: never[]): string;
  run(ctx: StepContext, ...args: never[]): Promise<StepResult>;
}
export type StepRegistry = Record<string, AnyStepDef>;

/** The arguments of a registered step (after the context). */
export type StepArgs<D> = D extends StepDef<infer A> ? A : never;

/** One activity per registered step: the same arguments, the step's result. */
export type RegistryActivities<R extends StepRegistry> = { [K in keyof R & string]: (...args: StepArgs<R[K]>) => Promise<StepResult> };

/** Every step's code version, by activity name. */
export function versionsOf<R extends StepRegistry>(registry: R): { [K in keyof R]: string } {
  return Object.fromEntries(Object.entries(registry).map(([k, d]) => [k, d.version])) as { [K in keyof R]: string };
}

/** Call a registered step by name with arguments that crossed a thread or process boundary (checked there by name). */
export function runByName(registry: StepRegistry, name: string, ctx: StepContext, args: unknown[]): Promise<StepResult> {
  const def = registry[name];
  if (!def) throw new Error(`unknown step ${JSON.stringify(name)}; registered: ${Object.keys(registry).join(', ')}`);
  return (def.run as (ctx: StepContext, ...a: unknown[]) => Promise<StepResult>)(ctx, ...args);
}
/** The invocation name of a registered step called by name (see runByName). */
export function labelByName(registry: StepRegistry, name: string, args: unknown[]): string {
  const def = registry[name];
  if (!def) throw new Error(`unknown step ${JSON.stringify(name)}; registered: ${Object.keys(registry).join(', ')}`);
  return (def.label as (...a: unknown[]) => string)(...args);
}

/**
 * One activity per registered step, each made by `make` from the step's name: the runners'
 * common shape (Temporal wrappers, in-process calls), typed by the registry.
 */
export function activitiesOf<R extends StepRegistry>(
  registry: R,
  make: (name: keyof R & string) => (...args: unknown[]) => Promise<StepResult>,
): RegistryActivities<R> {
  const out: Record<string, (...args: unknown[]) => Promise<StepResult>> = {};
  for (const name of Object.keys(registry)) out[name] = make(name);
  // Every key of the registry has its activity, whose arguments the registry's type names.
  return out as unknown as RegistryActivities<R>;
}
