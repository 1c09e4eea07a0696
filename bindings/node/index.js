'use strict'
// kafka-iam-oauth for Node.js: Kafka SASL/OAUTHBEARER tokens from AWS STS
// GetWebIdentityToken, for KafkaJS, confluent-kafka-javascript and
// @platformatic/kafka. The work (configuration, STS, the process-wide token
// cache and its refresh) is the Rust core's, in the native addon; this file
// picks the addon for the platform and shapes its answers for each client.
// Types and documentation: index.d.ts.

const { existsSync, readFileSync } = require('node:fs')
const { join } = require('node:path')
const { inspect } = require('node:util')

const PACKAGE = 'kafka-iam-oauth'
/** The platforms with a prebuilt addon (one optional dependency each). */
const TARGETS = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl']

function isMusl () {
  // ldd is a script naming its loader: musl's names ld-musl. Without one
  // (distroless images), glibc's loader reports its version to Node.
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {}
  try {
    const header = process.report.getReport().header
    return !header.glibcVersionRuntime
  } catch {
    return false
  }
}

/** This process's target, in the names of the platform packages. */
function platformTarget () {
  const base = `${process.platform}-${process.arch}`
  return process.platform === 'linux' ? `${base}-${isMusl() ? 'musl' : 'gnu'}` : base
}

function loadNative () {
  // An explicit addon (a custom build): the whole answer.
  const explicit = process.env.KAFKA_IAM_OAUTH_NATIVE_PATH
  if (explicit) return require(explicit)
  const target = platformTarget()
  // A build next to this file (a checkout: make node-addon), else the
  // platform package npm installed as an optional dependency.
  const local = join(__dirname, `${PACKAGE}.${target}.node`)
  if (existsSync(local)) return require(local)
  const pkg = `${PACKAGE}-${target}`
  if (!TARGETS.includes(target)) {
    throw new Error(
      `${PACKAGE}: no prebuilt native addon for this platform (${target}, Node ${process.version}); ` +
      `prebuilt: ${TARGETS.join(', ')}. Build one from a checkout (cargo build -p kafka-iam-oauth-node) ` +
      'and set KAFKA_IAM_OAUTH_NATIVE_PATH to it.'
    )
  }
  try {
    return require(pkg)
  } catch (e) {
    const missing = e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(pkg)
    const why = missing
      ? `the optional dependency ${pkg} is not installed (npm leaves it out with --omit=optional, ` +
        'or when the lockfile was made on another platform: reinstall, or npm install ' + pkg + ')'
      : `${pkg} did not load: ${e && e.message}`
    const err = new Error(`${PACKAGE}: no native addon for ${target} (Node ${process.version}): ${why}`)
    err.cause = e
    throw err
  }
}

const native = loadNative()

/** Base class of every error this package throws or rejects with. */
class KafkaIamOAuthError extends Error {
  constructor (message, { code, kind, retryable, awsCode, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = new.target.name
    this.code = code || 'ERR_KAFKA_IAM_OAUTH_INTERNAL'
    this.kind = kind || 'internal'
    this.retryable = Boolean(retryable)
    this.awsCode = awsCode == null ? null : awsCode
  }

  /**
   * `retryable` in KafkaJS's spelling: its retrier gives up at once on an
   * error whose `retriable` is false (AccessDenied, bad configuration,
   * missing credentials) instead of retrying a permanent failure.
   */
  get retriable () {
    return this.retryable
  }
}
/** The configuration is invalid; the message names the key. */
class ConfigError extends KafkaIamOAuthError {}
/** No AWS credentials could be found or used. */
class CredentialsError extends KafkaIamOAuthError {}
/** STS answered with an error; `awsCode` holds its code (e.g. AccessDenied). */
class StsError extends KafkaIamOAuthError {}
/** No token could be had in time. */
class TimeoutError extends KafkaIamOAuthError {}
/**
 * The broker refused the token (its audience or issuer is not the one the
 * broker expects, or it expired): raised by {@link TokenProvider#kafkajsSasl}'s
 * authenticator with the broker's own answer.
 */
class BrokerAuthenticationError extends KafkaIamOAuthError {}

const CLASSES = {
  config: ConfigError,
  invalid_argument: ConfigError,
  credentials: CredentialsError,
  sts: StsError,
  timeout: TimeoutError,
  internal: KafkaIamOAuthError
}

/** The addon's error (code, kind, retryable, awsCode) as this package's class. */
function fromNative (e) {
  if (!e || typeof e.kind !== 'string' || !CLASSES[e.kind]) return e
  const err = new CLASSES[e.kind](e.message, e)
  if (e.steps) err.steps = e.steps
  return err
}
function rethrow (e) {
  throw fromNative(e)
}

const INSPECT = inspect.custom
const SOH = '\u0001'

/** KafkaJS's BYTES encoding of a SASL message: an int32 length, the bytes. */
function kafkaBytes (payload) {
  const b = Buffer.allocUnsafe(4 + payload.length)
  b.writeInt32BE(payload.length, 0)
  payload.copy(b, 4)
  return b
}

/** The OAUTHBEARER client's first message (RFC 7628 3.1, as Kafka's own client frames it). */
function initialResponse (token) {
  let ext = ''
  for (const [k, v] of Object.entries(token.extensions)) ext += `${SOH}${k}=${v}`
  return Buffer.from(`n,,${SOH}auth=Bearer ${token.value}${ext}${SOH}${SOH}`)
}

/** The broker's SASL answer as text (KafkaJS hands it over with its BYTES length). */
function answerText (b) {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b)
  const framed = buf.length >= 4 && buf.readInt32BE(0) === buf.length - 4
  return (framed ? buf.subarray(4) : buf).toString('utf8')
}

const RAW_BYTES = { decode: async (b) => b, parse: async (b) => b }


/**
 * A token as every supported client takes it: `{ value, principal,
 * lifetime, extensions }`. `console.log`, `util.inspect` and
 * `JSON.stringify` never show the JWT.
 */
class Token {
  constructor (raw) {
    this.value = raw.value
    this.principal = raw.principal
    this.lifetime = raw.lifetime
    this.extensions = raw.extensions
  }

  /** When the token expires (local clock). */
  get expiresAt () {
    return new Date(this.lifetime)
  }

  toJSON () {
    return { principal: this.principal, lifetime: this.lifetime, extensions: this.extensions }
  }

  [INSPECT] () {
    return `Token { principal: ${inspect(this.principal)}, expiresAt: ${this.expiresAt.toISOString()} }`
  }
}

function checkConfigArg (config, what) {
  if (typeof config === 'string') return
  if (config !== null && typeof config === 'object' && !Array.isArray(config)) return
  throw new TypeError(`${what} must be a string or an object of key/value pairs; got ${config === null ? 'null' : typeof config}`)
}

function timeoutOf (options) {
  if (options == null) return undefined
  const t = options.timeoutMs
  if (t === undefined) return undefined
  if (typeof t !== 'number') throw new TypeError('timeoutMs must be a number of milliseconds')
  return t
}

/**
 * Tokens for one configuration (the `sasl.oauthbearer.config` grammar and
 * keys, as a string or an object). Every provider with the same effective
 * configuration in the process shares one cache: one STS call per refresh
 * between them.
 */
class TokenProvider {
  #native
  #last = null

  constructor (config, extensions) {
    checkConfigArg(config, 'config')
    if (extensions != null) checkConfigArg(extensions, 'extensions')
    try {
      this.#native = new native.NativeProvider(config, extensions == null ? undefined : extensions)
    } catch (e) {
      throw fromNative(e)
    }
    // Bound, so each can be handed to a client as is.
    /** KafkaJS's and confluent's KafkaJS API's `oauthBearerProvider`. */
    this.oauthBearerProvider = () => this.token()
    /** confluent-kafka-javascript's `oauthbearer_token_refresh_cb(config, cb)`. */
    this.oauthbearerTokenRefreshCb = (_oauthbearerConfig, cb) => {
      this.token().then(
        (t) => cb(null, { tokenValue: t.value, lifetime: t.lifetime, principal: t.principal, extensions: t.extensions }),
        (e) => cb(e)
      )
    }
    /** @platformatic/kafka's `sasl.token`. */
    this.platformaticToken = () => this.token().then((t) => t.value)
    /**
     * KafkaJS's whole `sasl` option: OAUTHBEARER with an authenticator that
     * reads the broker's answer. KafkaJS's built-in one takes the broker's
     * error challenge for success, so a refused token only shows later as
     * "Request is not valid given the current SASL state"; this one
     * completes the exchange and throws a BrokerAuthenticationError with
     * the broker's answer and the audience sent.
     */
    this.kafkajsSasl = Object.freeze({
      mechanism: 'oauthbearer',
      oauthBearerProvider: this.oauthBearerProvider,
      authenticationProvider: (args) => ({ authenticate: () => this.#kafkajsAuthenticate(args) })
    })
  }

  async #kafkajsAuthenticate ({ host, port, logger, saslAuthenticate }) {
    const token = await this.token()
    const broker = `${host}:${port}`
    const challenge = await saslAuthenticate({
      request: { encode: async () => kafkaBytes(initialResponse(token)) },
      response: RAW_BYTES
    })
    const answer = challenge == null ? '' : answerText(challenge)
    if (answer === '') {
      logger.debug('SASL OAUTHBEARER authentication successful', { broker })
      return
    }
    // RFC 7628 3.2.2: an error challenge; the client answers %x01 and the
    // broker ends the exchange with its failure.
    let brokerMessage = ''
    try {
      await saslAuthenticate({ request: { encode: async () => kafkaBytes(Buffer.from(SOH)) } })
    } catch (e) {
      if (e && e.message && !e.message.includes(answer)) brokerMessage = ` (${e.message})`
    }
    const c = this.config
    const audiences = [c.audience, ...Object.keys(c).filter((k) => /^audience_\d+$/.test(k)).sort().map((k) => c[k])]
    const err = new BrokerAuthenticationError(
      `the broker ${broker} refused the OAUTHBEARER token of ${token.principal}: ${answer}${brokerMessage}. ` +
      `The token's audience is ${audiences.map((a) => JSON.stringify(a)).join(', ')} (the audience key): it must be the broker's ` +
      'sasl.oauthbearer.expected.audience, and its issuer the broker\'s expected issuer (run check() with expectedAudience and expectedIssuer)',
      { code: 'ERR_KAFKA_IAM_OAUTH_BROKER_REFUSED', kind: 'broker', retryable: false }
    )
    logger.error(err.message, { broker })
    throw err
  }

  /**
   * A token: the cached one at once (no thread is crossed), else the
   * Promise of the core's mint, settled from the core's runtime.
   */
  token (options) {
    const timeoutMs = timeoutOf(options)
    const raw = this.#native.cachedToken()
    if (raw != null) return Promise.resolve(this.#wrap(raw))
    return this.#native.mint(timeoutMs).then((r) => this.#wrap(r), rethrow)
  }

  /** The cached token if it is fresh enough to hand out, else null; never waits. */
  cachedToken () {
    const raw = this.#native.cachedToken()
    return raw == null ? null : this.#wrap(raw)
  }

  /** Counters and schedule of this configuration's cache entry. */
  stats () {
    const s = this.#native.stats()
    return {
      mints: s.mints,
      failures: s.failures,
      lastErrorKind: s.lastErrorKind ?? null,
      expiresInMs: s.expiresInMs ?? null,
      refreshInMs: s.refreshInMs ?? null,
      nextAttemptInMs: s.nextAttemptInMs ?? null
    }
  }

  /** Tokens STS minted for this configuration in this process. */
  get mintCount () {
    return this.#native.stats().mints
  }

  /** The effective configuration (defaults filled in), as strings. */
  get config () {
    return this.#native.config()
  }

  // One Token object per token: the same JWT gives back the same object.
  #wrap (raw) {
    const last = this.#last
    if (last !== null && last.lifetime === raw.lifetime && last.value === raw.value) return last
    const t = new Token(raw)
    this.#last = t
    return t
  }

  [INSPECT] () {
    const c = this.config
    return `TokenProvider { region: ${inspect(c.region)}, audience: ${inspect(c.audience)}, duration_seconds: ${c.duration_seconds} }`
  }
}

/**
 * The set-up checks of `kafka-iam-oauth doctor`, in-process (the core's
 * diagnose, never the token cache). Resolves with the report when every
 * check passed; rejects with the failed check's error (`err.steps` holds the
 * steps).
 */
function check (config, options = {}) {
  checkConfigArg(config, 'config')
  const { extensions, expectedIssuer, expectedAudience } = options
  if (extensions != null) checkConfigArg(extensions, 'extensions')
  let promise
  try {
    promise = native.check(
      config,
      extensions == null ? undefined : extensions,
      expectedIssuer == null ? undefined : String(expectedIssuer),
      expectedAudience == null ? undefined : String(expectedAudience),
      timeoutOf(options)
    )
  } catch (e) {
    return Promise.reject(fromNative(e))
  }
  return promise.then(undefined, rethrow)
}

/** Validates a configuration as a provider would (no network); the effective settings. */
function parseConfig (config, extensions) {
  checkConfigArg(config, 'config')
  try {
    return native.parseConfig(config, extensions == null ? undefined : extensions)
  } catch (e) {
    throw fromNative(e)
  }
}

module.exports = {
  TokenProvider,
  Token,
  check,
  parseConfig,
  configKeys: native.configKeys,
  KafkaIamOAuthError,
  ConfigError,
  CredentialsError,
  StsError,
  TimeoutError,
  BrokerAuthenticationError,
  version: native.VERSION,
  platformTarget
}
