'use strict'
// Child process of ckjs.test.js: loads static_rdkafka_addon.node (librdkafka
// linked statically; Node loads addons with RTLD_LOCAL) and runs its
// config-only client with the settings given, exiting with its status.
// With --with-ckjs, confluent-kafka-javascript (its own librdkafka.so.1) is
// loaded first, so the process holds two copies.
// Usage: node static_addon_child.js ADDON [--with-ckjs] key=value...
const [addon, ...rest] = process.argv.slice(2)
let settings = rest
if (settings[0] === '--with-ckjs') {
  require('@confluentinc/kafka-javascript')
  settings = settings.slice(1)
}
process.exitCode = require(addon).run(settings)
