'use strict'
// The package's API against the harness's emulator (no broker): the
// configuration, tokens and the cache, the errors, the event loop while
// STS is slow, check(), the addon's exports, the loader, the types.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const util = require('node:util')
const { execFileSync, spawnSync } = require('node:child_process')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const kio = require('kafka-iam-oauth')
const { ENV, AUDIENCE, EMULATOR, freshConfig, emulator, stsCalls, noCredentialsEnv } = require('./helpers')

/** The longest the event loop may stall while a first token is minted. */
const STALL_BOUND_MS = 50
/** The emulator's delay on every STS answer in the event-loop test. */
const STS_LATENCY_MS = 3000

test('a bad config key is a ConfigError naming the key, thrown at once without any STS call', async () => {
  const before = await stsCalls()
  assert.throws(() => new kio.TokenProvider(`region=eu-west-1,audiance=${AUDIENCE}`), (e) => {
    assert.ok(e instanceof kio.ConfigError && e instanceof kio.KafkaIamOAuthError && e instanceof Error)
    assert.equal(e.name, 'ConfigError')
    assert.equal(e.code, 'ERR_KAFKA_IAM_OAUTH_CONFIG')
    assert.equal(e.retryable, false)
    assert.match(e.message, /unknown key "audiance"/)
    return true
  })
  assert.throws(() => new kio.TokenProvider({ ...freshConfig('bad'), duration_seconds: 59 }),
    (e) => e instanceof kio.ConfigError && /duration_seconds/.test(e.message))
  assert.throws(() => new kio.TokenProvider({ region: 'eu-west-1' }),
    (e) => e instanceof kio.ConfigError && /audience/.test(e.message))
  assert.throws(() => new kio.TokenProvider(42), TypeError)
  assert.equal(await stsCalls(), before, 'parsing made no STS call')
})

test('a config object is the same configuration as its string', () => {
  const obj = { region: 'eu-west-1', audience: AUDIENCE, duration_seconds: 900, tag_team: 'a,b\\c' }
  const str = `region=eu-west-1,audience=${AUDIENCE},duration_seconds=900,tag_team=a\\,b\\\\c`
  assert.deepEqual(kio.parseConfig(obj), kio.parseConfig(str))
  assert.equal(kio.parseConfig(obj).duration_seconds, '900')
  assert.ok(kio.configKeys().some((k) => k.name === 'audience' && k.required))
})

test('token() mints once, then resolves the cached token; stats count the mint', async () => {
  const config = freshConfig('mint')
  const provider = new kio.TokenProvider(config, { traceId: 'node-1' })
  assert.equal(provider.cachedToken(), null)
  const before = await stsCalls()
  const t = await provider.token()
  assert.equal(t.principal, ENV.KIO_USER_ARN)
  assert.equal(t.value.split('.').length, 3, 'a JWT')
  assert.deepEqual(t.extensions, { traceId: 'node-1' })
  const left = t.lifetime - Date.now()
  assert.ok(left > 250_000 && left <= 300_000, `a 300 s token has ${left} ms left`)
  // Another provider of the same configuration shares the cache entry.
  const again = await new kio.TokenProvider(config, 'traceId=node-1').token()
  assert.equal(again.value, t.value)
  assert.equal(provider.cachedToken(), t, 'the cached token is handed out as the same object')
  assert.equal(await stsCalls() - before, 1)
  const s = provider.stats()
  assert.equal(s.mints, 1)
  assert.equal(s.failures, 0)
  assert.equal(s.lastErrorKind, null)
  assert.ok(s.expiresInMs > 250_000 && s.refreshInMs > 100_000, JSON.stringify(s))
  assert.equal(provider.mintCount, 1)
  assert.equal(provider.config.audience, AUDIENCE)
})

test('a cached token resolves in the same turn of the event loop (no thread crossed)', async () => {
  const provider = new kio.TokenProvider(freshConfig('sync'))
  await provider.token()
  let settled = false
  const p = provider.token().then(() => { settled = true })
  await Promise.resolve()
  assert.ok(settled, 'resolved as a microtask, before any I/O callback')
  await p
})

test('the JWT never shows in util.inspect, JSON or console output of a token or provider', async () => {
  const provider = new kio.TokenProvider(freshConfig('secret'))
  const t = await provider.token()
  for (const text of [util.inspect(t), JSON.stringify(t), `${util.format('%o', t)}`, util.inspect(provider)]) {
    assert.ok(!text.includes(t.value), text)
    assert.ok(!text.includes(t.value.split('.')[1]), 'not even the claims part')
  }
  assert.match(util.inspect(t), /principal/)
  // Spreading keeps the fields a client reads.
  const copy = { ...t }
  assert.equal(copy.value, t.value)
  assert.equal(copy.lifetime, t.lifetime)
})

test('the adapters: oauthBearerProvider, oauthbearerTokenRefreshCb, platformaticToken', async () => {
  const provider = new kio.TokenProvider(freshConfig('adapters'))
  const { oauthBearerProvider, oauthbearerTokenRefreshCb, platformaticToken } = provider
  const t = await oauthBearerProvider()
  assert.equal(await platformaticToken(), t.value)
  const viaCb = await new Promise((resolve, reject) =>
    oauthbearerTokenRefreshCb('ignored', (err, tok) => (err ? reject(err) : resolve(tok))))
  assert.deepEqual(viaCb, { tokenValue: t.value, lifetime: t.lifetime, principal: t.principal, extensions: {} })
})

test('AccessDenied at STS is an StsError naming sts:GetWebIdentityToken and the audience', async (t) => {
  await emulator('/_emulator/policy', { allowed_audiences: ['someone-else.example.com'] })
  t.after(() => emulator('/_emulator/policy', { allowed_audiences: null }))
  const provider = new kio.TokenProvider(freshConfig('denied'))
  await assert.rejects(provider.token(), (e) => {
    assert.ok(e instanceof kio.StsError, String(e))
    assert.equal(e.code, 'ERR_KAFKA_IAM_OAUTH_STS')
    assert.equal(e.awsCode, 'AccessDenied')
    assert.equal(e.retryable, false)
    assert.match(e.message, /sts:GetWebIdentityToken/)
    assert.ok(e.message.includes(AUDIENCE), e.message)
    return true
  })
  assert.equal(provider.stats().lastErrorKind, 'sts')
  // The same error through the confluent-style callback.
  const viaCb = await new Promise((resolve) => provider.oauthbearerTokenRefreshCb('', (err) => resolve(err)))
  assert.ok(viaCb instanceof kio.StsError)
  // check() stops at the permission step with the same error.
  await assert.rejects(kio.check(freshConfig('denied-check'), { timeoutMs: 20_000 }), (e) => {
    assert.ok(e instanceof kio.StsError && e.awsCode === 'AccessDenied', String(e))
    assert.ok(Array.isArray(e.steps) && e.steps.some((s) => s.verdict === 'fail'), JSON.stringify(e.steps))
    return true
  })
})

test('no AWS credentials: a CredentialsError naming the missing credentials', () => {
  const env = noCredentialsEnv()
  const script = `
    const kio = require('kafka-iam-oauth')
    new kio.TokenProvider(${JSON.stringify(freshConfig('nocreds'))}).token().then(
      () => console.log(JSON.stringify({ ok: true })),
      (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, isCredentials: e instanceof kio.CredentialsError })))`
  const out = execFileSync(process.execPath, ['-e', script], { env, cwd: __dirname, encoding: 'utf8', timeout: 30_000 })
  const r = JSON.parse(out.trim().split('\n').pop())
  assert.equal(r.isCredentials, true, out)
  assert.equal(r.code, 'ERR_KAFKA_IAM_OAUTH_CREDENTIALS')
  assert.match(r.message, /credentials/i)
})

test(`a first mint with STS answering in ${STS_LATENCY_MS} ms never stalls the event loop over ${STALL_BOUND_MS} ms`, async (t) => {
  const provider = new kio.TokenProvider(freshConfig('latency'))
  await emulator('/_emulator/faults', { latency_ms: STS_LATENCY_MS })
  t.after(() => emulator('/_emulator/faults', { mode: 'none' }))
  const h = monitorEventLoopDelay({ resolution: 10 })
  // Timers keep firing while the mint runs on the library's runtime.
  let ticks = 0
  const timer = setInterval(() => { ticks += 1 }, 20)
  h.enable()
  const started = performance.now()
  const token = await provider.token()
  const elapsed = performance.now() - started
  h.disable()
  clearInterval(timer)
  assert.ok(token.value)
  assert.ok(elapsed >= STS_LATENCY_MS - 100, `the mint waited for the emulator's latency (${elapsed.toFixed(0)} ms)`)
  const maxMs = h.max / 1e6
  assert.ok(maxMs < STALL_BOUND_MS, `event loop stalled ${maxMs.toFixed(1)} ms (bound ${STALL_BOUND_MS} ms)`)
  assert.ok(ticks >= (STS_LATENCY_MS / 20) * 0.5, `the 20 ms timer fired ${ticks} times during the mint`)
})

test('check() rejects with a TimeoutError naming the check still running at timeoutMs', async (t) => {
  await emulator('/_emulator/faults', { latency_ms: STS_LATENCY_MS })
  t.after(() => emulator('/_emulator/faults', { mode: 'none' }))
  const started = Date.now()
  await assert.rejects(kio.check(freshConfig('check-deadline'), { timeoutMs: 500 }), (e) => {
    assert.ok(e instanceof kio.TimeoutError, String(e))
    assert.equal(e.retryable, true)
    assert.match(e.message, /still at "outbound web identity federation enabled"/)
    return true
  })
  assert.ok(Date.now() - started < STS_LATENCY_MS, 'rejected at its deadline, not when STS answered')
})

test('check() passes every step against the emulator and names the principal', async () => {
  const report = await kio.check(freshConfig('check'), {
    expectedIssuer: ENV.KIO_ISSUER,
    expectedAudience: AUDIENCE,
    timeoutMs: 20_000
  })
  assert.ok(report.steps.length >= 6)
  assert.ok(report.steps.every((s) => s.verdict === 'pass' || s.verdict === 'skip'), JSON.stringify(report.steps))
  assert.equal(report.principal, ENV.KIO_USER_ARN)
  assert.equal(report.callerArn, ENV.KIO_USER_ARN)
  assert.equal(report.stsEndpoint.replace(/\/$/, ''), EMULATOR)
})

test('the addon exports only Node-API entry points (no kafka_iam_oauth_*, no conf_init)', () => {
  const out = execFileSync('nm', ['-D', '--defined-only', ENV.KIO_NODE_ADDON], { encoding: 'utf8' })
  const symbols = out.split('\n').map((l) => l.trim().split(/\s+/).pop()).filter(Boolean)
  const allowed = new Set(['napi_register_module_v1', 'node_api_module_get_api_version_v1'])
  assert.ok(symbols.includes('napi_register_module_v1'), out)
  assert.deepEqual(symbols.filter((s) => !allowed.has(s)), [], 'unexpected exports')
})

test('one version: the packages and the addon agree', () => {
  const dir = ENV.KIO_NODE_PACKAGE_DIR
  const main = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  assert.equal(main.version, kio.version)
  for (const target of fs.readdirSync(path.join(dir, 'npm'))) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'npm', target, 'package.json'), 'utf8'))
    assert.equal(p.name, `kafka-iam-oauth-${target}`)
    assert.equal(p.version, kio.version)
    assert.equal(main.optionalDependencies[p.name], kio.version)
    assert.equal(p.main, `kafka-iam-oauth.${target}.node`)
  }
})

test('without an addon for the platform, require() names the platform and the package to install', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kio-node-noaddon-'))
  const pkg = path.join(dir, 'node_modules', 'kafka-iam-oauth')
  fs.mkdirSync(pkg, { recursive: true })
  for (const f of ['index.js', 'package.json']) fs.copyFileSync(path.join(ENV.KIO_NODE_PACKAGE_DIR, f), path.join(pkg, f))
  const env = { ...process.env }
  delete env.KAFKA_IAM_OAUTH_NATIVE_PATH
  const r = spawnSync(process.execPath, ['-e', "require('kafka-iam-oauth')"], { cwd: dir, env, encoding: 'utf8' })
  fs.rmSync(dir, { recursive: true, force: true })
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, new RegExp(`no native addon for ${kio.platformTarget()}`))
  assert.match(r.stderr, new RegExp(`kafka-iam-oauth-${kio.platformTarget()}`))
})

test('index.d.ts types an example program (tsc --noEmit)', () => {
  const tsc = path.join(__dirname, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '--noEmit', '-p', path.join(__dirname, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' })
})
