// The README's client examples as the tests run them: the code block of a language under "Calling Tollbooth from any
// language", so the examples a user copies are the ones that were tested.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../process/spawn.js';

/** The first ```<lang> block of the README section `### <heading>` inside "## Calling Tollbooth from any language". */
export function readmeExample(heading: string, lang: string): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Calling Tollbooth from any language'));
  if (!section) throw new Error('README.md has no section "## Calling Tollbooth from any language"');
  const sub = section.split(/^### /m).find((s) => s.startsWith(heading));
  if (!sub) throw new Error(`README.md has no "### ${heading}" under "## Calling Tollbooth from any language"`);
  const block = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'm').exec(sub);
  if (!block) throw new Error(`README.md "### ${heading}" has no \`\`\`${lang} block`);
  return block[1];
}
