// No import circles: no file of the checked folders of src/ imports, directly or through others, a file that imports
// it back. Static imports and re-exports count, type-only ones too (a circle of types is still two files that cannot
// be read apart). Checked today: auth, server, topups and stripe; the other folders join the list once their own
// circles are cured, and then the list goes away.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');
const CHECKED = ['auth', 'server', 'topups', 'stripe'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's relative imports inside src/, as files. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gm)]
      .map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')))
      .filter((t) => known.has(t));
    graph.set(file, targets);
  }
  return graph;
}

/** Strongly connected components of more than one file (or a file importing itself): the import circles. */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('imports', () => {
  it('form no circle through src/auth, src/server, src/topups or src/stripe', () => {
    const graph = importGraph();
    // The scan must see the imports it is meant to judge (a broken pattern would find no circle anywhere).
    expect(graph.get(join(SRC, 'topups/settlement.ts'))).toContain(join(SRC, 'topups/topups.sql.ts'));
    const checked = CHECKED.map((d) => join(SRC, d) + '/');
    const inChecked = circles(graph)
      .filter((c) => c.some((f) => checked.some((d) => f.startsWith(d))))
      .map((c) => c.map((f) => relative(ROOT, f)));
    expect(inChecked).toEqual([]);
  });
});
