/**
 * A run's task and data from its config: the task module `task.name` selects (core/tasks/,
 * arithmetic when the field is absent), its sequence shape, the model shape (the model settings
 * with the task's vocabulary, context and evaluated positions: what the parameter layout, the
 * forward and reverse passes and the jets are built for), its data and its evaluation token count.
 */
import type { ModelShape } from './model/layout.ts';
import type { RunSettings, TaskSelection } from './settings.ts';
import { DEFAULT_TASK, evalTokens, getTask, type SequenceShape, type Task, type TaskData } from './tasks/index.ts';

export type { ModelShape } from './model/layout.ts';
export type { Sequences, SequenceShape, TaskData } from './tasks/index.ts';
export { sliceSequences } from './tasks/index.ts';

type WithTask = { task?: TaskSelection };

/** The config's `task`, the default spelled out when absent. */
export const taskConfig = (c: WithTask): { name: string } => c.task ?? { name: DEFAULT_TASK };

export const taskOf = (c: WithTask): Task => getTask(taskConfig(c).name);

export const sequenceShape = (c: WithTask): SequenceShape => taskOf(c).shape(taskConfig(c));

export const modelShape = (c: Pick<RunSettings, 'model' | 'task'>): ModelShape => ({ ...c.model, ...sequenceShape(c) });

/** Evaluation tokens of a run: data.evalSize sequences × the task's evaluated positions. */
export const evalTokenCount = (c: Pick<RunSettings, 'data' | 'task'>): number => evalTokens(sequenceShape(c), c.data.evalSize);

/** The evaluation set, Hessian sample and training stream of a run (deterministic from the seed). */
export async function makeData(c: Pick<RunSettings, 'seed' | 'data' | 'task'>): Promise<TaskData> {
  return taskOf(c).makeData({ seed: c.seed, data: c.data, task: taskConfig(c) });
}

/**
 * The config to submit: the task's own checks run (a corpus read and sized) and what they fill in
 * (a corpus hash) set; the config itself when the task has nothing to check. Before any work.
 */
export async function resolveTask<C extends Pick<RunSettings, 'data' | 'task'>>(c: C): Promise<C> {
  const t = taskOf(c);
  if (!c.task || !t.resolve) return c;
  return { ...c, task: (await t.resolve(c.task, c.data)) as C['task'] };
}

/**
 * The task as step-key parameters: absent for the default task, so the keys of every config from
 * before tasks existed stay as they were; `{ task }` otherwise.
 */
export const taskKeyParams = <C extends WithTask>(c: C): { task?: C['task'] } => (c.task ? { task: c.task } : {});
