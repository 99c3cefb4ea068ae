//! Helm's `--set` / `--set-string` syntax (its `strvals` package), re-implemented from its
//! documented behaviour and observed results, so `preflight` computes exactly the values Helm
//! would: `a.b=c,d=e`, lists `a={x,y}`, indexes `a[0]=x` and `a[1].b=c`, backslash escapes
//! (`\,` `\.` `\=` and any other character), `name=` (the empty string).
//!
//! Typing (`--set` only; `--set-string` keeps every value a string): `true` / `false` in any
//! case are booleans, `null` (any case) is null (which deletes a chart default later), `0` is
//! the integer 0, a decimal integer that fits 64 bits and does not start with `0` (a sign is
//! allowed: `-5`, `+5`) is an integer; everything else (floats, `007`, `1e3`) stays a string.
//!
//! Helm's quirks are kept on purpose, since the point is to predict Helm: a part with an empty
//! key (`=1`, `.a=1`) sets nothing; input that ends in the middle of a key after an index
//! (`a[0]`, `a[1`) or after a dot (`a.`) is accepted and sets at most an empty list; `a={}` is
//! the list `[""]`; indexes above [`MAX_INDEX`] and names nested deeper than
//! [`MAX_NESTED_NAME_LEVEL`] are refused. One limit is ours: keys and indexes nested deeper
//! than [`MAX_DEPTH`] are refused (Helm has no such limit; the stack would run out).
//!
//! Errors never quote a value (a `--set` may carry a secret); they may name a key.

use serde_json::{Map, Value};

/// The largest list index accepted (Helm's `strvals.MaxIndex`).
pub const MAX_INDEX: i64 = 65536;
/// The deepest `a.b.c...` nesting accepted (Helm's `strvals.MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// The deepest nesting of keys and indexes together (`a[0][0]...`, `a[0].b[0].c...`), which
/// Helm does not limit: beyond it the parser would exhaust the stack. No real value nests
/// this deep.
pub const MAX_DEPTH: usize = 100;

/// What is wrong with one `--set` argument. Display names keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrvalsError {
    /// A key without `=value`.
    #[error("key `{key}` has no value")]
    NoValue {
        /// The key.
        key: String,
    },
    /// A key followed by `,` (e.g. `a,b=1`).
    #[error("key `{key}` has no value (a key cannot end with `,`)")]
    NoValueComma {
        /// The key.
        key: String,
    },
    /// `a.b` where nothing was set under `a` (e.g. `a..b=1`).
    #[error("key map `{key}` has no value")]
    EmptyMap {
        /// The key.
        key: String,
    },
    /// The text between `[` and `]` is not an integer.
    #[error("the index after `{key}[` is not an integer")]
    BadIndex {
        /// The key before `[`.
        key: String,
    },
    /// A negative index.
    #[error("negative index {index} is not allowed")]
    NegativeIndex {
        /// The index.
        index: i64,
    },
    /// An index above [`MAX_INDEX`].
    #[error("index {index} is greater than the largest supported index {MAX_INDEX}")]
    IndexTooLarge {
        /// The index.
        index: i64,
    },
    /// Text between `]` and the next `=`, `.` or `[`.
    #[error("unexpected text after the index `]` of `{key}`")]
    AfterIndex {
        /// The key before `[`.
        key: String,
    },
    /// `a={x,y` without the closing brace.
    #[error("the list of `{key}` must end with `}}`")]
    UnterminatedList {
        /// The key.
        key: String,
    },
    /// Names nested deeper than [`MAX_NESTED_NAME_LEVEL`].
    #[error("the name is nested deeper than the supported {MAX_NESTED_NAME_LEVEL} levels")]
    TooDeep,
    /// Keys and indexes nested deeper than [`MAX_DEPTH`] (a limit Helm does not have).
    #[error("keys and indexes are nested deeper than {MAX_DEPTH} levels")]
    TooDeepIndexes,
    /// `a[0]=...` where `a` already holds something that is not a list.
    #[error("`{key}` is not a list, so it cannot take an index")]
    NotAList {
        /// The key.
        key: String,
    },
    /// `a.b=...` where `a` already holds something that is not a map.
    #[error("`{key}` is not a map, so it cannot take `.{child}`")]
    NotAMap {
        /// The key.
        key: String,
        /// The name after the dot, when known.
        child: String,
    },
}

/// Why parsing stopped: the end of the input (which Helm treats as success, wherever it
/// happens) or an error.
enum Stop {
    Eof,
    Err(StrvalsError),
}

impl From<StrvalsError> for Stop {
    fn from(e: StrvalsError) -> Self {
        Stop::Err(e)
    }
}

type Step<T> = Result<T, Stop>;

/// Parse one `--set` (`typed = true`) or `--set-string` (`typed = false`) argument into
/// `dest`, which holds the values so far (from `-f` files and earlier arguments), as Helm's
/// `ParseInto` / `ParseIntoString` do.
pub fn parse_into(
    text: &str,
    dest: &mut Map<String, Value>,
    typed: bool,
) -> Result<(), StrvalsError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        typed,
        depth: 0,
    };
    loop {
        match parser.key(dest, 0) {
            Ok(()) => {}
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Err(e)) => return Err(e),
        }
    }
}

/// Parse one `--set` argument into a new map (Helm's `strvals.Parse`).
pub fn parse(text: &str, typed: bool) -> Result<Map<String, Value>, StrvalsError> {
    let mut map = Map::new();
    parse_into(text, &mut map, typed)?;
    Ok(map)
}

/// The key as an error shows it: printable, and cut short.
fn shown(key: &[char]) -> String {
    let text: String = key.iter().take(64).collect();
    crate::redact::printable(&text)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    typed: bool,
    /// Current recursion depth (keys and list items).
    depth: usize,
}

/// `set` ignores empty keys, as Helm does.
fn set(data: &mut Map<String, Value>, key: &[char], value: Value) {
    if !key.is_empty() {
        data.insert(key.iter().collect(), value);
    }
}

impl Parser {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// Characters up to one of `stop` (consumed, returned), with backslash escapes resolved.
    /// `None` as the stop character is the end of the input.
    fn until(&mut self, stop: &[char]) -> (Vec<char>, Option<char>) {
        let mut out = Vec::new();
        loop {
            match self.next() {
                None => return (out, None),
                Some(c) if stop.contains(&c) => return (out, Some(c)),
                Some('\\') => match self.next() {
                    None => return (out, None),
                    Some(n) => out.push(n),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn typed_value(&self, text: &[char]) -> Value {
        let s: String = text.iter().collect();
        if !self.typed {
            return Value::String(s);
        }
        typed_value(s)
    }

    /// One `key...=value` part, into `data`.
    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> Step<()> {
        if self.depth >= MAX_DEPTH {
            return Err(StrvalsError::TooDeepIndexes.into());
        }
        self.depth += 1;
        let result = self.key_inner(data, level);
        self.depth -= 1;
        result
    }

    fn key_inner(&mut self, data: &mut Map<String, Value>, level: usize) -> Step<()> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    Err(Stop::Eof)
                } else {
                    Err(StrvalsError::NoValue { key: shown(&k) }.into())
                }
            }
            Some('[') => {
                let index = self.index(&k)?;
                let name: String = k.iter().collect();
                let list = match data.get_mut(&name) {
                    None => Vec::new(),
                    Some(Value::Array(items)) => std::mem::take(items),
                    Some(_) => return Err(StrvalsError::NotAList { key: shown(&k) }.into()),
                };
                let (list, result) = self.list_item(list, index, level, &k);
                set(data, &k, Value::Array(list));
                result
            }
            Some('=') => match self.value_list() {
                Ok(list) => {
                    set(data, &k, Value::Array(list));
                    Ok(())
                }
                Err(ListStop::Eof) => {
                    set(data, &k, Value::String(String::new()));
                    Err(Stop::Eof)
                }
                Err(ListStop::NotAList) => {
                    let (v, _) = self.until(&[',']);
                    let value = self.typed_value(&v);
                    set(data, &k, value);
                    Ok(())
                }
                Err(ListStop::Unterminated) => {
                    Err(StrvalsError::UnterminatedList { key: shown(&k) }.into())
                }
            },
            Some(',') => {
                set(data, &k, Value::String(String::new()));
                Err(StrvalsError::NoValueComma { key: shown(&k) }.into())
            }
            Some(_) => {
                // '.': a nested map.
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(StrvalsError::TooDeep.into());
                }
                let name: String = k.iter().collect();
                let mut inner = match data.get_mut(&name) {
                    None => Map::new(),
                    Some(Value::Object(m)) => std::mem::take(m),
                    Some(_) => {
                        let child = self.peek_name();
                        return Err(StrvalsError::NotAMap {
                            key: shown(&k),
                            child,
                        }
                        .into());
                    }
                };
                let result = self.key(&mut inner, level);
                let empty = inner.is_empty();
                if !empty {
                    set(data, &k, Value::Object(inner));
                } else if data.contains_key(&name) {
                    // Put back what was taken (an empty map stays an empty map).
                    set(data, &k, Value::Object(inner));
                }
                match result {
                    Ok(()) if empty => Err(StrvalsError::EmptyMap { key: shown(&k) }.into()),
                    other => other,
                }
            }
        }
    }

    /// The name that follows (for an error message), without consuming it.
    fn peek_name(&self) -> String {
        let rest: Vec<char> = self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .copied()
            .take_while(|c| !matches!(c, '=' | '[' | ',' | '.'))
            .collect();
        shown(&rest)
    }

    /// The index after `[`, up to `]`.
    fn index(&mut self, key: &[char]) -> Step<i64> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        let text: String = v.iter().collect();
        parse_go_int(&text).ok_or_else(|| StrvalsError::BadIndex { key: shown(key) }.into())
    }

    /// What follows `key[index]`, set into `list`. The list is handed back even on error,
    /// as Helm sets it before reporting.
    fn list_item(
        &mut self,
        list: Vec<Value>,
        index: i64,
        level: usize,
        key: &[char],
    ) -> (Vec<Value>, Step<()>) {
        if self.depth >= MAX_DEPTH {
            return (list, Err(StrvalsError::TooDeepIndexes.into()));
        }
        self.depth += 1;
        let result = self.list_item_inner(list, index, level, key);
        self.depth -= 1;
        result
    }

    /// [`Parser::list_item`] without the depth guard: one arm per character after the index
    /// (`=`, `[`, `.`), the states of Helm's list parser. The arms share the list being built
    /// and hand it back on error, so they read best together (85 lines).
    fn list_item_inner(
        &mut self,
        mut list: Vec<Value>,
        index: i64,
        level: usize,
        key: &[char],
    ) -> (Vec<Value>, Step<()>) {
        if index < 0 {
            return (list, Err(StrvalsError::NegativeIndex { index }.into()));
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Err(StrvalsError::AfterIndex { key: shown(key) }.into()),
            );
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => {
                let value = match self.value_list() {
                    Ok(items) => Value::Array(items),
                    Err(ListStop::Eof) => Value::String(String::new()),
                    Err(ListStop::NotAList) => {
                        let (v, _) = self.until(&[',']);
                        self.typed_value(&v)
                    }
                    Err(ListStop::Unterminated) => {
                        return (
                            list,
                            Err(StrvalsError::UnterminatedList { key: shown(key) }.into()),
                        );
                    }
                };
                let result = set_index(&mut list, index, value);
                (list, result)
            }
            Some('[') => {
                let next = match self.index(key) {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match usize::try_from(index).ok().and_then(|i| list.get_mut(i)) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => std::mem::take(items),
                    Some(_) => {
                        return (list, Err(StrvalsError::NotAList { key: shown(key) }.into()));
                    }
                };
                let (inner, result) = self.list_item(current, next, level, key);
                if let Err(e) = result {
                    // Helm drops the nested list on error; put back what was taken.
                    if let Some(slot) = usize::try_from(index).ok().and_then(|i| list.get_mut(i))
                        && slot.is_array()
                    {
                        *slot = Value::Array(inner);
                    }
                    return (list, Err(e));
                }
                let result = set_index(&mut list, index, Value::Array(inner));
                (list, result)
            }
            Some(_) => {
                // '.': a map inside the list.
                let slot = usize::try_from(index).ok().and_then(|i| list.get_mut(i));
                let mut inner = match slot {
                    Some(Value::Object(m)) => std::mem::take(m),
                    Some(other) => {
                        *other = Value::Object(Map::new());
                        Map::new()
                    }
                    None => Map::new(),
                };
                let result = self.key(&mut inner, level);
                if let Err(e) = result {
                    if let Some(slot) = usize::try_from(index).ok().and_then(|i| list.get_mut(i)) {
                        *slot = Value::Object(inner);
                    }
                    return (list, Err(e));
                }
                let result = set_index(&mut list, index, Value::Object(inner));
                (list, result)
            }
        }
    }

    /// `{x,y}` after `=`.
    fn value_list(&mut self) -> Result<Vec<Value>, ListStop> {
        match self.next() {
            None => return Err(ListStop::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(ListStop::NotAList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (v, last) = self.until(&[',', '}']);
            match last {
                None => return Err(ListStop::Unterminated),
                Some('}') => {
                    match self.next() {
                        Some(',') | None => {}
                        Some(_) => self.unread(),
                    }
                    list.push(self.typed_value(&v));
                    return Ok(list);
                }
                Some(_) => list.push(self.typed_value(&v)),
            }
        }
    }
}

enum ListStop {
    Eof,
    NotAList,
    Unterminated,
}

fn set_index(list: &mut Vec<Value>, index: i64, value: Value) -> Step<()> {
    if index < 0 {
        return Err(StrvalsError::NegativeIndex { index }.into());
    }
    if index > MAX_INDEX {
        return Err(StrvalsError::IndexTooLarge { index }.into());
    }
    let i = usize::try_from(index).map_err(|_| StrvalsError::IndexTooLarge { index })?;
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = value;
    Ok(())
}

/// An integer as Go's `strconv.Atoi` / `ParseInt(s, 10, 64)` read it: an optional sign, then
/// ASCII digits only, within 64 bits.
fn parse_go_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.strip_prefix('+').unwrap_or(text).parse::<i64>().ok()
}

/// Case-insensitive equality as Go's `strings.EqualFold` for the ASCII words compared here
/// (Unicode folding adds only `ſ` ≡ `s` and the Kelvin sign ≡ `k` to ASCII letters).
fn equal_fold(text: &str, word: &str) -> bool {
    let fold = |c: char| match c {
        '\u{17F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    text.chars().count() == word.chars().count()
        && text
            .chars()
            .zip(word.chars())
            .all(|(a, b)| fold(a) == fold(b))
}

/// The type Helm gives an untyped `--set` value.
pub fn typed_value(text: String) -> Value {
    if equal_fold(&text, "true") {
        return Value::Bool(true);
    }
    if equal_fold(&text, "false") {
        return Value::Bool(false);
    }
    if equal_fold(&text, "null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::from(0_i64);
    }
    if !text.is_empty()
        && !text.starts_with('0')
        && let Some(n) = parse_go_int(&text)
    {
        return Value::from(n);
    }
    Value::String(text)
}

#[cfg(test)]
mod tests;
