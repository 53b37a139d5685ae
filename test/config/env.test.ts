// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references on purpose
import { describe, expect, it } from 'vitest'
import { interpolate } from '../../src/config/index.js'
import { configError, load, onlyIssue, UPSTREAM } from './helpers.js'

describe('interpolate', () => {
  const env = { A: 'alpha', EMPTY: '' }

  it('expands ${VAR} and ${VAR:-default}', () => {
    expect(interpolate('x-${A}-y', env)).toEqual({ ok: true, value: 'x-alpha-y', variables: ['A'] })
    expect(interpolate('${MISSING:-dflt}', env)).toMatchObject({ ok: true, value: 'dflt' })
    expect(interpolate('${EMPTY:-dflt}', env)).toMatchObject({ ok: true, value: 'dflt' })
    expect(interpolate('${A:-dflt}', env)).toMatchObject({ ok: true, value: 'alpha' })
    expect(interpolate('${EMPTY}', env)).toMatchObject({ ok: true, value: '' })
    expect(interpolate('${MISSING:-}', env)).toMatchObject({ ok: true, value: '' })
  })

  it('$${ is a literal ${, and a lone $ stays', () => {
    expect(interpolate('$${A}', env)).toMatchObject({ ok: true, value: '${A}' })
    expect(interpolate('cost: $5, $A', env)).toMatchObject({ ok: true, value: 'cost: $5, $A' })
    // Read left to right: the first "$" is plain, then "$${" is the escape.
    expect(interpolate('$$${A}', env)).toMatchObject({ ok: true, value: '$${A}' })
    expect(interpolate('pa$$word', env)).toMatchObject({ ok: true, value: 'pa$$word' })
  })

  it('defaults are not expanded again', () => {
    expect(interpolate('${MISSING:-${A}}', env)).toMatchObject({ ok: true, value: '${A}' })
  })

  it('refuses unset variables and malformed references', () => {
    expect(interpolate('${MISSING}', env)).toEqual({
      ok: false,
      message: 'environment variable MISSING is not set (referenced as ${MISSING})',
    })
    expect(interpolate('${A', env)).toMatchObject({ ok: false })
    expect(interpolate('${1A}', env)).toMatchObject({ ok: false })
    expect(interpolate('${}', env)).toMatchObject({ ok: false })
  })
})

describe('interpolation in a config file', () => {
  it('happens after YAML parsing, so a value can never inject YAML', () => {
    const env = {
      TOKEN: 'x\nlisten: 0.0.0.0:1',
      KEYS: '["k1", "k2"]',
      PATH_VALUE: '{ kind: memory }',
      ANCHOR: '*alias',
    }
    const config = load(
      `store:
  path: \${PATH_VALUE}
upstreams:
  api:
    url: https://api.example.com
    auth: { bearer: "\${KEYS}" }
    headers: { X-Tag: "\${ANCHOR}" }
`,
      env,
    )
    expect(config.store).toMatchObject({ kind: 'sqlite', path: '/srv/cistern/{ kind: memory }' })
    expect(config.upstreams.api?.auth).toEqual({ kind: 'bearer', tokens: ['["k1", "k2"]'] })
    expect(config.upstreams.api?.headers).toEqual({ 'x-tag': '*alias' })
    // A newline cannot add a key: the whole value is one string, refused as a token.
    const issue = onlyIssue('admin:\n  token: ${TOKEN}\n', env)
    expect(issue).toMatchObject({ path: 'admin.token', line: 2 })
    expect(issue.message).toBe('must not contain control characters or line breaks')
  })

  it('interpolates inside longer strings, lists and quoted flow values', () => {
    const config = load(
      `${UPSTREAM}    auth:\n      header: { name: X-Key, values: ["\${K1}", "k-\${K2}"] }\n`,
      {
        K1: 'one',
        K2: 'two',
      },
    )
    expect(config.upstreams.api?.auth).toEqual({ kind: 'header', name: 'x-key', values: ['one', 'k-two'] })
  })

  it('never interpolates keys', () => {
    const issue = onlyIssue('${HOME}: 1\n', { HOME: 'listen' })
    expect(issue.message).toContain('unknown key "${HOME}"')
  })

  it('$${ writes a literal ${ into a value', () => {
    expect(load('admin:\n  token: a$${B}c\n').admin.token).toBe('a${B}c')
  })

  it('a missing variable names file, line, key and the variable', () => {
    const error = configError(`${UPSTREAM}    auth:\n      bearer: ["\${COC_KEY_1}", "\${COC_KEY_2}"]\n`, {
      COC_KEY_1: 'k1',
    })
    expect(error.message).toBe(
      'cistern.yaml:5:32 upstreams.api.auth.bearer[1]: environment variable COC_KEY_2 is not set (referenced as ${COC_KEY_2})',
    )
  })

  it('never prints a value that came from the environment', () => {
    const secret = 'hunter2-very-secret'
    const error = configError(`${UPSTREAM}    timeout: \${API_TIMEOUT}\n    url2: x\n`, {
      API_TIMEOUT: secret,
    })
    expect(error.message).not.toContain(secret)
    expect(error.issues[0]?.message).toBe(
      '<value of $API_TIMEOUT> is not a duration (expected e.g. 90s, 5m, 24h)',
    )
    const listen = configError('listen: ${LISTEN}\n', { LISTEN: secret })
    expect(listen.message).not.toContain(secret)
  })
})
