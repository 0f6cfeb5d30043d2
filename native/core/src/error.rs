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

impl Error {
    /// Shorthand for [`Error::Model`].
    pub fn model(file: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Model {
            file: file.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(file: &str, message: impl Into<String>) -> Self {
        Error::Unsupported {
            file: file.to_string(),
            message: message.into(),
        }
    }
}
