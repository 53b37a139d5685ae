export {
  type CelResultType,
  type CelVariableName,
  type CelVariables,
  type CompiledExpression,
  type CompileOptions,
  compileExpression,
  ExpressionError,
} from './cel.js'
export { type Env, interpolate } from './env.js'
export {
  ConfigError,
  type ConfigIssue,
  type ConfigIssueKind,
  formatIssue,
  formatPath,
  type PathSegment,
} from './errors.js'
export { configJsonSchema, configJsonSchemaText } from './json-schema.js'
export { loadConfig, type ParseOptions, parseConfig } from './load.js'
export { type PathPattern, PathPatternError, type PatternSegment, parsePathPattern } from './path-pattern.js'
export { isLoopback, parseListen } from './schema/net.js'
export {
  compileTemplate,
  type Template,
  type TemplatePart,
  type TemplateRef,
  TemplateSyntaxError,
} from './template.js'
export type * from './types.js'
