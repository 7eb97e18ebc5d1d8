// No module of src/ or bench/ imports itself through others: docs/architecture.md ("Layering") says what two modules
// share goes into a leaf both import. Every relative import is an arrow — static, `export … from`, `import()` and
// `import type` alike (a type-only circle is still a circle for a reader) — read with TypeScript's own import scanner,
// so imports in comments and strings are not. A failure names each circle's files and arrows.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHECKED = ['src', 'bench'];

/** The relative module specifiers a TypeScript source imports, in every form (see the header). */
function relativeImports(source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'));
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** file → the checked files it imports (paths relative to the repository, `/`-separated). */
function importGraph(): Map<string, string[]> {
  const files = CHECKED.flatMap(tsFiles);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const spec of relativeImports(readFileSync(join(ROOT, file), 'utf8'))) {
      const abs = resolve(ROOT, dirname(file), spec);
      // NodeNext: `./x.js` names the source `./x.ts`.
      for (const candidate of [abs.replace(/\.js$/, '.ts'), abs]) {
        const rel = relative(ROOT, candidate).split('\\').join('/');
        if (known.has(rel)) {
          targets.add(rel);
          break;
        }
      }
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** The strongly connected components of more than one file (or a file importing itself): the import circles. */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
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
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** A circle as its files' arrows inside it, one per line: what to read to cut it. */
function describeCircle(graph: Map<string, string[]>, files: string[]): string {
  const inside = new Set(files);
  const arrows = files.flatMap((f) => (graph.get(f) ?? []).filter((t) => inside.has(t)).map((t) => `  ${f} -> ${t}`));
  return [`circle of ${files.length} files:`, ...arrows].join('\n');
}

describe('import circles', () => {
  const graph = importGraph();
  const found = circles(graph);

  it('reads every form of relative import, and no import in a comment or a string', () => {
    const source = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      'import {\n  type C,\n  d,\n} from "./c.js";',
      "export { e } from './e.js';",
      "export * from './f.js';",
      "export type { G } from './g.js';",
      "import './h.js';",
      "const { i } = await import('./i.js');",
      "import { j } from 'node:fs';",
      "// import k from './k.js';",
      'const l = "import l from \'./l.js\'";',
    ].join('\n');
    expect(relativeImports(source)).toEqual(['./a.js', '../b.js', './c.js', './e.js', './f.js', './g.js', './h.js', './i.js']);
  });

  it('sees the files of src/ and bench/ and resolves their imports to them', () => {
    expect(graph.get('src/app.ts')).toContain('src/wallets/ledger.ts');
    expect(graph.get('bench/run.ts')).toContain('bench/lib/load.ts');
  });

  it('src/ and bench/ have none', () => {
    expect(found.map((files) => describeCircle(graph, files)).join('\n\n')).toBe('');
  });
});
