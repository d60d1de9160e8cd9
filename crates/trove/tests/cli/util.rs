use std::path::Path;
use std::process::{Command, Output};

/// The `trove` binary built for these tests.
pub fn trove() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trove"))
}

/// Runs trove with `args` against `vault`, returning the output (any exit status).
pub fn run(vault: &Path, args: &[&str]) -> Output {
    let mut c = trove();
    c.arg("--vault").arg(vault).args(args);
    c.output().expect("trove runs")
}

/// Runs and requires exit status `code`, returning stdout.
pub fn run_ok(vault: &Path, args: &[&str], code: i32) -> String {
    let o = run(vault, args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "trove {args:?}: stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// A message with a number, a thread position and (every 7th) a base64 attachment.
pub fn message(n: usize) -> String {
    let thread = n / 5;
    let mut m = format!(
        "From: Person {} <p{}@example.org>\nTo: list@example.org\nSubject: {}topic {thread}\n\
         Date: Sat, 8 Oct 2016 {:02}:{:02}:{:02} -0400\nMessage-ID: <m{n}@example.org>\n",
        n % 17,
        n % 17,
        if n.is_multiple_of(5) { "" } else { "Re: " },
        n % 24,
        n % 60,
        n % 31
    );
    if !n.is_multiple_of(5) {
        m.push_str(&format!("In-Reply-To: <m{}@example.org>\n", n - 1));
    }
    if n.is_multiple_of(7) {
        m.push_str(&format!(
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nMessage {n}.\n\
             --b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"f{n}.bin\"\n\
             Content-Transfer-Encoding: base64\n\n{}\n--b--\n",
            "QUJD".repeat(20 + n % 50)
        ));
    } else {
        m.push_str(&format!(
            "\nMessage {n}.\n{}\n",
            "lorem ipsum ".repeat(n % 40)
        ));
    }
    m
}

/// Writes an mboxrd file of messages `range`.
pub fn write_mbox(path: &Path, range: std::ops::Range<usize>) {
    let mut out = String::new();
    for n in range {
        out.push_str("From sender@example.org Sat Oct  8 12:00:00 2016\n");
        out.push_str(&message(n));
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}
