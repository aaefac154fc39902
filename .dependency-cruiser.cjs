/**
 * The house rules for imports, checked in CI (`npm run deps:check`). The map below is the one
 * the README's architecture section shows: each folder of src/ and the folders it may import.
 * Anything else is a violation, so a new dependency between rooms is a decision, not an accident.
 */
const MAY_IMPORT = {
  common: [],
  config: [],
  metrics: ['common'],
  'change-feed': [],
  redis: ['config'],
  queue: ['common', 'config', 'metrics'],
  tencent: ['common', 'config', 'metrics', 'redis'],
  auth: ['common', 'config', 'redis'],
  webhook: ['common', 'config', 'metrics', 'queue'],
  tracking: ['change-feed', 'common', 'config', 'metrics', 'queue', 'tencent', 'webhook'],
  resolution: ['change-feed', 'common', 'config', 'redis', 'tencent', 'tracking'],
  lookup: [
    'auth',
    'change-feed',
    'common',
    'config',
    'metrics',
    'redis',
    'resolution',
    'tencent',
    'tracking',
  ],
  reconciliation: ['change-feed', 'config', 'metrics', 'tencent', 'tracking'],
  scheduling: [
    'change-feed',
    'common',
    'config',
    'queue',
    'reconciliation',
    'resolution',
    'tencent',
    'tracking',
  ],
  control: [
    'admin',
    'auth',
    'common',
    'config',
    'lookup',
    'metrics',
    'resolution',
    'tencent',
    'tracking',
  ],
  health: ['common', 'redis'],
  admin: [
    'auth',
    'common',
    'config',
    'lookup',
    'queue',
    'reconciliation',
    'resolution',
    'tencent',
    'tracking',
  ],
  // The entities and migrations every part keeps its tables with.
  database: ['auth', 'control', 'queue', 'reconciliation', 'resolution', 'tracking'],
};

const layering = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  name: `${folder}-imports-only-its-map`,
  comment: `src/${folder} may import only: ${allowed.join(', ') || 'nothing of src/'}`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: { path: `^src/(?!(?:${[folder, ...allowed].join('|')})/)[^/]+/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Folders of src/ never import each other in a circle.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-imports-no-tools-or-tests',
      comment: 'The service never depends on the developer tools or the tests.',
      severity: 'error',
      from: { path: '^(src|migrations)/' },
      to: { path: '^(tools|test)/' },
    },
    {
      name: 'production-imports-no-client',
      comment:
        'The typed client speaks to the service from outside (tools/ and test/ use it); the service never imports it.',
      severity: 'error',
      from: { path: '^(src|migrations)/' },
      to: { path: '^clients/' },
    },
    {
      name: 'client-imports-only-its-package',
      comment:
        'clients/typescript is published on its own: it imports nothing else of the repository and no Node built-in (it needs only fetch, streams and timers).',
      severity: 'error',
      from: { path: '^clients/typescript/src/' },
      to: { pathNot: '^clients/typescript/src/' },
    },
    {
      name: 'tools-import-no-tests',
      comment: 'Tests import tools, never the other way round.',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^test/' },
    },
    {
      name: 'migrations-only-from-database',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/database/' },
      to: { path: '^migrations/' },
    },
    {
      name: 'no-unlisted-folder',
      comment: 'Every folder of src/ has a place in the map above.',
      severity: 'error',
      from: { path: `^src/(?!(?:${Object.keys(MAY_IMPORT).join('|')})/)[^/]+/` },
      to: {},
    },
    ...layering,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // clients/typescript/dist: the client package's own build (`npm run build` there), if any.
    exclude: { path: '^(dist|node_modules|clients/typescript/dist)/' },
  },
};
