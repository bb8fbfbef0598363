// Layers only point down (docs/architecture.md). Run by `npm run lint` (depcruise). Type-only
// imports count like any other: a type names a module's contract, and a type-only edge upward
// is the first step of a runtime one.
//
// Entry points:      main/app, main/cli            (neither imports the other)
//                    main/shim                     (imports only SHIM_NEEDS of the core)
// main/core, top to bottom (a folder may import only folders of lower tiers, never its own
// tier's siblings, never higher ones; so no cycle between core folders can form):
const CORE_TIERS = [
  ['daemon'],
  ['control'],
  ['runtime'],
  ['metrics'],
  ['clients', 'bridge'],
  ['guard', 'era', 'sandbox'],
  ['approvals', 'oauth', 'change', 'forward'],
  ['secrets', 'store'],
  ['policy', 'pins', 'audit', 'process'],
  ['config', 'db'],
];
// ... and below every tier the shared leaves: the files directly in main/core (errors, log,
// paths, ...), which import only each other.

// The contract the renderer and the preload share with main: zod schemas, the typed API, the
// control client, IPC channel names. These import only each other, zod and eventsource-parser.
const CONTRACT = [
  '^main/core/control/(contract|operations|operation-spec|warden-api|control-client)\\.ts$',
  '^main/core/config/policy-schema\\.ts$',
  '^main/core/config/sandbox-schema\\.ts$',
  '^main/core/pins/review-hash\\.ts$',
  '^main/core/errors\\.ts$',
  '^main/app/channels\\.ts$',
];
const CONTRACT_NPM = ['zod', 'eventsource-parser'];

// What the connect shim may use of the core: it starts on every client launch, so it stays small.
const SHIM_NEEDS = [
  '^main/core/[^/]+\\.ts$',
  '^main/core/bridge/jsonrpc(-check)?\\.ts$',
  '^main/core/daemon/local-socket-(hello|lines|path)\\.ts$',
];

const folder = (name) => `^main/core/${name}/`;
const below = (tier) => CORE_TIERS.slice(tier + 1).flat();

const tierRules = CORE_TIERS.flatMap((members, tier) =>
  members.map((name) => ({
    name: `core-layer-${name}`,
    comment: `main/core/${name} may import only lower layers: ${below(tier).join(', ') || '(none)'} and the core's leaf files`,
    severity: 'error',
    from: { path: folder(name) },
    to: {
      path: '^main/',
      pathNot: [folder(name), '^main/core/[^/]+\\.ts$', ...below(tier).map(folder)],
    },
  })),
);

// renderer/src, top to bottom: the entry files directly in renderer/src (main.tsx, App.tsx,
// api.ts), then these folders; a folder imports only itself and folders further down, so no
// folder imports the entry files above it (the src <-> pages cycle). dependency-cruiser's
// folder-scoped `circular` counts a subfolder as part of its parent and so cannot see a cycle
// between a folder and its own subfolder; these path rules do.
const RENDERER_TIERS = ['pages', 'components', 'data'];
const rendererFolder = (name) => `^renderer/src/${name}/`;

const rendererRules = [
  ...RENDERER_TIERS.map((name, tier) => ({
    name: `renderer-layer-${name}`,
    comment: `renderer/src/${name} may import only ${RENDERER_TIERS.slice(tier + 1).join(', ') || '(no other renderer folder)'} of the renderer, never the entry files above it`,
    severity: 'error',
    from: { path: rendererFolder(name) },
    to: {
      path: '^renderer/',
      pathNot: RENDERER_TIERS.slice(tier).map(rendererFolder),
    },
  })),
  {
    name: 'renderer-unknown-folder',
    comment:
      'Every folder of renderer/src has a place in the renderer order (.dependency-cruiser.cjs, RENDERER_TIERS).',
    severity: 'error',
    from: { path: '^renderer/src/[^/]+/', pathNot: RENDERER_TIERS.map(rendererFolder) },
    to: {},
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      comment: 'No import cycle between files (type-only imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...tierRules,
    ...rendererRules,
    {
      name: 'core-leaves',
      comment: "The core's leaf files (main/core/*.ts) import only each other.",
      severity: 'error',
      from: { path: '^main/core/[^/]+\\.ts$' },
      to: { path: '^main/', pathNot: '^main/core/[^/]+\\.ts$' },
    },
    {
      name: 'core-unknown-folder',
      comment:
        'Every folder of main/core has a place in the layer order (.dependency-cruiser.cjs, CORE_TIERS).',
      severity: 'error',
      from: { path: '^main/core/[^/]+/', pathNot: CORE_TIERS.flat().map(folder) },
      to: {},
    },
    {
      name: 'core-stays-core',
      comment: 'main/core imports neither the app, the CLI, the shim, the preload nor the renderer.',
      severity: 'error',
      from: { path: '^main/core/' },
      to: { path: '^(main/(app|cli|shim)|preload|renderer)/' },
    },
    {
      name: 'app-not-cli',
      comment: 'The app and the CLI are entry points over the core: neither imports the other.',
      severity: 'error',
      from: { path: '^main/(app|cli)/' },
      to: { path: '^main/(app|cli)/', pathNot: '^main/$1/' },
    },
    {
      name: 'shim-needs-little',
      comment:
        'The connect shim uses only the leaves, jsonrpc.ts and the local-socket modules both ends share.',
      severity: 'error',
      from: { path: '^main/shim/' },
      to: { path: '^(main|preload|renderer)/', pathNot: ['^main/shim/', ...SHIM_NEEDS] },
    },
    {
      name: 'renderer-contract-only',
      comment: 'The renderer imports from main/ only contract modules, and nothing of the preload.',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^(main|preload)/', pathNot: CONTRACT },
    },
    {
      name: 'preload-contract-only',
      comment: 'The preload imports from main/ only contract modules, and nothing of the renderer.',
      severity: 'error',
      from: { path: '^preload/' },
      to: { path: '^(main|renderer)/', pathNot: CONTRACT },
    },
    {
      name: 'contract-is-closed',
      comment: 'Contract modules import only each other (and zod, eventsource-parser): no Node built-ins.',
      severity: 'error',
      from: { path: CONTRACT },
      to: { pathNot: [...CONTRACT, ...CONTRACT_NPM.map((p) => `^node_modules/${p}/`)] },
    },
    {
      name: 'sdk-v2-only',
      comment:
        'main/ speaks MCP through the SDK v2 packages (@modelcontextprotocol/server, core, client); the v1 SDK is what tests run as a 2025-11-25 client (a devDependency).',
      severity: 'error',
      from: { path: '^main/' },
      to: { path: '^node_modules/@modelcontextprotocol/sdk/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
