// Lint: typescript-eslint's recommended rules plus the type-aware ones that catch lost work
// (a promise nobody awaits or catches). Formatting is Prettier's job, not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'adapters/web/panel/dist/**', 'adapters/web/panel/src/api-types.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Tests assert that control characters are removed or passed through, so their patterns name them.
  { files: ['test/**/*.ts'], rules: { 'no-control-regex': 'off' } },
  { files: ['bin/*.js'], languageOptions: { globals: { process: 'readonly' } } },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '.*.cjs', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/await-thenable': 'error',
      // A zod schema may exist only to infer its type (docs/style.md: types from zod schemas).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_|Schema$', caughtErrors: 'none' },
      ],
    },
  },
);
