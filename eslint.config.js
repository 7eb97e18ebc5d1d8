// Lint rules for the whole tree (`npm run lint`, run by .ci/run): typescript-eslint's recommended set, type-aware rules
// for the mistakes that cost money in async code (a promise nobody awaits, a promise where a boolean or a void callback
// belongs, an await of something that is not a promise), and no `any`, tests included. Formatting is Prettier's job.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Generated code, build output, other languages' clients and runtime data are not ours to lint.
    ignores: ['gen/**', 'dist/**', 'portal/dist/**', 'node_modules/**', 'test-results/**', 'clients/**', '.tollbooth/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    languageOptions: {
      // The project service finds each file's tsconfig (portal/ has its own), so the type-aware rules see real types.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Scripts, the CLI entry and the embedded database's worker run on Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // Bundled by test/portal/portal.browser.test.ts and run in the browser.
    files: ['test/portal/browser-app.mjs'],
    languageOptions: { globals: globals.browser },
  },
);
