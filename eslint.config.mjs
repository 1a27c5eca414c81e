import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Folder boundaries (no-restricted-imports, one entry per folder). A later entry replaces an
 * earlier one for the files both match, so the codec entry repeats the bgp/arp restrictions.
 * Paths are matched as written in the import: relative specifiers climbing out of the folder.
 */
const leaving = (folder) => `^(\\.\\./)+${folder}(/|$)`;
const restrict = (...patterns) => ['error', { patterns }];
const noKube = [
  { regex: leaving('k8s'), message: 'Pure code never talks to Kubernetes: src/k8s is for the I/O shells.' },
  { regex: '^@kubernetes/client-node(/|$)', message: 'Pure code never talks to Kubernetes.' },
];
const noSockets = [
  { regex: leaving('native'), message: 'Codecs are sans-IO: no sockets, no native bindings.' },
  { regex: '^(node:)?(net|dgram)$', message: 'Codecs are sans-IO: no sockets.' },
];
const boundaries = [
  { files: ['src/speaker/**/*.ts'], rules: { 'no-restricted-imports': restrict({ regex: leaving('controller'), message: 'The speaker never imports the controller; shared code lives in src/k8s, src/config or src/net.' }) } },
  { files: ['src/controller/**/*.ts'], rules: { 'no-restricted-imports': restrict({ regex: leaving('speaker'), message: 'The controller never imports the speaker.' }) } },
  { files: ['src/config/**/*.ts', 'src/bgp/**/*.ts', 'src/arp/**/*.ts'], rules: { 'no-restricted-imports': restrict(...noKube) } },
  {
    files: ['src/bgp/codec/**/*.ts', 'src/arp/*codec*.ts', 'src/arp/frame.ts', 'src/arp/ethernet.ts', 'src/arp/addr.ts'],
    rules: { 'no-restricted-imports': restrict(...noKube, ...noSockets) },
  },
  // Address parsing is a leaf every other folder may use: it depends on nothing else in src.
  { files: ['src/net/**/*.ts'], rules: { 'no-restricted-imports': restrict({ regex: '^\\.\\./', message: 'src/net is a leaf: it imports nothing else from src.' }, ...noKube) } },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', '.cache/**', '.tap/**', 'charts/**', 'scripts/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Type-aware promise rules: a dropped promise is an unhandled rejection or a race.
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // tsconfig.json covers src, test and bench; the two scripts run through tsx outside it.
        projectService: { allowDefaultProject: ['scripts/*.ts'], defaultProject: 'tsconfig.json' },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // tap queues `t.test()` subtests and reports their failures itself; the returned promise
      // is only for ordering, which tap already guarantees.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: 'test', package: '@tapjs/test' }] }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  ...boundaries,
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
