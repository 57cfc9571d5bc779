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
    /// `grad` asked for a variable the cost does not depend on (`DisconnectedInputError`).
    #[error("{0}")]
    DisconnectedInput(String),
    /// `grad` met an undefined or unimplemented gradient (`NullTypeGradError`).
    #[error("{0}")]
    NullTypeGrad(String),
}

impl Error {
    /// The same kind of error with `context` put before the message.
    pub fn with_context(self, context: &str) -> Error {
        let wrap = |m: String| format!("{context}{m}");
        match self {
            Error::Type(m) => Error::Type(wrap(m)),
            Error::Value(m) => Error::Value(wrap(m)),
            Error::Index(m) => Error::Index(wrap(m)),
            Error::UnusedInput(m) => Error::UnusedInput(wrap(m)),
            Error::MissingInput(m) => Error::MissingInput(wrap(m)),
            Error::Runtime(m) => Error::Runtime(wrap(m)),
            Error::Assertion(m) => Error::Assertion(wrap(m)),
            Error::Generic(m) => Error::Generic(wrap(m)),
            Error::NotImplemented(m) => Error::NotImplemented(wrap(m)),
            Error::Memory(m) => Error::Memory(wrap(m)),
            Error::DisconnectedInput(m) => Error::DisconnectedInput(wrap(m)),
            Error::NullTypeGrad(m) => Error::NullTypeGrad(wrap(m)),
        }
    }

    /// The same kind of error with `extra` appended to the message.
    pub fn with_suffix(self, extra: &str) -> Error {
        let wrap = |m: String| format!("{m}{extra}");
        match self {
            Error::Type(m) => Error::Type(wrap(m)),
            Error::Value(m) => Error::Value(wrap(m)),
            Error::Index(m) => Error::Index(wrap(m)),
            Error::UnusedInput(m) => Error::UnusedInput(wrap(m)),
            Error::MissingInput(m) => Error::MissingInput(wrap(m)),
            Error::Runtime(m) => Error::Runtime(wrap(m)),
            Error::Assertion(m) => Error::Assertion(wrap(m)),
            Error::Generic(m) => Error::Generic(wrap(m)),
            Error::NotImplemented(m) => Error::NotImplemented(wrap(m)),
            Error::Memory(m) => Error::Memory(wrap(m)),
            Error::DisconnectedInput(m) => Error::DisconnectedInput(wrap(m)),
            Error::NullTypeGrad(m) => Error::NullTypeGrad(wrap(m)),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
