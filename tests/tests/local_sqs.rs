//! The local stack's SQS (moto's server, started by `local/stack/moto_server.py`) keeps a
//! message sent while another is being deleted, as SQS does.

use contacts_tests::{repo_root, tool};

#[test]
fn a_delete_waits_for_the_queue_lock_a_send_holds() {
    let output = std::process::Command::new(tool("python").unwrap())
        .arg(repo_root().join("tests/moto_delete_lock.py"))
        .arg(repo_root().join("local/stack/moto_server.py"))
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
