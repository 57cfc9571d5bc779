//! The one error enum of the crate. Each variant maps to one Python exception
//! class at the boundary (`src/python/errors.rs`); the message is the text the
//! user sees and names the op, the shapes and the types involved.

/// Every failure rtensor reports.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A type mismatch (Python `TypeError`).
    #[error("{0}")]
    Type(String),
    /// A bad value or shape (Python `ValueError`).
    #[error("{0}")]
    Value(String),
    /// An index out of range (Python `IndexError`).
    #[error("{0}")]
    Index(String),
    /// An input of `function` that the outputs do not need (`UnusedInputError`).
    #[error("{0}")]
    UnusedInput(String),
    /// A graph root that is neither an input, a shared variable nor a constant (`MissingInputError`).
    #[error("{0}")]
    MissingInput(String),
    /// Python `RuntimeError`.
    #[error("{0}")]
    Runtime(String),
    /// Python `AssertionError`: a violated precondition Theano reports that way.
    #[error("{0}")]
    Assertion(String),
    /// A plain Python `Exception`, where Theano raises one.
    #[error("{0}")]
    Generic(String),
    /// Python `NotImplementedError`.
    #[error("{0}")]
    NotImplemented(String),
    /// An allocation failed (Python `MemoryError`).
    #[error("{0}")]
    Memory(String),
    /// DebugMode: an op changed an input it did not declare in `destroy_map`.
    #[error("{0}")]
    BadDestroyMap(String),
    /// DebugMode: an output aliases an input without a `view_map` entry.
    #[error("{0}")]
    BadViewMap(String),
    /// DebugMode: a rewritten graph computed a different value than the original.
    #[error("{0}")]
    BadOptimization(String),
    /// An exception raised by user code; the message is context to add to it.
    #[error("{1}")]
    External(ExternalError, String),
    /// `grad` asked for a variable the cost does not depend on (`DisconnectedInputError`).
    #[error("{0}")]
    DisconnectedInput(String),
    /// `grad` met an undefined or unimplemented gradient (`NullTypeGradError`).
    #[error("{0}")]
    NullTypeGrad(String),
}

impl Error {
    /// The same kind of error with its message changed by `f` (an error
    /// raised by user code keeps its original exception).
    fn map_message(self, f: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::Type(m) => Error::Type(f(m)),
            Error::Value(m) => Error::Value(f(m)),
            Error::Index(m) => Error::Index(f(m)),
            Error::UnusedInput(m) => Error::UnusedInput(f(m)),
            Error::MissingInput(m) => Error::MissingInput(f(m)),
            Error::Runtime(m) => Error::Runtime(f(m)),
            Error::Assertion(m) => Error::Assertion(f(m)),
            Error::Generic(m) => Error::Generic(f(m)),
            Error::NotImplemented(m) => Error::NotImplemented(f(m)),
            Error::Memory(m) => Error::Memory(f(m)),
            Error::BadDestroyMap(m) => Error::BadDestroyMap(f(m)),
            Error::BadViewMap(m) => Error::BadViewMap(f(m)),
            Error::BadOptimization(m) => Error::BadOptimization(f(m)),
            Error::External(e, m) => Error::External(e, f(m)),
            Error::DisconnectedInput(m) => Error::DisconnectedInput(f(m)),
            Error::NullTypeGrad(m) => Error::NullTypeGrad(f(m)),
        }
    }

    /// The same kind of error with `context` put before the message.
    pub fn with_context(self, context: &str) -> Error {
        self.map_message(|m| format!("{context}{m}"))
    }

    /// The same kind of error with `extra` appended to the message.
    pub fn with_suffix(self, extra: &str) -> Error {
        self.map_message(|m| format!("{m}{extra}"))
    }
}

/// An exception raised by user code (a Python op's `perform`), carried
/// through the core unchanged so that the caller sees the original.
#[derive(Clone)]
pub struct ExternalError(pub std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for ExternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExternalError")
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
