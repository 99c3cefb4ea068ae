//! How a command flow talks to the person running it: notes, warnings, progress and prompts.
//!
//! Flows only call [`Ui`]; they never print to the terminal or open a prompt themselves. The
//! terminal implementation lives at the edge, in [`crate::term`] (indicatif bars, dialoguer
//! prompts, colour); [`SilentUi`] and [`ScriptedUi`] serve pipes and tests. Prompt methods
//! block (a person is typing): call them from `tokio::task::spawn_blocking`, which is why a
//! `Ui` is shared as `Arc<dyn Ui>`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;

use crate::rollout::{Replicas, RolloutState};

/// Why a prompt gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Ctrl-C or Esc at the prompt.
    #[error("interrupted: nothing was written")]
    Interrupted,
    /// Nobody can answer (no terminal on stdin and stderr).
    #[error("no terminal to prompt on")]
    NoTerminal,
    /// The terminal failed.
    #[error("the terminal failed while prompting: {0}")]
    Terminal(#[source] std::io::Error),
}

/// A change worth showing while a flow waits.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A Deployment's rollout moved.
    Rollout {
        /// The Deployment.
        deployment: &'a str,
        /// Its replica counts.
        replicas: &'a Replicas,
        /// Where the rollout stands.
        state: &'a RolloutState,
    },
    /// A re-evaluation of checks while waiting for them to pass.
    Checks {
        /// The one-line status to show (already rendered, without control characters).
        line: &'a str,
        /// Time since the wait began.
        elapsed: Duration,
        /// The wait's limit.
        timeout: Duration,
    },
}

/// What a flow reports while it works, and how it asks questions.
pub trait Ui: Send + Sync {
    /// Whether a person can answer a prompt (stdin and stderr are terminals).
    fn can_prompt(&self) -> bool;
    /// A step done, on stderr.
    fn note(&self, message: &str);
    /// A warning, on stderr.
    fn warn(&self, message: &str);
    /// Progress while waiting; implementations decide how often to draw.
    fn progress(&self, update: Progress<'_>);
    /// The wait is over: remove progress bars and lines.
    fn finish(&self);
    /// Ask a yes/no question.
    fn confirm(&self, question: &str, default: bool) -> Result<bool, PromptError>;
    /// Ask to choose one of `items`; returns its index.
    fn choose(&self, prompt: &str, items: &[&str], default: usize) -> Result<usize, PromptError>;
    /// Ask for a secret value without echoing it.
    fn secret(&self, prompt: &str) -> Result<SecretString, PromptError>;
}

/// A [`Ui`] that prints nothing and cannot prompt (pipes, `-o json` callers, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentUi;

impl Ui for SilentUi {
    fn can_prompt(&self) -> bool {
        false
    }
    fn note(&self, _message: &str) {}
    fn warn(&self, _message: &str) {}
    fn progress(&self, _update: Progress<'_>) {}
    fn finish(&self) {}
    fn confirm(&self, _question: &str, _default: bool) -> Result<bool, PromptError> {
        Err(PromptError::NoTerminal)
    }
    fn choose(&self, _p: &str, _items: &[&str], _default: usize) -> Result<usize, PromptError> {
        Err(PromptError::NoTerminal)
    }
    fn secret(&self, _prompt: &str) -> Result<SecretString, PromptError> {
        Err(PromptError::NoTerminal)
    }
}

/// One scripted answer for [`ScriptedUi`].
#[derive(Debug, Clone)]
pub enum Answer {
    /// An answer to `confirm`.
    Yes(bool),
    /// An answer to `choose` (an index).
    Choice(usize),
    /// An answer to `secret`.
    Secret(String),
    /// Ctrl-C at the prompt.
    Interrupt,
}

/// A [`Ui`] that answers prompts from a script and records what was shown: for testing a
/// flow's decisions in-process.
#[derive(Debug, Default)]
pub struct ScriptedUi {
    answers: Mutex<VecDeque<Answer>>,
    /// Every note, warning and prompt, in order, prefixed `note: `, `warn: `, `ask: `.
    pub transcript: Mutex<Vec<String>>,
}

impl ScriptedUi {
    /// A UI that gives these answers in order.
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> Arc<Self> {
        Arc::new(ScriptedUi {
            answers: Mutex::new(answers.into_iter().collect()),
            transcript: Mutex::new(Vec::new()),
        })
    }

    fn record(&self, line: String) {
        self.transcript
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }

    fn next(&self, prompt: &str) -> Result<Answer, PromptError> {
        self.record(format!("ask: {prompt}"));
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        match answer {
            Some(Answer::Interrupt) | None => Err(PromptError::Interrupted),
            Some(a) => Ok(a),
        }
    }

    /// The transcript so far.
    pub fn lines(&self) -> Vec<String> {
        self.transcript
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn misscripted(answer: &Answer) -> PromptError {
    PromptError::Terminal(std::io::Error::other(format!(
        "the script's next answer is {answer:?}, not one for this prompt"
    )))
}

impl Ui for ScriptedUi {
    fn can_prompt(&self) -> bool {
        true
    }
    fn note(&self, message: &str) {
        self.record(format!("note: {message}"));
    }
    fn warn(&self, message: &str) {
        self.record(format!("warn: {message}"));
    }
    fn progress(&self, _update: Progress<'_>) {}
    fn finish(&self) {}
    fn confirm(&self, question: &str, _default: bool) -> Result<bool, PromptError> {
        match self.next(question)? {
            Answer::Yes(b) => Ok(b),
            other => Err(misscripted(&other)),
        }
    }
    fn choose(&self, prompt: &str, _items: &[&str], _default: usize) -> Result<usize, PromptError> {
        match self.next(prompt)? {
            Answer::Choice(i) => Ok(i),
            other => Err(misscripted(&other)),
        }
    }
    fn secret(&self, prompt: &str) -> Result<SecretString, PromptError> {
        match self.next(prompt)? {
            Answer::Secret(s) => Ok(SecretString::from(s)),
            other => Err(misscripted(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn scripted_ui_answers_in_order_and_records() {
        let ui = ScriptedUi::new([Answer::Yes(true), Answer::Secret("s3".into())]);
        ui.note("hello");
        assert!(ui.confirm("go?", false).unwrap());
        assert_eq!(ui.secret("KEY").unwrap().expose_secret(), "s3");
        assert!(matches!(
            ui.confirm("again?", false),
            Err(PromptError::Interrupted)
        ));
        assert_eq!(ui.lines()[0], "note: hello");
    }

    #[test]
    fn silent_ui_cannot_prompt() {
        assert!(!SilentUi.can_prompt());
        assert!(matches!(
            SilentUi.confirm("x", true),
            Err(PromptError::NoTerminal)
        ));
    }
}
