'use strict'
// Shared by the Node suites: the harness's environment, the emulator's
// control API, and configurations for fresh cache entries.

const assert = require('node:assert/strict')

const ENV = process.env
for (const k of ['KIO_EMULATOR_URL', 'KIO_AUDIENCE', 'KIO_BOOTSTRAP_SSL', 'KIO_CA_PEM', 'KIO_USER_ARN']) {
  assert.ok(ENV[k], `${k} is not set: source the harness's env.sh (make test-node does)`)
}
const EMULATOR = ENV.KIO_EMULATOR_URL
const AUDIENCE = ENV.KIO_AUDIENCE

let fresh = 0
/**
 * A configuration no other test uses (a tag of its own makes its own cache
 * entry, so its mints and STS calls are this test's alone).
 */
function freshConfig (name, extra = {}) {
  fresh += 1
  return {
    region: 'eu-west-1',
    audience: AUDIENCE,
    sts_endpoint: EMULATOR,
    [`tag_node_test`]: `${name}-${process.pid}-${fresh}-${Date.now()}`,
    ...extra
  }
}

async function emulator (path, body) {
  const res = await fetch(EMULATOR + path, body === undefined
    ? {}
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.ok(res.ok, `emulator ${path}: HTTP ${res.status}`)
  return res.json()
}

/** GetWebIdentityToken calls the emulator has answered so far. */
async function stsCalls () {
  const s = await emulator('/_emulator/stats')
  return s.requests.GetWebIdentityToken || 0
}

/** KafkaJS's connection options for the harness's SASL_SSL listener. */
function kafkajsBase (oauthBearerProvider, extra = {}) {
  const fs = require('node:fs')
  return {
    brokers: [ENV.KIO_BOOTSTRAP_SSL],
    ssl: { ca: [fs.readFileSync(ENV.KIO_CA_PEM, 'utf8')], servername: 'localhost' },
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider },
    connectionTimeout: 10000,
    ...extra
  }
}

/**
 * A KafkaJS logCreator keeping every entry (tests read them for SASL
 * errors), printing errors only.
 */
function collectingLogger (entries) {
  return () => ({ namespace, level, label, log }) => {
    entries.push({ namespace, level, label, ...log })
  }
}

module.exports = { ENV, EMULATOR, AUDIENCE, freshConfig, emulator, stsCalls, kafkajsBase, collectingLogger }
