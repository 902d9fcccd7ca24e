//! The error a plugin returns to the host, with the kind that decides what the host
//! does about it.

use std::fmt;

/// Why a call failed; the host treats each kind differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The configuration given to `init` is wrong: the pipeline does not start.
    Config,
    /// The input could not be understood (a malformed body, a bad line).
    InvalidInput,
    /// Anything else; the host applies the plugin's `on-error` policy.
    Failed,
}

/// An error a plugin returns; the host shows it under the plugin's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Set only by the default `init`, so the export glue can fall back to `Default`.
    not_implemented: bool,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), not_implemented: false }
    }

    /// The configuration is wrong; say which key and why.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// The input could not be understood.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Anything else went wrong.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Failed, message)
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn not_implemented() -> Self {
        Error { not_implemented: true, ..Error::config("the plugin implements neither `init` nor `Default`") }
    }

    pub(crate) fn is_not_implemented(&self) -> bool {
        self.not_implemented
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Config => "config",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Failed => "failed",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for Error {}

impl From<aegis_wire::WireError> for Error {
    fn from(error: aegis_wire::WireError) -> Self {
        Error::invalid_input(error.to_string())
    }
}

/// Shorthand for results with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
