//! The one path every `extern "C"` function of this crate takes: the
//! `kafka_iam_oauth_*` exports and every callback librdkafka calls (plugin
//! entry, token refresh, interceptors) alike.
//!
//! - [`boundary`] runs the body under the core's `catch_panic` and turns an
//!   `Err` or a caught panic into the failure value the function documents,
//!   through the function's [`Report`]. A panic's own text never reaches a
//!   message: it may quote anything, and a user can act on none of it.
//! - [`Castable`] says which Rust type lives behind each opaque C type and
//!   whether the handle owns a `Box` or an `Arc`, so no export casts a raw
//!   pointer by hand; NULL handles become `InvalidArgument` errors.
//! - [`read_str`], [`Out`] and [`write_errstr`] check the other pointers.

use kafka_iam_oauth::config::MAX_INPUT_LEN;
use kafka_iam_oauth::{catch_panic, Error, ErrorKind};
use std::ffi::c_char;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

/// How one kind of export hands its result to C: a status plus an owned
/// error object, a fallback value, a librdkafka `errstr` buffer plus return
/// code, or a token-refresh failure.
pub(crate) trait Report<T, E> {
    /// What the `extern "C"` function returns.
    type Output;
    /// The body succeeded with `value`.
    fn ok(self, value: T) -> Self::Output;
    /// The body failed with `error`.
    fn fail(self, error: E) -> Self::Output;
    /// The body panicked.
    fn panicked(self) -> Self::Output;
    /// Reporting itself panicked: the value returned without doing anything.
    fn last_resort() -> Self::Output;
}

/// Runs `body` for an `extern "C"` function and reports its result through
/// `report`; nothing unwinds into the caller.
pub(crate) fn boundary<T, E, R: Report<T, E>>(
    report: R,
    body: impl FnOnce() -> Result<T, E>,
) -> R::Output {
    let reported = catch_unwind(AssertUnwindSafe(move || match catch_panic(body) {
        Ok(Ok(value)) => report.ok(value),
        Ok(Err(error)) => report.fail(error),
        Err(_) => report.panicked(),
    }));
    reported.unwrap_or_else(|_| R::last_resort())
}

/// An `InvalidArgument` error.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// For functions that return a value and document one for failure (a NULL
/// pointer, 0, false, a fixed code): an `Err` or a panic yields `self.0`.
pub(crate) struct Or<T>(pub T);

impl<T: LastResort> Report<T, Error> for Or<T> {
    type Output = T;
    fn ok(self, value: T) -> T {
        value
    }
    fn fail(self, _: Error) -> T {
        self.0
    }
    fn panicked(self) -> T {
        self.0
    }
    fn last_resort() -> T {
        T::last_resort()
    }
}

/// A value to return when even reporting failed: for the few types `Or`
/// is used with.
pub(crate) trait LastResort {
    fn last_resort() -> Self;
}
impl<T> LastResort for *const T {
    fn last_resort() -> Self {
        ptr::null()
    }
}
impl LastResort for () {
    fn last_resort() {}
}
impl LastResort for i64 {
    fn last_resort() -> Self {
        0
    }
}
impl LastResort for u32 {
    fn last_resort() -> Self {
        0
    }
}
impl LastResort for u64 {
    fn last_resort() -> Self {
        0
    }
}
/// 0: `RD_KAFKA_RESP_ERR_NO_ERROR` for the interceptors that use `Or`,
/// whose reporting cannot panic anyway.
impl LastResort for i32 {
    fn last_resort() -> Self {
        0
    }
}
impl LastResort for bool {
    fn last_resort() -> Self {
        false
    }
}

/// Which Rust value lives behind an opaque C handle type.
///
/// # Safety
/// Implement it only for the opaque `#[repr(C)]`-free marker structs of this
/// crate, whose pointers are only ever made by [`BoxHandle::into_c`] or
/// [`ArcHandle::into_c`] of the same type.
pub(crate) unsafe trait Castable {
    /// The Rust value the C pointer points to.
    type Rust;

    /// Borrows the value behind a handle; NULL is an `InvalidArgument`
    /// error naming `what`.
    ///
    /// # Safety
    /// `p` is NULL or a live handle of this type.
    unsafe fn try_ref<'a>(p: *const Self, what: &str) -> Result<&'a Self::Rust, Error> {
        // SAFETY: per the trait's contract, non-NULL handles point to a live `Rust`.
        unsafe { p.cast::<Self::Rust>().as_ref() }.ok_or_else(|| invalid(format!("{what} is NULL")))
    }
}

/// A handle that owns a `Box` (freed with its `_free`).
pub(crate) trait BoxHandle: Castable + Sized {
    /// Moves `value` into a new handle the caller owns.
    fn into_c(value: Self::Rust) -> *mut Self {
        Box::into_raw(Box::new(value)).cast()
    }

    /// Frees a handle made by [`BoxHandle::into_c`]; NULL is a no-op.
    ///
    /// # Safety
    /// `p` is NULL or a live handle of this type, not used afterwards.
    unsafe fn free(p: *mut Self) {
        if !p.is_null() {
            // SAFETY: made by `Box::into_raw` in `into_c`.
            drop(unsafe { Box::from_raw(p.cast::<Self::Rust>()) });
        }
    }
}

/// A handle that owns one reference of an `Arc` (many threads may read the
/// value at once; freed with its `_free`).
pub(crate) trait ArcHandle: Castable + Sized {
    /// Moves one reference into a new handle the caller owns.
    fn into_c(value: Arc<Self::Rust>) -> *const Self {
        Arc::into_raw(value).cast()
    }

    /// Drops the handle's reference; NULL is a no-op.
    ///
    /// # Safety
    /// `p` is NULL or a live handle of this type, not used afterwards.
    unsafe fn free(p: *const Self) {
        if !p.is_null() {
            // SAFETY: made by `Arc::into_raw` in `into_c`.
            drop(unsafe { Arc::from_raw(p.cast::<Self::Rust>()) });
        }
    }
}

/// A caller's out-parameter, checked for NULL before any work is done and
/// written only on success.
pub(crate) struct Out<'a, T> {
    slot: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    /// Checks `slot`; NULL is an `InvalidArgument` error naming `what`.
    ///
    /// # Safety
    /// `slot` is NULL or writable for the duration of the call.
    pub(crate) unsafe fn new(slot: *mut T, what: &str) -> Result<Self, Error> {
        if slot.is_null() {
            return Err(invalid(format!("{what} is NULL")));
        }
        Ok(Out {
            slot,
            _borrow: PhantomData,
        })
    }

    /// Writes the result.
    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL and writable in `new`.
        unsafe { self.slot.write(value) }
    }
}

/// Reads a caller's NUL-terminated string: NULL, longer than
/// `MAX_INPUT_LEN` bytes or not UTF-8 is an error naming `what`.
///
/// # Safety
/// `p` is NULL or points to readable memory up to its NUL or
/// `MAX_INPUT_LEN` + 1 bytes.
pub(crate) unsafe fn read_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: bounded scan, per the contract above.
    let len = unsafe { libc::strnlen(p, MAX_INPUT_LEN + 1) };
    if len > MAX_INPUT_LEN {
        return Err(invalid(format!(
            "{what} is longer than {MAX_INPUT_LEN} bytes"
        )));
    }
    // SAFETY: `len` bytes followed by a NUL are readable.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "{what} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

/// Copies `message` into a caller's buffer of `size` bytes, truncated and
/// always NUL-terminated; a NULL buffer or size 0 is skipped.
pub(crate) fn write_errstr(errstr: *mut c_char, size: usize, message: &str) {
    if errstr.is_null() || size == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let n = bytes.len().min(size - 1);
    // SAFETY: the caller hands a writable buffer of `size` bytes.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), errstr.cast::<u8>(), n);
        *errstr.add(n) = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting<'a>(&'a mut Vec<&'static str>);
    impl Report<u8, Error> for Counting<'_> {
        type Output = i32;
        fn ok(self, v: u8) -> i32 {
            self.0.push("ok");
            v.into()
        }
        fn fail(self, _: Error) -> i32 {
            self.0.push("fail");
            -1
        }
        fn panicked(self) -> i32 {
            self.0.push("panicked");
            -2
        }
        fn last_resort() -> i32 {
            -3
        }
    }

    #[test]
    fn a_panic_in_the_body_is_reported_as_a_panic() {
        let mut seen = Vec::new();
        let r = boundary(Counting(&mut seen), || -> Result<u8, Error> {
            panic!("secret-looking text")
        });
        assert_eq!((r, seen.as_slice()), (-2, ["panicked"].as_slice()));
    }

    #[test]
    fn a_panic_while_reporting_gives_the_last_resort_value() {
        struct Panicky;
        impl Report<(), Error> for Panicky {
            type Output = i32;
            fn ok(self, _: ()) -> i32 {
                panic!("reporting failed")
            }
            fn fail(self, _: Error) -> i32 {
                0
            }
            fn panicked(self) -> i32 {
                0
            }
            fn last_resort() -> i32 {
                -3
            }
        }
        assert_eq!(boundary(Panicky, || Ok(())), -3);
    }

    #[test]
    fn errors_and_values_pass_through() {
        let mut seen = Vec::new();
        assert_eq!(boundary(Counting(&mut seen), || Ok(7)), 7);
        assert_eq!(boundary(Counting(&mut seen), || Err(invalid("x"))), -1);
        assert_eq!(seen, ["ok", "fail"]);
    }

    #[test]
    fn errstr_is_truncated_and_terminated() {
        let mut buf = [b'x' as c_char; 4];
        write_errstr(buf.as_mut_ptr(), buf.len(), "hello");
        assert_eq!(buf.map(|c| c as u8), *b"hel\0");
        write_errstr(ptr::null_mut(), 10, "ignored");
        let mut one = [b'x' as c_char; 1];
        write_errstr(one.as_mut_ptr(), 1, "hello");
        assert_eq!(one[0], 0);
    }
}
