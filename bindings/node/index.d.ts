// Types of the npm package kafka-iam-oauth (written by hand beside
// index.js; checked with `tsc --noEmit` on tests/node/types-example.ts).

/**
 * `sasl.oauthbearer.config` as a string (`"region=eu-west-1,audience=my-kafka"`)
 * or as an object (`{ region: 'eu-west-1', audience: 'my-kafka', duration_seconds: 900 }`).
 * The keys, defaults and checks are the library's (see {@link configKeys});
 * numbers and booleans are written as the config grammar spells them.
 */
export type Config = string | Record<string, string | number | boolean>

/** `sasl.oauthbearer.extensions` as a string (`"k1=v1,k2=v2"`) or an object. */
export type Extensions = string | Record<string, string>

/**
 * A token, in the one shape KafkaJS's `oauthBearerProvider`,
 * confluent-kafka-javascript's KafkaJS-API `oauthBearerProvider` and the
 * other adapters take. `console.log`, `util.inspect` and `JSON.stringify`
 * never show {@link Token.value}.
 */
export declare class Token {
  private constructor ()
  /** The JWT to send to the broker. Treat it as a secret. */
  readonly value: string
  /** The Kafka principal (the `sub` claim unless `principal_claim` says otherwise). */
  readonly principal: string
  /** Expiry in milliseconds since the Unix epoch (local clock), librdkafka's `lifetime`. */
  readonly lifetime: number
  /** SASL extensions to send with the token (empty when none are configured). */
  readonly extensions: Record<string, string>
  /** {@link Token.lifetime} as a `Date`. */
  readonly expiresAt: Date
  /** The token without its JWT. */
  toJSON (): { principal: string, lifetime: number, extensions: Record<string, string> }
}

/** Options of a call that may wait for STS. */
export interface WaitOptions {
  /** How long to wait for a token when none is cached, in ms (default 8000). */
  timeoutMs?: number
}

/** What a configuration's cache entry has done and will do (`provider.stats()`). */
export interface Stats {
  /** Tokens STS minted for this configuration in this process. */
  mints: number
  /** Mints that failed (one per failed mint, however many STS calls it made). */
  failures: number
  /** `kind` of the most recent failure (kept after later successes), or null. */
  lastErrorKind: ErrorKind | null
  /** Milliseconds until the cached token expires; null when none is cached. */
  expiresInMs: number | null
  /** Milliseconds until the background refresh is due; null when no token is cached. */
  refreshInMs: number | null
  /** After a failure, milliseconds until STS is asked again (callers get the remembered error meanwhile); null otherwise. */
  nextAttemptInMs: number | null
}

/** The token shape confluent-kafka-javascript's callback API takes. */
export interface RdkafkaToken {
  tokenValue: string
  lifetime: number
  principal: string
  extensions: Record<string, string>
}

/**
 * Tokens for one configuration. Every provider with the same effective
 * configuration in the process shares one cache entry, so all the clients
 * of a process cause one STS call per refresh between them.
 *
 * ```ts
 * const provider = new TokenProvider({ region: 'eu-west-1', audience: 'my-kafka.example.com' })
 * const kafka = new Kafka({ brokers, ssl: true,
 *   sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider.oauthBearerProvider } })
 * ```
 */
export declare class TokenProvider {
  /**
   * Parses the configuration at once, without any network call.
   * @throws {ConfigError} naming the key, for an unknown key or a bad value.
   * @throws {TypeError} when `config` is neither a string nor an object.
   */
  constructor (config: Config, extensions?: Extensions)

  /**
   * A token. A cached token resolves at once, without leaving the calling
   * thread; otherwise the library mints one on its own runtime and the
   * Promise settles from there: the event loop is never blocked. Tokens
   * handed out have at least 60 s left whenever STS can give one (or, for
   * lifetimes too short for that, are not past their refresh time).
   * @throws {StsError | CredentialsError | TimeoutError | ConfigError} (as a rejection)
   */
  token (options?: WaitOptions): Promise<Token>

  /** The cached token if it is fresh enough to hand out, else null. Never waits. */
  cachedToken (): Token | null

  /** KafkaJS's and confluent-kafka-javascript's KafkaJS-API `oauthBearerProvider` (bound). */
  readonly oauthBearerProvider: () => Promise<Token>

  /**
   * confluent-kafka-javascript's callback-API `oauthbearer_token_refresh_cb`
   * (bound): calls `cb(null, { tokenValue, lifetime, principal, extensions })`,
   * or `cb(error)`.
   */
  readonly oauthbearerTokenRefreshCb: (oauthbearerConfig: string, cb: (err: Error | null, token?: RdkafkaToken) => void) => void

  /** @platformatic/kafka's `sasl.token` (bound): resolves with the JWT. */
  readonly platformaticToken: () => Promise<string>

  /**
   * KafkaJS's whole `sasl` option (`sasl: provider.kafkajsSasl`):
   * OAUTHBEARER with this provider's tokens and an authenticator that reads
   * the broker's answer. A refused token (wrong audience or issuer) fails
   * `connect()` with a {@link BrokerAuthenticationError} naming the
   * audience sent, where KafkaJS's built-in authenticator reports success and
   * the next request fails with "Request is not valid given the current
   * SASL state".
   */
  readonly kafkajsSasl: {
    readonly mechanism: 'oauthbearer'
    readonly oauthBearerProvider: () => Promise<Token>
    readonly authenticationProvider: (args: {
      host: string
      port: number
      logger: { debug: (message: string, extra?: object) => void, error: (message: string, extra?: object) => void }
      saslAuthenticate: (args: { request: { encode: () => Promise<Buffer> }, response?: unknown }) => Promise<unknown>
    }) => { authenticate: () => Promise<void> }
  }

  /** Counters and schedule of this configuration's cache entry; never waits, never calls STS. */
  stats (): Stats

  /** Tokens STS minted for this configuration in this process. */
  readonly mintCount: number

  /** The effective configuration, defaults filled in (values as strings). */
  readonly config: Record<string, string>
}

/** One step of {@link check}. */
export interface CheckStep {
  /** Stable name (`config`, `credentials`, `sts_endpoint`, `federation`, `permission`, `token`, `claims`). */
  check: string
  /** What was checked, in words. */
  title: string
  /** `pass`, `fail` or `skip`. */
  verdict: string
  /** What was found (never a secret). */
  message: string
}

/** {@link check}'s report when every step passed. */
export interface CheckReport {
  steps: CheckStep[]
  /** Where the credentials came from. */
  credentialsSource?: string
  /** The AWS SDK provider that gave them. */
  credentialsProvider?: string
  profile?: string
  roleArn?: string
  region?: string
  stsEndpoint?: string
  /** `GetCallerIdentity`'s ARN. */
  callerArn?: string
  account?: string
  /** The minted token's principal. */
  principal?: string
  /** The minted token's expiry, ms since the epoch. */
  expiresAt?: number
}

/** Options of {@link check}. */
export interface CheckOptions extends WaitOptions {
  extensions?: Extensions
  /** The `iss` the broker expects (its `sasl.oauthbearer.expected.issuer`). */
  expectedIssuer?: string
  /** The audience the broker expects (its `sasl.oauthbearer.expected.audience`). */
  expectedAudience?: string
}

/**
 * The set-up checks of `kafka-iam-oauth doctor`, in-process: configuration,
 * credentials and their source, the STS endpoint, federation, permission
 * for the audience, a minted token, and its claims against the broker's
 * expected issuer and audience. Runs off the event loop; never uses the
 * token cache. Resolves with the report; rejects with the failed check's
 * own error (an {@link StsError} with `awsCode === 'AccessDenied'` when the
 * call is denied), whose `steps` holds the steps so far, or a
 * {@link TimeoutError} naming the step still running after `timeoutMs`.
 */
export declare function check (config: Config, options?: CheckOptions): Promise<CheckReport>

/**
 * Validates a configuration exactly as {@link TokenProvider} would (no network)
 * and returns the effective settings.
 * @throws {ConfigError}
 */
export declare function parseConfig (config: Config, extensions?: Extensions): Record<string, string>

/** A configuration key, from the library's one table. */
export interface ConfigKey {
  /** The key; a prefix when `prefix` is true (`tag_<name>`, `audience_<N>`). */
  name: string
  prefix: boolean
  required: boolean
  default?: string
  /** The allowed values, in words. */
  allowed: string
  doc: string
}

/** Every configuration key the library knows. */
export declare function configKeys (): ConfigKey[]

/** The library's version. */
export declare const version: string

/** This process's platform in the names of the platform packages (`linux-x64-gnu`, ...). */
export declare function platformTarget (): string

/** The `kind` of an error. */
export type ErrorKind = 'config' | 'invalid_argument' | 'credentials' | 'sts' | 'timeout' | 'broker' | 'internal'

/** The stable `code` of an error. */
export type ErrorCode =
  | 'ERR_KAFKA_IAM_OAUTH_CONFIG'
  | 'ERR_KAFKA_IAM_OAUTH_CREDENTIALS'
  | 'ERR_KAFKA_IAM_OAUTH_STS'
  | 'ERR_KAFKA_IAM_OAUTH_TIMEOUT'
  | 'ERR_KAFKA_IAM_OAUTH_BROKER_REFUSED'
  | 'ERR_KAFKA_IAM_OAUTH_INTERNAL'

/** Base class of every error of this package. The message is the library's own (it names the cause and what to change; never a secret). */
export declare class KafkaIamOAuthError extends Error {
  /** Stable code, like Node's own `err.code`. */
  readonly code: ErrorCode
  readonly kind: ErrorKind
  /** Whether trying again later may succeed (throttling, timeouts, 5xx). */
  readonly retryable: boolean
  /** `retryable` in KafkaJS's spelling (its retrier gives up at once when false). */
  readonly retriable: boolean
  /** STS's error code (`AccessDenied`, `ThrottlingException`, ...), else null. */
  readonly awsCode: string | null
  /** On errors from {@link check}: the steps up to the failed one. */
  readonly steps?: CheckStep[]
}
/** The configuration is invalid; the message names the key. `code` is `ERR_KAFKA_IAM_OAUTH_CONFIG`. */
export declare class ConfigError extends KafkaIamOAuthError {}
/** No AWS credentials could be found or used. `code` is `ERR_KAFKA_IAM_OAUTH_CREDENTIALS`. */
export declare class CredentialsError extends KafkaIamOAuthError {}
/** STS answered with an error (`awsCode`); AccessDenied names `sts:GetWebIdentityToken`. `code` is `ERR_KAFKA_IAM_OAUTH_STS`. */
export declare class StsError extends KafkaIamOAuthError {}
/** No token could be had in time. `code` is `ERR_KAFKA_IAM_OAUTH_TIMEOUT`. */
export declare class TimeoutError extends KafkaIamOAuthError {}
/** The broker refused the token (`kafkajsSasl`'s authenticator): the message has the broker's answer and the audience sent. `code` is `ERR_KAFKA_IAM_OAUTH_BROKER_REFUSED`. */
export declare class BrokerAuthenticationError extends KafkaIamOAuthError {}
