import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'

/**
 * Emits plain JavaScript for the SQLite store and the few modules it imports into `outDir`, keeping
 * the src/ layout so relative imports resolve. Child processes (the crash test) run that output with
 * plain node: no loader, and no dependence on a full `npm run build`, which would also compile code
 * other people are in the middle of changing. transpileModule does no type checking; tsc does that.
 * The output is marked as ESM and gets a link to the repo's node_modules so `better-sqlite3` resolves
 * from a temp dir.
 */
export async function transpileSqliteStore(root: string, outDir: string): Promise<string> {
  const typescriptIn = async (dir: string) =>
    (await readdir(join(root, dir))).filter((f) => f.endsWith('.ts')).map((f) => join(root, dir, f))
  const files = [
    ...(await typescriptIn('src/stores/sqlite')),
    // The SQLite open and schema helper the store shares with the webhook and refresh databases.
    ...(await typescriptIn('src/util/sqlite')),
    join(root, 'src/stores/store.ts'),
    join(root, 'src/util/errors.ts'),
    join(root, 'src/util/units.ts'),
  ]
  for (const file of files) {
    const source = await readFile(file, 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        verbatimModuleSyntax: false,
      },
      fileName: file,
    })
    const target = join(outDir, relative(root, file)).replace(/\.ts$/, '.js')
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, outputText)
  }
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}\n')
  await symlink(join(root, 'node_modules'), join(outDir, 'node_modules'), 'dir')
  return join(outDir, 'src/stores/sqlite/index.js')
}
