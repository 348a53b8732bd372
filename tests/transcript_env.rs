//! `UCWA_TRANSCRIPT=path` alone (no `transcript` option, as in a host that was not changed)
//! records every exchange; the option, when set, wins. A binary of its own: the variable is
//! read once per process.

mod common;

use common::*;

#[test]
fn ucwa_transcript_records_a_host_that_sets_no_option_and_the_option_wins() {
    let dir = std::env::temp_dir().join(format!("ucwa-transcript-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let from_env = dir.join("env.jsonl");
    let from_option = dir.join("option.jsonl");
    // Set before any client exists, the only thread that reads the environment here.
    std::env::set_var("UCWA_TRANSCRIPT", &from_env);
    let sim = start(fast_config());
    let c = client(&sim);
    c.sign_in(ALICE, ALICE_PW).unwrap();
    c.sign_out().unwrap();
    let text = std::fs::read_to_string(&from_env).unwrap();
    assert!(text.lines().count() >= sim.log().len(), "{text}");
    assert!(!text.contains(ALICE_PW));

    let before = text.lines().count();
    let d = client(&sim);
    d.set_option("transcript", from_option.to_str().unwrap())
        .unwrap();
    d.sign_in(ALICE, ALICE_PW).unwrap();
    d.sign_out().unwrap();
    let after = std::fs::read_to_string(&from_env).unwrap().lines().count();
    assert_eq!(
        before, after,
        "the option's client wrote nothing to UCWA_TRANSCRIPT's file"
    );
    assert!(
        std::fs::read_to_string(&from_option)
            .unwrap()
            .lines()
            .count()
            >= 4
    );
    let _ = std::fs::remove_dir_all(&dir);
}
