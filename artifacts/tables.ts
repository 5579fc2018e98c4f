/**
 * The data step's tables by name, with their fixed columns (docs/artifacts.md describes each):
 *  - examples.parquet: one row per sequence, evaluation sequences then Hessian ones: `split`
 *    ('eval' | 'hessian'), `index` (within the split), then the task's example columns;
 *  - tokens.parquet: one row per evaluation token (n·T, token order): `token` (its index),
 *    `example` (the evaluation sequence it belongs to), then the task's label columns (its skills
 *    among them: arithmetic's digit, carry and value; English's part-of-speech tags).
 * Steps and the report name these tables and columns through this module.
 */
export const DATA_TABLES = {
  examples: 'examples.parquet',
  tokens: 'tokens.parquet',
} as const;

/** The columns every examples.parquet starts with. */
export const EXAMPLE_COLUMNS = { split: 'split', index: 'index' } as const;

/** The columns every tokens.parquet starts with. */
export const TOKEN_COLUMNS = { token: 'token', example: 'example' } as const;
