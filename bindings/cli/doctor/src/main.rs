//! The `ucwa-doctor` command: everything is in the library (`ucwa_doctor::run`), which the
//! `ucwa` command also calls for `ucwa doctor`.

fn main() {
    std::process::exit(ucwa_doctor::run(std::env::args().skip(1).collect()))
}
