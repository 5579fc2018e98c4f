/**
 * The config's field paths, read from the zod schema itself (never from the defaults' shape, which
 * lacks every optional field and section without a default): whether `--set a.b.c` names a field,
 * the fields a section has, and the fields that must be given together (every field of an optional
 * section without defaults, such as train.denseCheckpoints' `every` and `until`).
 */
import type { z } from 'zod';
import { configSchema } from './schema.ts';

type Node = z.core.$ZodType;

/** The schema under optional/default/readonly/pipe wrappers; refinements live inside the schema itself. */
function unwrap(node: Node): { node: Node; optional: boolean } {
  let cur = node;
  let optional = false;
  for (;;) {
    const def = cur._zod.def as { type: string; innerType?: Node; in?: Node };
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') {
      optional = true;
      cur = def.innerType!;
    } else if (def.type === 'readonly' || def.type === 'nullable' || def.type === 'catch') cur = def.innerType!;
    else if (def.type === 'pipe') cur = def.in!;
    else return { node: cur, optional };
  }
}

/** The fields of an object schema, or undefined when `node` is no object. */
function fieldsOf(node: Node): Record<string, Node> | undefined {
  const def = unwrap(node).node._zod.def as { type: string; shape?: Record<string, Node> };
  return def.type === 'object' ? def.shape : undefined;
}

/** The schema node `path` names, or undefined when it names no field. */
export function schemaAt(path: string[], root: Node = configSchema): Node | undefined {
  let cur: Node = root;
  for (const p of path) {
    const fields = fieldsOf(cur);
    if (!fields || !Object.hasOwn(fields, p)) return undefined;
    cur = fields[p];
  }
  return cur;
}

/** The field names of the section `path` names (empty when it names no section). */
export function sectionFields(path: string[], root: Node = configSchema): string[] {
  const node = schemaAt(path, root);
  return node ? Object.keys(fieldsOf(node) ?? {}).sort() : [];
}

/** Every leaf field's path (a field that is no section), in the schema's order; `task` is left to its task's schema. */
export function leafPaths(root: Node = configSchema, skip: string[] = ['task']): string[] {
  const out: string[] = [];
  const walk = (node: Node, path: string[]) => {
    const fields = fieldsOf(node);
    if (!fields) {
      out.push(path.join('.'));
      return;
    }
    for (const [k, v] of Object.entries(fields)) if (!(path.length === 0 && skip.includes(k))) walk(v, [...path, k]);
  };
  walk(root, []);
  return out;
}

/**
 * Groups of fields needed together: the fields of an optional section whose every field is
 * required (no default): giving one without the others is an incomplete section.
 */
export function requiredTogether(root: Node = configSchema): string[][] {
  const out: string[][] = [];
  const walk = (node: Node, path: string[]) => {
    const fields = fieldsOf(node);
    if (!fields) return;
    const names = Object.keys(fields);
    if (path.length > 0 && unwrap(node).optional && names.length > 1 && names.every((n) => !unwrap(fields[n]).optional)) {
      out.push(names.map((n) => [...path, n].join('.')));
    }
    for (const [k, v] of Object.entries(fields)) walk(v, [...path, k]);
  };
  walk(root, []);
  return out;
}
