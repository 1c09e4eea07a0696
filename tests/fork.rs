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
