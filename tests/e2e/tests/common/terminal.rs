//! A command on a pseudo-terminal through util-linux `script`, for the e2e tests that need
//! what a person sees: prompts, redrawn progress, Ctrl-C.

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use todo_e2e::harness::TestEnv;

/// Whether util-linux `script` is installed (the tests return early without it).
pub fn available() -> bool {
    std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run the shell command `line` on a terminal with `env`'s environment; after `pause`, type
/// `keys` (nothing when empty). Returns the exit code and everything written to the
/// terminal, escape sequences and carriage returns included.
pub fn run(env: &TestEnv, line: &str, pause: Duration, keys: &[u8]) -> (i32, String) {
    let mut child = env
        .command("script")
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script starts");
    let mut stdin = child.stdin.take().expect("script's stdin");
    if !keys.is_empty() {
        std::thread::sleep(pause);
        stdin.write_all(keys).expect("typed");
    }
    let out = child.wait_with_output().expect("script ends");
    drop(stdin);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
