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

/** The environment of a child process with no AWS credentials anywhere
 * (no keys, empty config files, a fresh HOME, no IMDS). */
function noCredentialsEnv (extra = {}) {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k]
  return Object.assign(env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: ENV.AWS_CONFIG_FILE,
    AWS_SHARED_CREDENTIALS_FILE: ENV.AWS_SHARED_CREDENTIALS_FILE,
    HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'kio-node-home-'))
  }, extra)
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

/** The Node suites' own topic, and the prefix of their groups: the
 * reauthentication suite consumes beside the other suites, and a consumer
 * of its in my-consumer-group would take my-topic's partition from them. */
const NODE_TOPIC = 'node-clients'
const NODE_GROUP_PREFIX = 'node-clients-'

/**
 * Creates NODE_TOPIC and my-iam-user's ACLs on it and on the groups
 * NODE_GROUP_PREFIX* over the harness's admin listener (test set-up only),
 * and waits until the broker's authorizer shows them.
 */
async function ensureNodeTopic () {
  const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = require('kafkajs')
  const admin = new Kafka({ brokers: [ENV.KIO_ADMIN_BOOTSTRAP], clientId: 'kio-node-setup', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    try {
      await admin.createTopics({ topics: [{ topic: NODE_TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })
    } catch (e) {
      if (!/already exists/i.test(String(e && e.message))) throw e
    }
    const principal = `User:${ENV.KIO_USER_ARN}`
    const acl = (resourceType, resourceName, resourcePatternType, operation) =>
      ({ resourceType, resourceName, resourcePatternType, principal, host: '*', operation, permissionType: AclPermissionTypes.ALLOW })
    const wanted = [
      acl(AclResourceTypes.TOPIC, NODE_TOPIC, ResourcePatternTypes.LITERAL, AclOperationTypes.DESCRIBE),
      acl(AclResourceTypes.TOPIC, NODE_TOPIC, ResourcePatternTypes.LITERAL, AclOperationTypes.WRITE),
      acl(AclResourceTypes.TOPIC, NODE_TOPIC, ResourcePatternTypes.LITERAL, AclOperationTypes.READ),
      acl(AclResourceTypes.GROUP, NODE_GROUP_PREFIX, ResourcePatternTypes.PREFIXED, AclOperationTypes.READ)
    ]
    await admin.createAcls({ acl: wanted })
    const deadline = Date.now() + 30_000
    for (;;) {
      const { resources } = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal,
        host: '*',
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY
      })
      const seen = resources.filter((r) => r.resourceName === NODE_TOPIC || r.resourceName === NODE_GROUP_PREFIX)
        .reduce((n, r) => n + r.acls.length, 0)
      if (seen >= wanted.length) break
      assert.ok(Date.now() < deadline, `the broker shows ${seen} of ${wanted.length} ACLs after 30 s`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await admin.disconnect()
  }
}

module.exports = { NODE_TOPIC, NODE_GROUP_PREFIX, ensureNodeTopic, noCredentialsEnv, ENV, EMULATOR, AUDIENCE, freshConfig, emulator, stsCalls, kafkajsBase, collectingLogger }
