import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tap/**', '.weaver/**', 'bench/results/**', 'bench/peers/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    // The core knows no plugin by name: proxy/ never reaches into plugins/.
    files: ['proxy/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/plugins/**'], message: 'proxy/ must not import plugins/' }] }],
    },
  },
  {
    // Built-in plugins get only the public API, like a third party.
    files: ['plugins/**/*.ts', 'examples/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/proxy/*/**', '!**/proxy/index.ts'], message: 'plugins use only proxy/index.ts' }] }],
    },
  },
  {
    files: ['bin/weaver', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
