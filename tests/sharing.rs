//! Entries that differ only in what STS sees per call (audience, tags,
//! duration, algorithm, principal claim, extensions) share one SDK client
//! and credential chain (issue 13, "Growth without bound"): with `role_arn`,
//! the emulator sees one AssumeRole for all of them.

mod common;

use common::*;
use kafka_iam_oauth::{policy, testing, Provider};
use kafka_iam_oauth_emulator::ACCOUNT_ID;
use std::collections::BTreeSet;

fn role_config(
    emu: &kafka_iam_oauth_emulator::RunningEmulator,
    audience: &str,
    extra: &str,
) -> String {
    let role = format!("arn:aws:iam::{ACCOUNT_ID}:role/kafka-shared");
    config(
        emu,
        audience,
        &format!("role_arn={role},role_session_name=shared-chain{extra}"),
    )
}

#[test]
fn fifty_audiences_share_one_credential_chain() {
    setup_env(true);
    let emu = emulator();
    let providers: Vec<Provider> = (0..50)
        .map(|i| {
            // Per-call fields vary too: tags, duration, algorithm.
            let extra = match i % 3 {
                0 => ",tag_team=orders".to_string(),
                1 => ",duration_seconds=900,signing_algorithm=RS256".to_string(),
                _ => String::new(),
            };
            Provider::new(&role_config(&emu, &format!("share-{i}"), &extra), "").unwrap()
        })
        .collect();
    // All at once: the chain is still built once (the others wait for it).
    let audiences: BTreeSet<String> = std::thread::scope(|s| {
        let handles: Vec<_> = providers
            .iter()
            .map(|p| {
                s.spawn(move || {
                    let t = p.token().unwrap();
                    t.claims()["aud"].as_str().unwrap().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(audiences.len(), 50, "one token per audience");
    let stats = emu.stats();
    assert_eq!(stats.requests["GetWebIdentityToken"], 50, "{stats:?}");
    assert_eq!(stats.requests["AssumeRole"], 1, "{stats:?}");
    for p in &providers {
        assert_eq!(p.stats().mints, 1);
    }
}

#[test]
fn a_different_role_session_gets_its_own_chain_and_eviction_frees_it() {
    setup_env(true);
    let emu = emulator();
    let a = Provider::new(&role_config(&emu, "own-a", ""), "").unwrap();
    let b = Provider::new(&role_config(&emu, "own-b", ",external_id=other"), "").unwrap();
    a.token().unwrap();
    b.token().unwrap();
    assert_eq!(emu.stats().requests["AssumeRole"], 2, "two shared parts");
    drop((a, b));
    // Evict both entries (the first sweep notes their last use): their
    // minters go with them, so the next provider builds a new chain.
    testing::sweep_as_if_after(policy::IDLE_EVICTION + policy::IDLE_EVICTION / 10);
    testing::sweep_as_if_after(policy::IDLE_EVICTION * 3);
    let again = Provider::new(&role_config(&emu, "own-a", ""), "").unwrap();
    assert_eq!(again.stats().mints, 0, "evicted");
    again.token().unwrap();
    assert_eq!(
        emu.stats().requests["AssumeRole"],
        3,
        "the chain was freed with its entries"
    );
}
