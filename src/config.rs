//! Configuration flags (SPEC §1.3 and §8).
//!
//! All flags live in one process-wide store. The values read on hot paths
//! (`floatX`, `cast_policy`, `allow_gc`, `scan.allow_gc`, `on_unused_input`,
//! `force_device`) are mirrored in atomics so that reading them costs one
//! relaxed load; every flag is also kept as its canonical string in a
//! `RwLock`ed map, which backs [`get`].
//!
//! Values come, in increasing priority, from the defaults, the rc files
//! (`RTENSORRC`, a path list, default `~/.rtensorrc`) and `RTENSOR_FLAGS`;
//! [`init_from_environment`] reads them once. [`set`] changes a flag later,
//! for the flags that allow it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{OnceLock, RwLock};

/// The dtype of unprefixed constructors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatX {
    Float16,
    Float32,
    Float64,
}

impl FloatX {
    pub fn as_str(&self) -> &'static str {
        match self {
            FloatX::Float16 => "float16",
            FloatX::Float32 => "float32",
            FloatX::Float64 => "float64",
        }
    }

    fn from_str_opt(s: &str) -> Option<FloatX> {
        match s {
            "float16" => Some(FloatX::Float16),
            "float32" => Some(FloatX::Float32),
            "float64" => Some(FloatX::Float64),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            FloatX::Float16 => 0,
            FloatX::Float32 => 1,
            FloatX::Float64 => 2,
        }
    }

    fn from_u8(v: u8) -> FloatX {
        match v {
            0 => FloatX::Float16,
            1 => FloatX::Float32,
            _ => FloatX::Float64,
        }
    }
}

impl fmt::Display for FloatX {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `cast_policy`: `custom` (Theano's default) or `numpy+floatX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CastPolicy {
    Custom,
    NumpyFloatX,
}

impl CastPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            CastPolicy::Custom => "custom",
            CastPolicy::NumpyFloatX => "numpy+floatX",
        }
    }
}

/// `on_unused_input`: what `function` does with an input the outputs don't use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnUnusedInput {
    Raise,
    Warn,
    Ignore,
}

impl OnUnusedInput {
    pub fn as_str(&self) -> &'static str {
        match self {
            OnUnusedInput::Raise => "raise",
            OnUnusedInput::Warn => "warn",
            OnUnusedInput::Ignore => "ignore",
        }
    }
}

/// Errors from reading or setting flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A value outside the flag's options (Python `ValueError`).
    /// `options` is what goes between the parentheses of the message,
    /// e.g. `'float64', 'float32', 'float16'`.
    InvalidValue {
        key: String,
        value: String,
        options: String,
    },
    /// A value rejected with a message of its own (Python `ValueError`):
    /// `device=gpu*`, malformed `contexts`.
    BadValue { key: String, message: String },
    /// The flag can't be changed after initialization (Python `Exception`).
    NotSettable { key: String },
    /// No such flag (Python `AttributeError`).
    Unknown { key: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidValue {
                key,
                value,
                options,
            } => write!(
                f,
                "Invalid value (\"{value}\") for configuration variable \"{key}\". \
                 Valid options are ({options})"
            ),
            ConfigError::BadValue { message, .. } => f.write_str(message),
            ConfigError::NotSettable { .. } => {
                f.write_str("Can't change the value of this config parameter after initialization!")
            }
            ConfigError::Unknown { key } => {
                write!(f, "rtensor does not recognise this flag: {key}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// The flag table
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// One of these strings, exactly.
    Enum(&'static [&'static str]),
    /// `True/true/1`, `False/false/0`; stored as `True`/`False`.
    Bool,
    /// A float; stored as Rust formats the `f64`.
    Float,
    /// `cpu`, `cuda`, `cudaN`, `openclN:M` (SPEC §8).
    Device,
    /// `name->device` pairs separated by `;` (SPEC §8).
    Contexts,
    /// Any string.
    Str,
}

#[derive(Debug)]
struct Flag {
    name: &'static str,
    default: &'static str,
    kind: Kind,
    /// Can be changed with [`set`] after initialization.
    settable: bool,
}

const fn flag(name: &'static str, default: &'static str, kind: Kind, settable: bool) -> Flag {
    Flag {
        name,
        default,
        kind,
        settable,
    }
}

const FLOATX_OPTIONS: &[&str] = &["float64", "float32", "float16"];
const MODE_OPTIONS: &[&str] = &[
    "Mode",
    "FAST_RUN",
    "FAST_COMPILE",
    "DebugMode",
    "DEBUG_MODE",
    "NanGuardMode",
];
const OPTIMIZER_OPTIONS: &[&str] = &[
    "o4",
    "o3",
    "o2",
    "o1",
    "unsafe",
    "fast_run",
    "fast_compile",
    "merge",
    "None",
];
const ON_UNUSED_OPTIONS: &[&str] = &["raise", "warn", "ignore"];
const CAST_POLICY_OPTIONS: &[&str] = &["custom", "numpy+floatX"];
const WARN_FLOAT64_OPTIONS: &[&str] = &["ignore", "warn", "raise", "pdb"];
const VERBOSITY_OPTIONS: &[&str] = &["low", "high"];
const TEST_VALUE_OPTIONS: &[&str] = &["off", "ignore", "warn", "raise", "pdb"];
const LINKER_OPTIONS: &[&str] = &[
    "cvm",
    "c|py",
    "py",
    "c",
    "c|py_nogc",
    "vm",
    "vm_nogc",
    "cvm_nogc",
];

static FLAGS: &[Flag] = &[
    // SPEC §1.3
    flag("floatX", "float64", Kind::Enum(FLOATX_OPTIONS), true),
    flag("device", "cpu", Kind::Device, false),
    flag("force_device", "False", Kind::Bool, false),
    flag("contexts", "", Kind::Contexts, false),
    flag("gpuarray.preallocate", "0", Kind::Float, false),
    flag("mode", "Mode", Kind::Enum(MODE_OPTIONS), true),
    flag("optimizer", "o4", Kind::Enum(OPTIMIZER_OPTIONS), true),
    flag("allow_gc", "True", Kind::Bool, true),
    flag("scan.allow_gc", "False", Kind::Bool, true),
    flag(
        "on_unused_input",
        "raise",
        Kind::Enum(ON_UNUSED_OPTIONS),
        true,
    ),
    flag(
        "cast_policy",
        "custom",
        Kind::Enum(CAST_POLICY_OPTIONS),
        true,
    ),
    flag(
        "warn_float64",
        "ignore",
        Kind::Enum(WARN_FLOAT64_OPTIONS),
        true,
    ),
    flag(
        "exception_verbosity",
        "low",
        Kind::Enum(VERBOSITY_OPTIONS),
        true,
    ),
    // SPEC §9: add or remove rewrites by tag.
    flag("optimizer_including", "", Kind::Str, true),
    flag("optimizer_excluding", "", Kind::Str, true),
    flag("optimizer_requiring", "", Kind::Str, true),
    // Theano flags that classic programs assign; accepted, with Theano's options.
    flag(
        "compute_test_value",
        "off",
        Kind::Enum(TEST_VALUE_OPTIONS),
        true,
    ),
    flag("print_test_value", "False", Kind::Bool, true),
    flag("linker", "cvm", Kind::Enum(LINKER_OPTIONS), true),
    flag("profile", "False", Kind::Bool, true),
    flag("openmp", "False", Kind::Bool, true),
    flag("cxx", "", Kind::Str, true),
];

fn find_flag(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.name == name)
}

/// Turn PyTensor's `scan__allow_gc` into `scan.allow_gc`.
fn canonical_key(key: &str) -> String {
    key.trim().replace("__", ".")
}

fn is_warn_key(key: &str) -> bool {
    key.strip_prefix("warn.")
        .is_some_and(|rest| !rest.is_empty())
}

/// What a key names, once canonical.
enum Target {
    Flag(&'static Flag),
    /// `warn.*`: accepted, stored, ignored (SPEC §12).
    Warn,
}

fn resolve_key(key: &str) -> Result<(String, Target), ConfigError> {
    let canon = canonical_key(key);
    if let Some(flag) = find_flag(&canon) {
        return Ok((canon, Target::Flag(flag)));
    }
    if is_warn_key(&canon) {
        return Ok((canon, Target::Warn));
    }
    Err(ConfigError::Unknown {
        key: key.to_string(),
    })
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

fn quote_options(options: &[&str]) -> String {
    options
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "True" | "true" | "1" => Some(true),
        "False" | "false" | "0" => Some(false),
        _ => None,
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn valid_device(s: &str) -> bool {
    if s == "cpu" {
        return true;
    }
    if let Some(n) = s.strip_prefix("cuda") {
        return n.is_empty() || is_digits(n);
    }
    if let Some(rest) = s.strip_prefix("opencl") {
        return match rest.split_once(':') {
            Some((a, b)) => is_digits(a) && is_digits(b),
            None => false,
        };
    }
    false
}

fn validate_contexts(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Ok(());
    }
    for pair in value.split(';') {
        let parts: Vec<&str> = pair.split("->").collect();
        if parts.len() != 2 {
            return Err(ConfigError::BadValue {
                key: key.to_string(),
                message: format!("Malformed context map: {pair}"),
            });
        }
        let name = parts[0];
        if name == "cpu" || name.starts_with("cuda") || name.starts_with("opencl") {
            return Err(ConfigError::BadValue {
                key: key.to_string(),
                message: format!("Cannot use {name} as context name"),
            });
        }
    }
    Ok(())
}

/// Check `value` for `flag` and return its canonical string.
fn validate(flag: &Flag, value: &str) -> Result<String, ConfigError> {
    let invalid = |options: String| ConfigError::InvalidValue {
        key: flag.name.to_string(),
        value: value.to_string(),
        options,
    };
    match flag.kind {
        Kind::Enum(options) => {
            if options.contains(&value) {
                Ok(value.to_string())
            } else {
                Err(invalid(quote_options(options)))
            }
        }
        Kind::Bool => match parse_bool(value.trim()) {
            Some(true) => Ok("True".to_string()),
            Some(false) => Ok("False".to_string()),
            None => Err(invalid("True, False".to_string())),
        },
        Kind::Float => match value.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(format!("{v}")),
            _ => Err(invalid("a float".to_string())),
        },
        Kind::Device => {
            let v = value.trim();
            if v.starts_with("gpu") {
                Err(ConfigError::BadValue {
                    key: flag.name.to_string(),
                    message: format!(
                        "You are trying to use the old GPU back-end (device={v}). \
                         It was removed from Theano and rtensor does not provide it. \
                         Use device=cuda* now."
                    ),
                })
            } else if valid_device(v) {
                Ok(v.to_string())
            } else {
                Err(invalid("'cpu', 'cuda', 'cudaN', 'openclN:M'".to_string()))
            }
        }
        Kind::Contexts => {
            let v = value.trim();
            validate_contexts(flag.name, v)?;
            Ok(v.to_string())
        }
        Kind::Str => Ok(value.to_string()),
    }
}

// ---------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------

/// All flag values. The hot ones are mirrored in atomics; `values` holds the
/// canonical strings of the flags assigned so far (the others read their
/// default from the table).
struct Store {
    floatx: AtomicU8,
    cast_policy: AtomicU8,
    on_unused_input: AtomicU8,
    allow_gc: AtomicBool,
    scan_allow_gc: AtomicBool,
    force_device: AtomicBool,
    values: RwLock<BTreeMap<String, String>>,
}

impl Store {
    /// A store holding the defaults (kept in step with `FLAGS`; checked by
    /// the `fresh_store_has_defaults` test).
    const fn new() -> Store {
        Store {
            floatx: AtomicU8::new(2),          // float64
            cast_policy: AtomicU8::new(0),     // custom
            on_unused_input: AtomicU8::new(0), // raise
            allow_gc: AtomicBool::new(true),
            scan_allow_gc: AtomicBool::new(false),
            force_device: AtomicBool::new(false),
            values: RwLock::new(BTreeMap::new()),
        }
    }

    /// Store a validated, canonical value and refresh the atomic mirrors.
    fn put(&self, key: &str, value: String) {
        match key {
            "floatX" => {
                if let Some(fx) = FloatX::from_str_opt(&value) {
                    self.floatx.store(fx.to_u8(), Ordering::Relaxed);
                }
            }
            "cast_policy" => {
                let v = u8::from(value == "numpy+floatX");
                self.cast_policy.store(v, Ordering::Relaxed);
            }
            "on_unused_input" => {
                let v = match value.as_str() {
                    "warn" => 1,
                    "ignore" => 2,
                    _ => 0,
                };
                self.on_unused_input.store(v, Ordering::Relaxed);
            }
            "allow_gc" => self.allow_gc.store(value == "True", Ordering::Relaxed),
            "scan.allow_gc" => self.scan_allow_gc.store(value == "True", Ordering::Relaxed),
            "force_device" => self.force_device.store(value == "True", Ordering::Relaxed),
            _ => {}
        }
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), value);
    }

    /// The value of a canonical key: assigned, else the flag's default.
    fn value(&self, key: &str) -> Option<String> {
        let assigned = self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        assigned.or_else(|| find_flag(key).map(|f| f.default.to_string()))
    }

    fn string(&self, key: &str) -> String {
        self.value(key).unwrap_or_default()
    }

    fn float_x(&self) -> FloatX {
        FloatX::from_u8(self.floatx.load(Ordering::Relaxed))
    }

    fn cast_policy(&self) -> CastPolicy {
        match self.cast_policy.load(Ordering::Relaxed) {
            1 => CastPolicy::NumpyFloatX,
            _ => CastPolicy::Custom,
        }
    }

    fn on_unused_input(&self) -> OnUnusedInput {
        match self.on_unused_input.load(Ordering::Relaxed) {
            1 => OnUnusedInput::Warn,
            2 => OnUnusedInput::Ignore,
            _ => OnUnusedInput::Raise,
        }
    }

    fn get(&self, key: &str) -> Result<String, ConfigError> {
        self.value(&canonical_key(key))
            .ok_or_else(|| ConfigError::Unknown {
                key: key.to_string(),
            })
    }

    fn set(&self, key: &str, value: &str) -> Result<(), ConfigError> {
        let (canon, target) = resolve_key(key)?;
        match target {
            Target::Warn => self.put(&canon, value.to_string()),
            Target::Flag(flag) => {
                if !flag.settable {
                    return Err(ConfigError::NotSettable { key: canon });
                }
                let v = validate(flag, value)?;
                self.put(&canon, v);
            }
        }
        Ok(())
    }

    /// Read the flags string and the rc texts, validate everything, then
    /// store. Nothing is stored if a value is invalid.
    fn init_from(
        &self,
        flags: Option<&str>,
        rc_texts: &[String],
    ) -> Result<Vec<String>, ConfigError> {
        let resolved = resolve(flags, rc_texts)?;
        for (k, v) in resolved.values {
            self.put(&k, v);
        }
        Ok(resolved.warnings)
    }
}

static STORE: Store = Store::new();

static INIT: OnceLock<Result<(), ConfigError>> = OnceLock::new();

// ---------------------------------------------------------------------------
// Typed getters
// ---------------------------------------------------------------------------

/// `config.floatX`; one relaxed atomic load.
#[inline]
pub fn float_x() -> FloatX {
    STORE.float_x()
}

#[inline]
pub fn cast_policy() -> CastPolicy {
    STORE.cast_policy()
}

#[inline]
pub fn allow_gc() -> bool {
    STORE.allow_gc.load(Ordering::Relaxed)
}

#[inline]
pub fn scan_allow_gc() -> bool {
    STORE.scan_allow_gc.load(Ordering::Relaxed)
}

#[inline]
pub fn on_unused_input() -> OnUnusedInput {
    STORE.on_unused_input()
}

/// `config.mode`: `Mode` by default.
pub fn mode() -> String {
    STORE.string("mode")
}

/// `config.optimizer`: `o4` by default.
pub fn optimizer() -> String {
    STORE.string("optimizer")
}

/// `config.warn_float64`: `ignore` by default.
pub fn warn_float64() -> String {
    STORE.string("warn_float64")
}

/// `config.exception_verbosity`: `low` by default.
pub fn exception_verbosity() -> String {
    STORE.string("exception_verbosity")
}

/// `config.device`: `cpu` by default.
pub fn device() -> String {
    STORE.string("device")
}

#[inline]
pub fn force_device() -> bool {
    STORE.force_device.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Generic access
// ---------------------------------------------------------------------------

/// Get any flag by its dotted name (`floatX`, `scan.allow_gc`, also
/// `scan__allow_gc`), as a string. Booleans read `True`/`False`.
/// A `warn.*` key reads back what was assigned to it.
pub fn get(key: &str) -> Result<String, ConfigError> {
    STORE.get(key)
}

/// Set a flag after initialization. The value is validated; flags that are
/// not settable after import give [`ConfigError::NotSettable`]. `warn.*`
/// keys are accepted and stored, with no effect.
pub fn set(key: &str, value: &str) -> Result<(), ConfigError> {
    STORE.set(key, value)
}

/// The names of all flags (dotted), in table order.
pub fn keys() -> Vec<&'static str> {
    FLAGS.iter().map(|f| f.name).collect()
}

// ---------------------------------------------------------------------------
// Initialization from the environment
// ---------------------------------------------------------------------------

fn expand_home(path: &str) -> String {
    if (path == "~" || path.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME")
    {
        return format!("{}{}", home.to_string_lossy(), &path[1..]);
    }
    path.to_string()
}

/// The texts of the rc files named by `RTENSORRC` (default `~/.rtensorrc`),
/// in order; missing files are skipped.
fn rc_texts_from_environment() -> Vec<String> {
    let list = std::env::var("RTENSORRC").unwrap_or_else(|_| "~/.rtensorrc".to_string());
    list.split(':')
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::fs::read_to_string(expand_home(p)).ok())
        .collect()
}

/// Find a known key case-insensitively (INI keys are case-insensitive in
/// Python's configparser, so `floatx = float32` sets `floatX`).
fn rc_key(key: &str) -> String {
    let canon = canonical_key(key);
    FLAGS
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(&canon))
        .map(|f| f.name.to_string())
        .unwrap_or(canon)
}

/// Parse one rc file (INI): `[global]` holds plain keys, `[scan]` holds
/// `scan.*` and so on. Returns `(key, value)` pairs in file order.
fn parse_rc(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            // continuation line: not used by any flag
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        let Some(section) = section.as_deref() else {
            continue;
        };
        let split = match (line.find('='), line.find(':')) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(pos) = split else { continue };
        let key = line[..pos].trim();
        let value = line[pos + 1..].trim();
        if key.is_empty() {
            continue;
        }
        let full = if section.eq_ignore_ascii_case("global") {
            key.to_string()
        } else {
            format!("{section}.{key}")
        };
        out.push((rc_key(&full), value.to_string()));
    }
    out
}

/// Parse `RTENSOR_FLAGS`. Returns the `(key, value)` pairs in order and the
/// warnings for entries without `=`.
fn parse_flags(flags: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut pairs = Vec::new();
    let mut warnings = Vec::new();
    for entry in flags.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        match entry.split_once('=') {
            Some((k, v)) => pairs.push((canonical_key(k), v.trim().to_string())),
            None => warnings.push(format!("Config key '{entry}' has no value, ignoring it")),
        }
    }
    (pairs, warnings)
}

/// The outcome of reading the environment: the values to store, in order,
/// and the warnings to show.
#[derive(Debug, Default, PartialEq)]
struct Resolved {
    values: Vec<(String, String)>,
    warnings: Vec<String>,
}

/// Merge the rc files (in order, later files win) and then the flags string
/// (later duplicates win; flags beat rc files); validate the final values.
fn resolve(flags: Option<&str>, rc_texts: &[String]) -> Result<Resolved, ConfigError> {
    // key -> (value, from RTENSOR_FLAGS); order of first appearance kept.
    let mut order: Vec<String> = Vec::new();
    let mut merged: HashMap<String, (String, bool)> = HashMap::new();
    let mut put = |k: String, v: String, from_flags: bool| {
        if !merged.contains_key(&k) {
            order.push(k.clone());
        }
        merged.insert(k, (v, from_flags));
    };
    for text in rc_texts {
        for (k, v) in parse_rc(text) {
            put(k, v, false);
        }
    }
    let mut warnings = Vec::new();
    if let Some(flags) = flags {
        let (pairs, w) = parse_flags(flags);
        warnings.extend(w);
        for (k, v) in pairs {
            put(k, v, true);
        }
    }
    let mut values = Vec::new();
    for key in order {
        let (value, from_flags) = merged.remove(&key).expect("key recorded");
        match resolve_key(&key) {
            Ok((canon, Target::Flag(flag))) => values.push((canon, validate(flag, &value)?)),
            Ok((canon, Target::Warn)) => values.push((canon, value)),
            // Like Theano: unknown keys in RTENSOR_FLAGS warn, in rc files are skipped.
            Err(_) if from_flags => {
                warnings.push(format!("rtensor does not recognise this flag: {key}"))
            }
            Err(_) => {}
        }
    }
    Ok(Resolved { values, warnings })
}

/// Apply the flags string and the rc texts to the global store.
fn init_from(flags: Option<&str>, rc_texts: &[String]) -> Result<Vec<String>, ConfigError> {
    STORE.init_from(flags, rc_texts)
}

/// Initialise once from the rc files (`RTENSORRC` path list, `:`-separated,
/// default `~/.rtensorrc`) and then `RTENSOR_FLAGS`. Returns the warnings to
/// emit (unknown flags, entries without `=`), for Python to issue as
/// `UserWarning`. Idempotent: later calls return no warnings, or the same
/// error as the first call.
pub fn init_from_environment() -> Result<Vec<String>, ConfigError> {
    let mut warnings = None;
    let outcome = INIT.get_or_init(|| {
        let flags = std::env::var("RTENSOR_FLAGS").ok();
        let rc = rc_texts_from_environment();
        match init_from(flags.as_deref(), &rc) {
            Ok(w) => {
                warnings = Some(w);
                Ok(())
            }
            Err(e) => Err(e),
        }
    });
    match outcome {
        Ok(()) => Ok(warnings.unwrap_or_default()),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(r: &'a Resolved, key: &str) -> Option<&'a str> {
        r.values
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn defaults() {
        let defaults: HashMap<&str, &str> = FLAGS.iter().map(|f| (f.name, f.default)).collect();
        assert_eq!(defaults["floatX"], "float64");
        assert_eq!(defaults["mode"], "Mode");
        assert_eq!(defaults["optimizer"], "o4");
        assert_eq!(defaults["allow_gc"], "True");
        assert_eq!(defaults["scan.allow_gc"], "False");
        assert_eq!(defaults["on_unused_input"], "raise");
        assert_eq!(defaults["cast_policy"], "custom");
        assert_eq!(defaults["warn_float64"], "ignore");
        assert_eq!(defaults["exception_verbosity"], "low");
        assert_eq!(defaults["device"], "cpu");
        assert_eq!(defaults["force_device"], "False");
        assert_eq!(defaults["contexts"], "");
        assert_eq!(defaults["gpuarray.preallocate"], "0");
        // every default passes its own validation
        for f in FLAGS {
            assert_eq!(validate(f, f.default).unwrap(), f.default, "{}", f.name);
        }
    }

    #[test]
    fn flags_string() {
        let r = resolve(
            Some("floatX=float32,device=cuda0,scan.allow_gc=True,gpuarray.preallocate=0.8"),
            &[],
        )
        .unwrap();
        assert_eq!(value(&r, "floatX"), Some("float32"));
        assert_eq!(value(&r, "device"), Some("cuda0"));
        assert_eq!(value(&r, "scan.allow_gc"), Some("True"));
        assert_eq!(value(&r, "gpuarray.preallocate"), Some("0.8"));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn later_duplicates_win_and_no_equals_warns() {
        let r = resolve(Some("floatX=float16, junk ,,floatX=float32"), &[]).unwrap();
        assert_eq!(value(&r, "floatX"), Some("float32"));
        assert_eq!(r.values.len(), 1);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("junk"), "{:?}", r.warnings);
    }

    #[test]
    fn only_the_final_value_is_validated() {
        let r = resolve(Some("floatX=float8,floatX=float32"), &[]).unwrap();
        assert_eq!(value(&r, "floatX"), Some("float32"));
    }

    #[test]
    fn unknown_flag_warns() {
        let r = resolve(Some("foo=1,allow_gc=False"), &[]).unwrap();
        assert_eq!(
            r.warnings,
            vec!["rtensor does not recognise this flag: foo"]
        );
        assert_eq!(value(&r, "allow_gc"), Some("False"));
    }

    #[test]
    fn pytensor_spelling() {
        let r = resolve(Some("scan__allow_gc=true"), &[]).unwrap();
        assert_eq!(value(&r, "scan.allow_gc"), Some("True"));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn warn_keys_accepted() {
        let r = resolve(Some("warn.ignore_bug_before=all"), &[]).unwrap();
        assert_eq!(value(&r, "warn.ignore_bug_before"), Some("all"));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn bad_values() {
        let e = resolve(Some("floatX=float8"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value (\"float8\") for configuration variable \"floatX\". \
             Valid options are ('float64', 'float32', 'float16')"
        );
        assert!(matches!(e, ConfigError::InvalidValue { .. }));
        let e = resolve(Some("allow_gc=maybe"), &[]).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue { ref key, .. } if key == "allow_gc"));
        let e = resolve(Some("gpuarray.preallocate=lots"), &[]).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue { .. }));
        let e = resolve(Some("mode=FAST"), &[]).unwrap_err();
        assert!(e.to_string().contains("configuration variable \"mode\""));
    }

    #[test]
    fn devices() {
        let dev = find_flag("device").unwrap();
        for ok in ["cpu", "cuda", "cuda0", "cuda12", "opencl0:1"] {
            assert_eq!(validate(dev, ok).unwrap(), ok);
        }
        for bad in ["cudax", "opencl0", "opencl:1", "tpu", ""] {
            assert!(
                matches!(validate(dev, bad), Err(ConfigError::InvalidValue { .. })),
                "{bad}"
            );
        }
        let e = resolve(Some("device=gpu0"), &[]).unwrap_err();
        assert!(matches!(e, ConfigError::BadValue { .. }));
        assert!(e.to_string().contains("old GPU back-end"), "{e}");
        assert!(e.to_string().contains("cuda"), "{e}");
    }

    #[test]
    fn contexts() {
        let ctx = find_flag("contexts").unwrap();
        assert!(validate(ctx, "").is_ok());
        assert!(validate(ctx, "dev0->cuda0;dev1->cuda1").is_ok());
        let e = validate(ctx, "cuda0->cuda0").unwrap_err();
        assert_eq!(e.to_string(), "Cannot use cuda0 as context name");
        let e = validate(ctx, "dev0=cuda0").unwrap_err();
        assert!(e.to_string().starts_with("Malformed context map"), "{e}");
        assert!(matches!(e, ConfigError::BadValue { .. }));
    }

    #[test]
    fn preallocate() {
        let p = find_flag("gpuarray.preallocate").unwrap();
        assert_eq!(validate(p, "-1").unwrap(), "-1");
        assert_eq!(validate(p, "0.5").unwrap(), "0.5");
        assert_eq!(validate(p, "1024").unwrap(), "1024");
        assert!(validate(p, "nan").is_err());
    }

    #[test]
    fn rc_files_and_priority() {
        let rc1 = "# comment\n[global]\nfloatx = float32\ndevice = cuda\nallow_gc=False\n\
                   [scan]\nallow_gc = True\n[gpuarray]\npreallocate: 0.5\n"
            .to_string();
        let rc2 = "[global]\ndevice = cpu\nnot_a_flag = 3\n".to_string();
        let r = resolve(None, &[rc1.clone(), rc2.clone()]).unwrap();
        assert_eq!(value(&r, "floatX"), Some("float32"));
        assert_eq!(value(&r, "device"), Some("cpu")); // later file wins
        assert_eq!(value(&r, "allow_gc"), Some("False"));
        assert_eq!(value(&r, "scan.allow_gc"), Some("True"));
        assert_eq!(value(&r, "gpuarray.preallocate"), Some("0.5"));
        assert!(r.warnings.is_empty()); // unknown rc keys are skipped silently
        // environment beats rc files, and an invalid rc value it overrides is not checked
        let bad_rc = "[global]\nfloatX = float8\n".to_string();
        let r = resolve(Some("floatX=float16"), &[rc1, bad_rc]).unwrap();
        assert_eq!(value(&r, "floatX"), Some("float16"));
        // an invalid rc value is an error
        let bad_rc = "[global]\nfloatX = float8\n".to_string();
        assert!(resolve(None, &[bad_rc]).is_err());
    }

    #[test]
    fn global_errors() {
        // The global store is shared with every other test of the crate:
        // only calls that change nothing are made on it.
        assert!(matches!(
            set("device", "cpu"),
            Err(ConfigError::NotSettable { .. })
        ));
        assert_eq!(
            set("force_device", "True").unwrap_err().to_string(),
            "Can't change the value of this config parameter after initialization!"
        );
        assert!(matches!(
            set("gpuarray.preallocate", "0.1"),
            Err(ConfigError::NotSettable { .. })
        ));
        assert!(matches!(set("nope", "1"), Err(ConfigError::Unknown { .. })));
        assert!(matches!(get("nope"), Err(ConfigError::Unknown { .. })));
        assert!(matches!(
            set("floatX", "float8"),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(get("scan__allow_gc").is_ok());
        assert_eq!(get("device").unwrap(), device());
    }

    #[test]
    fn fresh_store_has_defaults() {
        let s = Store::new();
        for f in FLAGS {
            assert_eq!(s.get(f.name).unwrap(), f.default, "{}", f.name);
        }
        assert_eq!(s.float_x(), FloatX::Float64);
        assert_eq!(s.cast_policy(), CastPolicy::Custom);
        assert_eq!(s.on_unused_input(), OnUnusedInput::Raise);
        assert!(s.allow_gc.load(Ordering::Relaxed));
        assert!(!s.scan_allow_gc.load(Ordering::Relaxed));
        assert!(!s.force_device.load(Ordering::Relaxed));
        assert_eq!(s.string("mode"), "Mode");
        assert_eq!(s.string("optimizer"), "o4");
        assert_eq!(s.string("warn_float64"), "ignore");
        assert_eq!(s.string("exception_verbosity"), "low");
    }

    #[test]
    fn set_and_get() {
        let s = Store::new();
        assert!(matches!(
            s.set("device", "cuda"),
            Err(ConfigError::NotSettable { .. })
        ));
        assert!(matches!(
            s.set("exception_verbosity", "medium"),
            Err(ConfigError::InvalidValue { .. })
        ));
        s.set("exception_verbosity", "high").unwrap();
        assert_eq!(s.get("exception_verbosity").unwrap(), "high");
        s.set("warn.sum_div_dimshuffle_bug", "False").unwrap();
        assert_eq!(s.get("warn__sum_div_dimshuffle_bug").unwrap(), "False");
        assert!(matches!(
            s.get("warn.never_set"),
            Err(ConfigError::Unknown { .. })
        ));
    }

    #[test]
    fn typed_getters_follow_set() {
        let s = Store::new();
        s.set("floatX", "float32").unwrap();
        assert_eq!(s.float_x(), FloatX::Float32);
        assert_eq!(s.get("floatX").unwrap(), "float32");
        s.set("floatX", "float16").unwrap();
        assert_eq!(s.float_x(), FloatX::Float16);
        assert_eq!(s.float_x().as_str(), "float16");

        s.set("cast_policy", "numpy+floatX").unwrap();
        assert_eq!(s.cast_policy(), CastPolicy::NumpyFloatX);
        s.set("cast_policy", "custom").unwrap();
        assert_eq!(s.cast_policy(), CastPolicy::Custom);

        s.set("on_unused_input", "ignore").unwrap();
        assert_eq!(s.on_unused_input(), OnUnusedInput::Ignore);
        s.set("on_unused_input", "warn").unwrap();
        assert_eq!(s.on_unused_input(), OnUnusedInput::Warn);

        s.set("scan__allow_gc", "1").unwrap();
        assert!(s.scan_allow_gc.load(Ordering::Relaxed));
        assert_eq!(s.get("scan.allow_gc").unwrap(), "True");
        s.set("scan.allow_gc", "false").unwrap();
        assert!(!s.scan_allow_gc.load(Ordering::Relaxed));

        s.set("allow_gc", "0").unwrap();
        assert!(!s.allow_gc.load(Ordering::Relaxed));
        assert_eq!(s.get("allow_gc").unwrap(), "False");

        s.set("optimizer", "None").unwrap();
        assert_eq!(s.string("optimizer"), "None");
        s.set("mode", "FAST_COMPILE").unwrap();
        assert_eq!(s.string("mode"), "FAST_COMPILE");
        s.set("warn_float64", "raise").unwrap();
        assert_eq!(s.string("warn_float64"), "raise");
    }

    #[test]
    fn init_applies_everything_or_nothing() {
        let s = Store::new();
        let w = s
            .init_from(
                Some("floatX=float32,device=cuda0,force_device=True,bogus=1,x"),
                &["[scan]\nallow_gc = True\n".to_string()],
            )
            .unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(s.float_x(), FloatX::Float32);
        assert_eq!(s.string("device"), "cuda0");
        assert!(s.force_device.load(Ordering::Relaxed));
        assert!(s.scan_allow_gc.load(Ordering::Relaxed));

        let s = Store::new();
        assert!(s.init_from(Some("floatX=float32,mode=bad"), &[]).is_err());
        assert_eq!(s.float_x(), FloatX::Float64);
    }

    #[test]
    fn keys_listed() {
        let k = keys();
        for name in [
            "floatX",
            "device",
            "force_device",
            "contexts",
            "gpuarray.preallocate",
            "scan.allow_gc",
        ] {
            assert!(k.contains(&name), "{name}");
        }
    }
}
