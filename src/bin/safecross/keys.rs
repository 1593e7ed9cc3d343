//! The library's messages name config keys (`[infer] ort_lib`), since it has no command
//! line. On the command line, the flag that sets a key is what a user can act on, so
//! the binary adds it before the key in every error and log line it prints.

use std::io::Write;

/// Config keys and the flags that set them.
const KEY_FLAGS: [(&str, &str); 8] = [
    ("`[model] classes`", "--class-names"),
    ("`[model] path`", "--model"),
    ("`[infer] backend`", "--backend"),
    ("`[infer] ort_lib`", "--ort-lib"),
    ("`[infer] execution_provider`", "--ort-ep"),
    ("`[infer] input_size`", "--imgsz"),
    ("`[infer] intra_threads`", "--threads"),
    ("`[decode] conf_threshold`", "--conf"),
];

/// `text` with each config key that a flag sets written as `--flag (key)`.
pub fn with_flags(text: &str) -> String {
    let mut out = text.to_string();
    for (key, flag) in KEY_FLAGS {
        if out.contains(key) {
            out = out.replace(key, &format!("{flag} ({key})"));
        }
    }
    out
}

/// Standard error, with [`with_flags`] applied to each log line.
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The log formatter writes one whole event per call.
        match std::str::from_utf8(buf) {
            Ok(text) => std::io::stderr().write_all(with_flags(text).as_bytes())?,
            Err(_) => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_gain_their_flag_and_other_text_is_kept() {
        assert_eq!(
            with_flags("no `imgsz` metadata; set `[infer] input_size` to [height, width]"),
            "no `imgsz` metadata; set --imgsz (`[infer] input_size`) to [height, width]"
        );
        assert_eq!(with_flags("`[model] class_meanings` can map them"), "`[model] class_meanings` can map them");
    }
}
