//! JNI library `libkafka_iam_oauth_jni.so` for the JVM JAR: the native
//! methods of `io.github.kafkaiamoauth.Native`, over [`Provider`] (not the C
//! ABI), like the Python extension.
//!
//! Every export goes through [`boundary`]: a panic or a core [`Error`]
//! becomes a Java `IamOAuthException` (kind, AWS code, retryable flag, the
//! core's message); nothing unwinds into the JVM. No parsing or policy here:
//! the configuration strings go to [`Provider::new`] as they are, and the
//! token is the core cache's.

use jni::objects::{GlobalRef, JClass, JMethodID, JObject, JString, JValue};
use jni::sys::{jint, jlong, jlongArray, jobject, jvalue, JNI_VERSION_1_8};
use jni::JNIEnv;
use kafka_iam_oauth::{catch_panic, Error, ErrorKind, Provider, Token};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The Java class every error becomes (a RuntimeException).
const EXCEPTION: &str = "io/github/kafkaiamoauth/IamOAuthException";
/// The Java class a token becomes.
const TOKEN: &str = "io/github/kafkaiamoauth/Token";

/// The classes and constructors the native methods make objects of, looked
/// up once: `new_object` by name and signature costs a class lookup and a
/// signature parse per call, which would dominate `handle()`'s cached path.
struct Classes {
    token: GlobalRef,
    token_new: JMethodID,
    exception: GlobalRef,
    exception_new: JMethodID,
    string: GlobalRef,
}

static CLASSES: OnceLock<Classes> = OnceLock::new();

fn classes(env: &mut JNIEnv) -> jni::errors::Result<&'static Classes> {
    if let Some(c) = CLASSES.get() {
        return Ok(c);
    }
    let token = env.find_class(TOKEN)?;
    let token_new = env.get_method_id(
        &token,
        "<init>",
        "(Ljava/lang/String;JLjava/lang/String;JJ[Ljava/lang/String;)V",
    )?;
    let exception = env.find_class(EXCEPTION)?;
    let exception_new = env.get_method_id(
        &exception,
        "<init>",
        "(Ljava/lang/String;Ljava/lang/String;ZLjava/lang/String;)V",
    )?;
    let string = env.find_class("java/lang/String")?;
    let c = Classes {
        token: env.new_global_ref(token)?,
        token_new,
        exception: env.new_global_ref(exception)?,
        exception_new,
        string: env.new_global_ref(string)?,
    };
    Ok(CLASSES.get_or_init(|| c))
}

/// `key, value, ...` as a Java `String[]`.
fn string_pairs<'local, 'a>(
    env: &mut JNIEnv<'local>,
    pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> jni::errors::Result<jni::objects::JObjectArray<'local>> {
    let c = classes(env)?;
    let arr = env.new_object_array((pairs.len() * 2) as i32, &c.string, JObject::null())?;
    for (i, (k, v)) in pairs.enumerate() {
        let k = env.new_string(k)?;
        env.set_object_array_element(&arr, (2 * i) as i32, &k)?;
        env.delete_local_ref(k)?;
        let v = env.new_string(v)?;
        env.set_object_array_element(&arr, (2 * i + 1) as i32, &v)?;
        env.delete_local_ref(v)?;
    }
    Ok(arr)
}

/// What failed in a native method: the core's error, or a JNI call.
enum Failure {
    Core(Error),
    Jni(jni::errors::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

/// The kind's name in Java (`IamOAuthException.Kind`'s constant names).
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
        ErrorKind::Config => "CONFIG",
        ErrorKind::Credentials => "CREDENTIALS",
        ErrorKind::Sts => "STS",
        ErrorKind::Timeout => "TIMEOUT",
        ErrorKind::Internal => "INTERNAL",
    }
}

/// Index of a kind in `IamOAuthException.Kind.values()` (stats' last error).
fn kind_ordinal(kind: ErrorKind) -> jlong {
    match kind {
        ErrorKind::InvalidArgument => 0,
        ErrorKind::Config => 1,
        ErrorKind::Credentials => 2,
        ErrorKind::Sts => 3,
        ErrorKind::Timeout => 4,
        ErrorKind::Internal => 5,
    }
}

/// Throws `e` as an `IamOAuthException(kind, awsCode, retryable, message)`.
fn throw_core(env: &mut JNIEnv, e: &Error) {
    let made = (|| -> jni::errors::Result<JObject> {
        let c = classes(env)?;
        let kind = env.new_string(kind_name(e.kind()))?;
        let code = match e.aws_code() {
            Some(c) => JObject::from(env.new_string(c)?),
            None => JObject::null(),
        };
        let msg = env.new_string(e.message())?;
        let args = [
            JValue::Object(&kind).as_jni(),
            JValue::Object(&code).as_jni(),
            JValue::Bool(e.is_retryable() as u8).as_jni(),
            JValue::Object(&msg).as_jni(),
        ];
        // SAFETY: the constructor's signature is the one looked up.
        unsafe { env.new_object_unchecked(&c.exception, c.exception_new, &args) }
    })();
    match made {
        Ok(obj) => {
            let _ = env.throw(jni::objects::JThrowable::from(obj));
        }
        // The class could not be made (out of memory, class missing):
        // whatever Java exception is pending says why; else a plain one.
        Err(_) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalStateException", e.message());
            }
        }
    }
}

/// The one panic boundary: runs `f`; a panic or an error becomes a pending
/// Java exception and `fallback` is returned (Java ignores the value when
/// an exception is pending).
fn boundary<'local, T>(
    env: &mut JNIEnv<'local>,
    fallback: T,
    f: impl FnOnce(&mut JNIEnv<'local>) -> Result<T, Failure>,
) -> T {
    match catch_panic(|| f(env)) {
        Ok(Ok(v)) => v,
        Ok(Err(Failure::Core(e))) => {
            throw_core(env, &e);
            fallback
        }
        // A JNI call failed: it has usually left its own Java exception
        // pending (OutOfMemoryError, NullPointerException...), which says
        // more than we could.
        Ok(Err(Failure::Jni(e))) => {
            if !env.exception_check().unwrap_or(true) {
                let err = Error::new(ErrorKind::Internal, format!("JNI call failed: {e}"));
                throw_core(env, &err);
            }
            fallback
        }
        // The core's fixed text: a panic's own may quote anything.
        Err(panicked) => {
            let _ = env.exception_clear();
            throw_core(env, &panicked);
            fallback
        }
    }
}

/// A Java string argument; null is an invalid argument naming `what`.
fn string_arg(env: &mut JNIEnv, s: &JString, what: &str) -> Result<String, Failure> {
    if s.is_null() {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{what} is null")).into());
    }
    Ok(env.get_string(s)?.into())
}

/// The provider behind a handle made by `newProvider` and not yet freed
/// (Java guarantees both: `TokenProvider` frees once, under its lock).
fn provider<'a>(handle: jlong) -> Result<&'a Provider, Failure> {
    if handle == 0 {
        return Err(Error::new(ErrorKind::InvalidArgument, "the provider is closed").into());
    }
    // SAFETY: `handle` is a `Box<Provider>` from `newProvider`, alive until
    // `freeProvider`, which Java never runs concurrently with other calls.
    Ok(unsafe { &*(handle as *const Provider) })
}

fn epoch_ms(t: SystemTime) -> jlong {
    t.duration_since(UNIX_EPOCH)
        .map(|d| jlong::try_from(d.as_millis()).unwrap_or(jlong::MAX))
        .unwrap_or(0)
}

fn opt_ms(d: Option<Duration>) -> jlong {
    d.map(|d| jlong::try_from(d.as_millis()).unwrap_or(jlong::MAX))
        .unwrap_or(-1)
}

/// `io.github.kafkaiamoauth.Token(value, expiresAtMs, principal,
/// mintedAtMs, refreshAtMs, extensions as key, value, ...)`.
fn java_token<'local>(
    env: &mut JNIEnv<'local>,
    t: &Arc<Token>,
) -> Result<JObject<'local>, Failure> {
    let c = classes(env)?;
    let value = env.new_string(t.value())?;
    let principal = env.new_string(t.principal())?;
    let ext: Vec<(&str, &str)> = t.extensions().collect();
    let arr = string_pairs(env, ext.into_iter())?;
    let args: [jvalue; 6] = [
        JValue::Object(&value).as_jni(),
        JValue::Long(t.lifetime_ms()).as_jni(),
        JValue::Object(&principal).as_jni(),
        JValue::Long(epoch_ms(t.minted_at())).as_jni(),
        JValue::Long(epoch_ms(t.refresh_at())).as_jni(),
        JValue::Object(&arr).as_jni(),
    ];
    // SAFETY: the constructor's signature is the one looked up.
    Ok(unsafe { env.new_object_unchecked(&c.token, c.token_new, &args) }?)
}

/// Loaded by `System.load`: the JNI version this library needs.
#[no_mangle]
pub extern "system" fn JNI_OnLoad(
    _vm: *mut jni::sys::JavaVM,
    _reserved: *mut std::ffi::c_void,
) -> jint {
    JNI_VERSION_1_8
}

/// `static native long newProvider(String config, String extensions)`: a
/// handle to a [`Provider`] (free it with `freeProvider`); the core's
/// configuration error (naming the key) otherwise. No network call.
#[no_mangle]
pub extern "system" fn Java_io_github_kafkaiamoauth_Native_newProvider<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    config: JString<'local>,
    extensions: JString<'local>,
) -> jlong {
    boundary(&mut env, 0, |env| {
        let config = string_arg(env, &config, "config")?;
        let extensions = if extensions.is_null() {
            String::new()
        } else {
            env.get_string(&extensions)?.into()
        };
        let p = Provider::new(&config, &extensions)?;
        Ok(Box::into_raw(Box::new(p)) as jlong)
    })
}

/// `static native void freeProvider(long handle)`: frees a handle (0: no-op).
#[no_mangle]
pub extern "system" fn Java_io_github_kafkaiamoauth_Native_freeProvider<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    boundary(&mut env, (), |_| {
        if handle != 0 {
            // SAFETY: made by `newProvider`, freed once (TokenProvider.close).
            drop(unsafe { Box::from_raw(handle as *mut Provider) });
        }
        Ok(())
    })
}

/// `static native Token token(long handle, long timeoutMs)`: the cached
/// token, or one minted within `timeoutMs` (the calling thread waits).
#[no_mangle]
pub extern "system" fn Java_io_github_kafkaiamoauth_Native_token<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    timeout_ms: jlong,
) -> jobject {
    boundary(&mut env, std::ptr::null_mut(), |env| {
        let p = provider(handle)?;
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        let t = p.token_timeout(timeout)?;
        Ok(java_token(env, &t)?.into_raw())
    })
}

/// `static native long[] stats(long handle)`: mints, failures, last error
/// kind's ordinal (-1: none), then expires-in, refresh-in and
/// next-attempt-in in ms (-1: none). Never waits.
#[no_mangle]
pub extern "system" fn Java_io_github_kafkaiamoauth_Native_stats<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlongArray {
    boundary(&mut env, std::ptr::null_mut(), |env| {
        let s = provider(handle)?.stats();
        let v: [jlong; 6] = [
            jlong::try_from(s.mints).unwrap_or(jlong::MAX),
            jlong::try_from(s.failures).unwrap_or(jlong::MAX),
            s.last_error_kind.map(kind_ordinal).unwrap_or(-1),
            opt_ms(s.expires_in),
            opt_ms(s.refresh_in),
            opt_ms(s.next_attempt_in),
        ];
        let arr = env.new_long_array(v.len() as i32)?;
        env.set_long_array_region(&arr, 0, &v)?;
        Ok(arr.into_raw())
    })
}

/// `static native String version()`: the workspace's one version.
#[no_mangle]
pub extern "system" fn Java_io_github_kafkaiamoauth_Native_version<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jni::sys::jstring {
    boundary(&mut env, std::ptr::null_mut(), |env| {
        Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw())
    })
}

/// `static native String[] extensions(long handle)`: the configured SASL
/// extensions as key, value, key, value... (the core parsed them).
#[no_mangle]
pub extern "system" fn Java_io_github_kafkaiamoauth_Native_extensions<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jni::sys::jobjectArray {
    boundary(&mut env, std::ptr::null_mut(), |env| {
        let ext = &provider(handle)?.config().extensions;
        let arr = string_pairs(env, ext.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(arr.into_raw())
    })
}
