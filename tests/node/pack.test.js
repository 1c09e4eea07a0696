'use strict'
// The npm tarballs (scripts/node/pack.sh, as make node-pack makes them)
// installed together into an empty project by npm alone, with nothing but
// node and npm on PATH (no compiler, make or python), then loaded from
// node_modules and minting against the emulator.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const kio = require('kafka-iam-oauth')
const { ENV, freshConfig } = require('./helpers')

const PACK_DIR = ENV.KIO_NODE_PACK_DIR

function which (cmd) {
  return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim()
}

test('the main and platform tarballs install with npm and no compiler, load from node_modules and mint', () => {
  assert.ok(PACK_DIR, 'KIO_NODE_PACK_DIR names the directory of the tarballs')
  const target = kio.platformTarget()
  const main = path.join(PACK_DIR, `kafka-iam-oauth-${kio.version}.tgz`)
  const platform = path.join(PACK_DIR, `kafka-iam-oauth-${target}-${kio.version}.tgz`)
  for (const f of [main, platform]) assert.ok(fs.existsSync(f), `${f} exists`)

  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'kio-node-install-'))
  try {
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'kio-install-check', version: '1.0.0', private: true }))
    // PATH holds node and npm only.
    const bin = path.join(project, '.bin-only')
    fs.mkdirSync(bin)
    fs.symlinkSync(process.execPath, path.join(bin, 'node'))
    fs.symlinkSync(fs.realpathSync(which('npm')), path.join(bin, 'npm'))
    for (const tool of ['cc', 'gcc', 'make', 'python3']) {
      assert.throws(() => execFileSync(path.join(bin, 'node'), ['-e', `require('child_process').execFileSync('${tool}', ['--version'])`],
        { env: { PATH: bin }, stdio: 'pipe' }), `${tool} is not on the install's PATH`)
    }
    const env = { ...process.env, PATH: bin, npm_config_cache: path.join(project, '.npm-cache') }
    delete env.KAFKA_IAM_OAUTH_NATIVE_PATH
    const started = Date.now()
    execFileSync(path.join(bin, 'npm'), ['install', '--no-audit', '--no-fund', '--loglevel=error', main, platform],
      { cwd: project, env, encoding: 'utf8', stdio: 'pipe' })
    const installMs = Date.now() - started

    const nm = path.join(project, 'node_modules')
    assert.ok(fs.existsSync(path.join(nm, `kafka-iam-oauth-${target}`, `kafka-iam-oauth.${target}.node`)))
    assert.deepEqual(fs.readdirSync(path.join(nm, 'kafka-iam-oauth')).filter((f) => f.endsWith('.node')), [], 'no addon inside the main package')
    for (const other of ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl'].filter((t) => t !== target)) {
      assert.ok(!fs.existsSync(path.join(nm, `kafka-iam-oauth-${other}`)), `${other} is not installed here`)
    }
    const script = `
      const t0 = process.hrtime.bigint()
      const kio = require('kafka-iam-oauth')
      const requireMs = Number(process.hrtime.bigint() - t0) / 1e6
      const addon = require.resolve('kafka-iam-oauth-${target}')
      new kio.TokenProvider(JSON.parse(process.env.KIO_CONFIG)).token().then(
        (t) => console.log(JSON.stringify({ principal: t.principal, addon, requireMs })),
        (e) => { console.error(e); process.exit(1) })`
    const out = execFileSync(path.join(bin, 'node'), ['-e', script], {
      cwd: project,
      env: { ...env, KIO_CONFIG: JSON.stringify(freshConfig('installed')) },
      encoding: 'utf8'
    })
    const r = JSON.parse(out.trim().split('\n').pop())
    assert.equal(r.principal, ENV.KIO_USER_ARN)
    assert.ok(r.addon.startsWith(fs.realpathSync(nm)), r.addon)
    const size = (f) => `${(fs.statSync(f).size / 1e3).toFixed(0)} kB`
    console.log(`installed from ${path.basename(main)} (${size(main)}) + ${path.basename(platform)} (${size(platform)}) ` +
      `in ${installMs} ms; require() ${r.requireMs.toFixed(1)} ms`)
  } finally {
    fs.rmSync(project, { recursive: true, force: true })
  }
})
