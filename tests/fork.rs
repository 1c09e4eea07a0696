//! A child process after fork() (gunicorn, multiprocessing, celery) gets
//! working tokens and never hangs on the parent's runtime threads.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn forked_child_gets_tokens() {
    setup_env(true);
    let emu = emulator();
    let parent = provider(&emu, "fork-parent", "");
    let parent_token = parent.token().unwrap();
    let fresh_config = config(&emu, "fork-child", "");

    // SAFETY: the child only uses this library and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = (|| {
            // The inherited token is still valid and served at once...
            let inherited = parent.token().ok()?;
            if inherited.value() != parent_token.value() {
                return Some(2);
            }
            // ...and a mint needs the child's own runtime and connections.
            let child = kafka_iam_oauth::Provider::new(&fresh_config, "").ok()?;
            let t = child.token_timeout(Duration::from_secs(10)).ok()?;
            Some(if t.principal() == USER_ARN { 0 } else { 3 })
        })()
        .unwrap_or(1);
        unsafe { libc::_exit(code) };
    }
    let started = Instant::now();
    let mut status = 0;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("child hung after fork");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(libc::WIFEXITED(status), "child crashed: status {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child failed");
    // The parent keeps working too.
    assert!(parent.token().is_ok());
}

/// Runs `child` in a forked child process (which then `_exit`s with its
/// result) and returns the child's exit code; kills it if it hangs.
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only uses this library and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(99);
        unsafe { libc::_exit(code) };
    }
    let started = Instant::now();
    let mut status = 0;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("child hung after fork");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(libc::WIFEXITED(status), "child crashed: status {status}");
    libc::WEXITSTATUS(status)
}

#[test]
fn fork_while_a_mint_is_in_flight_the_child_mints_its_own() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::latency(Duration::from_millis(1500)));
    let p = provider(&emu, "fork-in-flight", "");
    let waiter = {
        let p = p.clone();
        std::thread::spawn(move || p.token_timeout(Duration::from_secs(10)).map(|_| ()))
    };
    // The parent's mint has reached STS and waits for its answer.
    let started = Instant::now();
    while sts_calls(&emu) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no mint started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let code = in_child(|| {
        // The parent's flight runs on threads the child does not have: the
        // child must start its own mint, not wait on that one.
        match p.token_timeout(Duration::from_secs(10)) {
            Ok(t) if t.principal() == USER_ARN => 0,
            Ok(_) => 2,
            Err(_) => 1,
        }
    });
    assert_eq!(code, 0, "the child could not mint");
    waiter.join().unwrap().expect("the parent's mint completes");
    assert_eq!(p.stats().mints, 1, "the child's mint is not the parent's");
}

/// With `role_arn` (issue 20): the child's own credential chain (a new
/// AssumeRole client, on the library's own retry partition, not the SDK's
/// process-wide one) mints while the parent's role_arn mint is in flight.
#[test]
fn fork_while_a_role_arn_mint_is_in_flight_the_child_assumes_the_role() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::latency(Duration::from_millis(1500)));
    let role = format!(
        "arn:aws:iam::{}:role/kafka-fork",
        kafka_iam_oauth_emulator::ACCOUNT_ID
    );
    let p = provider(
        &emu,
        "fork-role-parent",
        &format!("role_arn={role},role_session_name=fork-parent"),
    );
    let waiter = {
        let p = p.clone();
        std::thread::spawn(move || p.token_timeout(Duration::from_secs(10)).map(|_| ()))
    };
    let started = Instant::now();
    while sts_calls(&emu) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no mint started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Another session name: another shared part, so the child builds its
    // own SDK clients (its AssumeRole client's first request included).
    let child_config = config(
        &emu,
        "fork-role-child",
        &format!("role_arn={role},role_session_name=fork-child"),
    );
    let code = in_child(|| {
        let Ok(child) = kafka_iam_oauth::Provider::new(&child_config, "") else {
            return 3;
        };
        match child.token_timeout(Duration::from_secs(10)) {
            Ok(t) if t.principal().contains(":role/kafka-fork") => 0,
            Ok(_) => 2,
            Err(_) => 1,
        }
    });
    assert_eq!(code, 0, "the child could not mint with role_arn");
    waiter.join().unwrap().expect("the parent's mint completes");
    assert_eq!(
        emu.stats().requests["AssumeRole"],
        2,
        "the parent's and the child's"
    );
}

#[test]
fn fork_while_threads_contend_for_the_cache_the_child_mints() {
    setup_env(true);
    let emu = emulator();
    let shared = provider(&emu, "fork-contended", "");
    shared.token().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let (shared, stop, cfg) = (
                shared.clone(),
                std::sync::Arc::clone(&stop),
                config(&emu, &format!("fork-contended-{i}"), ""),
            );
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    shared.token().unwrap();
                    // New providers: the registry's lock is taken all the time.
                    kafka_iam_oauth::Provider::new(&cfg, "").unwrap();
                    let _ = shared.stats();
                    n += 1;
                }
                n
            })
        })
        .collect();
    for round in 0..5 {
        let fresh = config(&emu, &format!("fork-contended-child-{round}"), "");
        let code = in_child(|| {
            let inherited = match shared.token_timeout(Duration::from_secs(10)) {
                Ok(t) => t,
                Err(_) => return 1,
            };
            let child = match kafka_iam_oauth::Provider::new(&fresh, "") {
                Ok(p) => p,
                Err(_) => return 2,
            };
            match child.token_timeout(Duration::from_secs(10)) {
                Ok(t) if t.principal() == inherited.principal() && child.stats().mints == 1 => 0,
                Ok(_) => 3,
                Err(_) => 4,
            }
        });
        assert_eq!(code, 0, "child {round} failed");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        assert!(w.join().unwrap() > 0);
    }
}
