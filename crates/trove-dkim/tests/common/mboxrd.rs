//! A minimal mboxrd reader for the lore corpora: split at `From ` envelope lines, drop the
//! envelope line, undo one level of `>` quoting on `^>+From ` lines. Shared by the corpus
//! tests and the benchmark example (`#[path]`-included there).

/// Splits an mboxrd file into raw messages (LF line endings as stored).
pub fn split_mboxrd(data: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut at_line_start = true;
    let mut pos = 0;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..end];
        if at_line_start && line.starts_with(b"From ") {
            if let Some(m) = current.take() {
                messages.push(finish(m));
            }
            current = Some(Vec::new());
        } else if let Some(m) = current.as_mut() {
            let unquoted = {
                let gt = line.iter().take_while(|&&b| b == b'>').count();
                gt > 0 && line[gt..].starts_with(b"From ")
            };
            m.extend_from_slice(if unquoted { &line[1..] } else { line });
        }
        at_line_start = true;
        pos = end;
    }
    if let Some(m) = current.take() {
        messages.push(finish(m));
    }
    messages
}

/// mboxrd writers add one blank line between messages; it is not part of the message.
fn finish(mut m: Vec<u8>) -> Vec<u8> {
    if m.ends_with(b"\n\n") {
        m.pop();
    }
    m
}
