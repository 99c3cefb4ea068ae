//! The walk over the words typed before the one being completed: which (sub)command they
//! lead to, the flags with their values, the positionals, and whether a flag waits for its
//! value. Pure: clap's [`Command`] in, a [`Walk`] out.

use clap::Command;

use super::Typed;

/// Where `walk` ended over the words typed before the one being completed.
#[derive(Debug)]
pub(super) struct Walk<'c> {
    /// The flags, subcommand path and positionals typed.
    pub(super) typed: Typed,
    /// The (sub)command the words lead to.
    pub(super) at: &'c Command,
    /// The flag whose value is the word being completed (`--namespace <TAB>`).
    pub(super) pending: Option<&'c clap::Arg>,
    /// A `--` was typed: every later word is a positional.
    pub(super) only_positionals: bool,
}

/// Walk `words` over a built `cmd`: descend into subcommands, record flags with their values
/// (`--flag=v`, `--flag v`, `-fv`, `-f v`) and positionals. Unknown flags are skipped.
pub(super) fn walk<'c>(cmd: &'c Command, words: &[String]) -> Walk<'c> {
    let mut w = Walk {
        typed: Typed::default(),
        at: cmd,
        pending: None,
        only_positionals: false,
    };
    for word in words {
        if let Some(arg) = w.pending.take() {
            w.typed.flags.push((arg.get_id().to_string(), word.clone()));
            continue;
        }
        if !w.only_positionals && word == "--" {
            w.only_positionals = true;
            continue;
        }
        if !w.only_positionals
            && let Some(long) = word.strip_prefix("--")
        {
            w.long_flag(long);
            continue;
        }
        if !w.only_positionals && word.len() > 1 && word.starts_with('-') {
            w.short_flag(&word[1..]);
            continue;
        }
        if w.typed.positionals.is_empty()
            && let Some(sub) =
                w.at.get_subcommands()
                    .find(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word))
        {
            w.typed.path.push(sub.get_name().to_owned());
            w.at = sub;
            continue;
        }
        w.typed.positionals.push(word.clone());
    }
    w
}

impl<'c> Walk<'c> {
    /// `--name` or `--name=value` (without the dashes).
    fn long_flag(&mut self, long: &str) {
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        if let Some(arg) = find_long(self.at, name) {
            match value {
                Some(v) => self
                    .typed
                    .flags
                    .push((arg.get_id().to_string(), v.to_owned())),
                None if takes_value(arg) => self.pending = Some(arg),
                None => self
                    .typed
                    .flags
                    .push((arg.get_id().to_string(), String::new())),
            }
        }
    }

    /// `-f`, `-fvalue` or `-f=value` (without the dash).
    fn short_flag(&mut self, short: &str) {
        let mut chars = short.chars();
        let Some(arg) = chars.next().and_then(|c| find_short(self.at, c)) else {
            return;
        };
        let rest: String = chars.collect();
        if !takes_value(arg) {
            self.typed
                .flags
                .push((arg.get_id().to_string(), String::new()));
        } else if rest.is_empty() {
            self.pending = Some(arg);
        } else {
            let v = rest.strip_prefix('=').unwrap_or(&rest).to_owned();
            self.typed.flags.push((arg.get_id().to_string(), v));
        }
    }
}

/// The argument of `cmd` whose long name or alias is `name`.
pub(super) fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

/// The argument of `cmd` whose short name is `c`.
fn find_short(cmd: &Command, c: char) -> Option<&clap::Arg> {
    cmd.get_arguments().find(|a| a.get_short() == Some(c))
}

/// Whether the argument takes a value (`--namespace todo`, not `--strict`).
fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values()
}
