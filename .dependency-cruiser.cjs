// The layer order of src/ (docs/architecture.md), checked by `npm run layers` as part of `npm test`.
//
// Floors, top to bottom: a floor imports only the floors below it and the leaves. Nothing imports
// upward, so no two floors can form a cycle.
const floors = ['cli', 'app', 'admin', 'webhooks', 'refresh', 'gateway', 'engine', 'stores', 'model']
// Leaves the floors use, top to bottom: a leaf imports only the leaves below it, never a floor.
const leaves = ['upstream', 'log', 'config', 'util']

const folder = (names) => `^src/(${names.join('|')})/`

const floorRules = floors.map((name, i) => ({
  name: `floor-${name}`,
  comment: `${name}/ may import only ${[...floors.slice(i + 1), ...leaves].join(', ') || 'nothing else in src'}`,
  severity: 'error',
  from: { path: folder([name]) },
  to: { path: '^src/', pathNot: folder([name, ...floors.slice(i + 1), ...leaves]) },
}))

const leafRules = leaves.map((name, i) => ({
  name: `leaf-${name}`,
  comment: `${name}/ is a leaf: it may import only ${leaves.slice(i + 1).join(', ') || 'nothing else in src'}`,
  severity: 'error',
  from: { path: folder([name]) },
  to: { path: '^src/', pathNot: folder([name, ...leaves.slice(i + 1)]) },
}))

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...floorRules,
    ...leafRules,
    {
      name: 'engine-knows-no-upstream',
      comment: 'The engine, the stores and the entry model know nothing of HTTP or upstreams: they call the factory they are given',
      severity: 'error',
      from: { path: folder(['engine', 'stores', 'model']) },
      to: { path: folder(['upstream']) },
    },
    {
      name: 'model-is-pure',
      comment: 'model/ (the entry and pure policy over it) imports nothing else from src',
      severity: 'error',
      from: { path: folder(['model']) },
      to: { path: '^src/', pathNot: folder(['model']) },
    },
    {
      name: 'library-entry',
      comment: 'src/index.ts is the library API: only it exports from the floors, nothing in src imports it',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'library-entry-floors',
      comment: 'The library API exposes the engine, its stores, the entry model and the units: nothing of the gateway',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/', pathNot: folder(['engine', 'stores', 'model', 'util']) },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import in src resolves (a moved file left behind would otherwise pass unseen)',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'no-file-cycle',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      // dependency-cruiser's folder scope: sibling folders at any depth (engine and stores,
      // gateway/routing and gateway/fetch); a folder and its own subfolders are one unit.
      comment: 'No two folders import each other, directly or around a loop',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: `import type { Entry }` ties a store to wherever Entry lives.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
}
