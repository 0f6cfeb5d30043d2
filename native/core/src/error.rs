//! The one error type of the core. Every message names what is at fault:
//! the model file and field, the input column, or the argument.

/// Every failure the core can report. Bindings map each to one readable message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file that cannot be read as a supported model.
    /// `file` is the name given by the caller, `field` the model field at fault.
    #[error("{file}: invalid model field `{field}`: {message}")]
    Model {
        /// Name of the model file (or a label given by the caller).
        file: String,
        /// The model field at fault, e.g. `learner.gradient_booster.model.trees[3].split_conditions`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A model that is well formed but uses something arrowshap does not support.
    #[error("{file}: unsupported model: {message}")]
    Unsupported {
        /// Name of the model file.
        file: String,
        /// What is not supported (names the field and value).
        message: String,
    },
    /// Input data that does not fit the model or the call.
    #[error("invalid input: {0}")]
    Input(String),
    /// I/O error while reading a model file.
    #[error("{file}: {source}")]
    Io {
        /// The path that failed.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The GPU backend cannot run: no CUDA driver or device, NVRTC missing, a kernel that
    /// failed to build or launch, or a model the kernels cannot hold (see [`crate::gpu`]).
    #[error("GPU: {0}")]
    Device(String),
    /// The caller cancelled the run (AbortSignal, Ctrl-C).
    #[error("cancelled")]
    Cancelled,
}

/// Result alias for the core.
pub type Result<T> = std::result::Result<T, Error>;

/// Longest model field path kept in a message (a key read from a corrupt file can be any bytes).
pub const MAX_FIELD_CHARS: usize = 200;

/// Longest message text kept (the message of a model error quotes the file at times).
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// `s` as one line of at most `max` characters: control characters — a newline or a
/// NUL in a key of a corrupt file — escaped as Rust writes them (`\n`, `\u{0}`), and
/// anything past `max` characters cut off with `…`. Every model error goes through it,
/// so an error stays the one line the CLI prints, whatever the file holds.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(4 * max));
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

impl Error {
    /// Shorthand for [`Error::Model`]; `field` and `message` are made [`one_line`]
    /// ([`MAX_FIELD_CHARS`], [`MAX_MESSAGE_CHARS`]).
    pub fn model(file: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Model {
            file: file.to_string(),
            field: one_line(&field.into(), MAX_FIELD_CHARS),
            message: one_line(&message.into(), MAX_MESSAGE_CHARS),
        }
    }
    /// Shorthand for [`Error::Unsupported`]; `message` is made [`one_line`] ([`MAX_MESSAGE_CHARS`]).
    pub fn unsupported(file: &str, message: impl Into<String>) -> Self {
        Error::Unsupported {
            file: file.to_string(),
            message: one_line(&message.into(), MAX_MESSAGE_CHARS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_errors_are_one_line_whatever_the_file_holds() {
        // found by tests/fuzz_models.rs: a UBJSON key of raw bytes, a JSON key with a newline
        let key = "trees[0].values[$i#L\0\0\0\0\0\0\0\x0ec42\n}";
        let e = Error::model(
            "m.ubj",
            format!("learner.{key}\n"),
            "truncated\r\nor malformed",
        )
        .to_string();
        assert!(
            !e.contains('\n') && !e.contains('\r') && !e.contains('\0'),
            "{e}"
        );
        assert!(e.contains(r"\n`: truncated\r\nor malformed"), "{e}");
        let e = Error::unsupported("m.json", "a\u{1b}[31mred").to_string();
        assert_eq!(e, r"m.json: unsupported model: a\u{1b}[31mred");
        // long fields are cut
        let e = Error::model("m.json", "k".repeat(5000), "bad").to_string();
        assert_eq!(
            e,
            format!(
                "m.json: invalid model field `{}…`: bad",
                "k".repeat(MAX_FIELD_CHARS)
            )
        );
        // plain text is kept as it is
        assert_eq!(
            one_line("trees[3].split_conditions — ok", 100),
            "trees[3].split_conditions — ok"
        );
    }
}
