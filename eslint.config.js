// ESLint: the recommended JavaScript and typescript-eslint rules over src/, test/ and bench/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'standards/', 'data/', '.cache/', '.bench-tmp/', 'test/support/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // unused names are errors, except the ones that say they are unused on purpose
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `while (step())` loops and generators read plainly; the rule cannot tell them from a mistake
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // the console's one small browser script
    files: ['src/web/assets/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly' } },
  },
  {
    // the ledger is asynchronous: a call that is not awaited would let a claim or a number go unrecorded
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
);
