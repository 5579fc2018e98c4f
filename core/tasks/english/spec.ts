/**
 * The English language-modelling task's config and shape (core/tasks/english/task.ts has its data):
 * `task: { name: 'english', corpus?, textColumn, corpusSha256?, vocabSize, contextLength,
 * lowercase }`; V = vocabSize, L = T = contextLength (every next-token prediction is evaluated).
 */
import { z } from 'zod';
import type { TaskSpec } from '../task.ts';

/** The tag columns read the paper's way: the target's tag and its 3 predecessors'. */
export const TAG_POSITIONS = ['pos', 'pos_1', 'pos_2', 'pos_3'] as const;

export const englishConfigSchema = z.strictObject({
  name: z.literal('english'),
  /** A corpus file (.txt, .jsonl, .parquet); absent: the built-in Moby-Dick. */
  corpus: z.string().min(1).optional(),
  /** The text field of a JSONL corpus, the text column of a Parquet one. */
  textColumn: z.string().min(1).default('text'),
  /** SHA-256 of the corpus's documents (core/text/corpus.ts), filled in when a run is submitted. */
  corpusSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'task.corpusSha256 must be 64 lower-case hex digits')
    .optional(),
  /** Vocabulary size V, UNK included. */
  vocabSize: z.int().min(16).max(65_536).default(2000),
  /** Context length L (T = L evaluated predictions per sequence). */
  contextLength: z.int().min(4).max(1024).default(32),
  lowercase: z.boolean().default(true),
});
export type EnglishConfig = z.infer<typeof englishConfigSchema>;

export const englishSpec: TaskSpec<EnglishConfig> = {
  name: 'english',
  description:
    'English language modelling: next-word prediction, clusters read against part-of-speech tags (the paper’s second experiment)',
  configSchema: englishConfigSchema,
  isDefault: () => false,
  shape: (t) => ({ vocabSize: t.vocabSize, contextLength: t.contextLength, outputsPerSequence: t.contextLength }),
  skillColumns: [...TAG_POSITIONS, 'freq_band', 'position'],
  reads: { digitPlaces: false, carry: false, tags: true },
};
