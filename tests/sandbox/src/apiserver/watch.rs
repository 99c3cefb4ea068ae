//! Watch: a stream of newline-delimited watch events from a resourceVersion (or the current
//! state first), filtered by namespace and selectors, where a change that makes an object
//! enter or leave the selection is ADDED or DELETED as in Kubernetes; bookmarks (with the
//! `k8s.io/initial-events-end` annotation after `sendInitialEvents`), 410 Gone for a
//! resourceVersion older than the history, `timeoutSeconds`, and the injected early close.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::http::{Body, Query};
use super::rest::selection;
use super::status::ApiError;
use crate::faults;
use crate::resources::Resource;
use crate::selectors::Selection;
use crate::state::State;
use crate::storage::{Event, EventType};

/// What a watcher sees: objects of one type, in one namespace or all, that the selectors
/// match.
struct Filter {
    rt: Resource,
    namespace: Option<String>,
    selection: Selection,
}

impl Filter {
    fn matches(&self, o: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|n| o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n))
            && self.selection.matches(o)
    }

    /// The watch event type for a store event, if the watcher sees it at all.
    fn kind(&self, ev: &Event) -> Option<&'static str> {
        if ev.resource != self.rt {
            return None;
        }
        watch_kind(ev, &|o| self.matches(o))
    }
}

/// The watch event a filtered watcher sees for a store event: a modification that makes an
/// object start or stop matching the selectors is an ADDED or DELETED, as in Kubernetes.
fn watch_kind(ev: &Event, matches: &impl Fn(&Value) -> bool) -> Option<&'static str> {
    let now = matches(&ev.object);
    match ev.kind {
        EventType::Modified => match (ev.old.as_ref().map(matches), now) {
            (Some(false), true) => Some("ADDED"),
            (Some(true), false) => Some("DELETED"),
            (_, true) => Some("MODIFIED"),
            _ => None,
        },
        other => now.then_some(other.as_str()),
    }
}

fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// One open watch, writing lines to its response body.
struct Stream {
    tx: mpsc::Sender<Bytes>,
    filter: Filter,
    bookmarks: bool,
    last_rv: u64,
}

/// The sender failed: the client went away.
struct Closed;

impl Stream {
    async fn send(&self, line: Bytes) -> Result<(), Closed> {
        self.tx.send(line).await.map_err(|_| Closed)
    }

    fn bookmark(&self, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let rt = self.filter.rt;
        watch_line(
            "BOOKMARK",
            &json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}),
        )
    }

    /// Forward one store event; events at or before the last resourceVersion were sent.
    async fn forward(&mut self, ev: &Event) -> Result<(), Closed> {
        if ev.rv <= self.last_rv {
            return Ok(());
        }
        self.last_rv = ev.rv;
        match self.filter.kind(ev) {
            Some(kind) => self.send(watch_line(kind, &ev.object)).await,
            None => Ok(()),
        }
    }

    /// The initial objects (as ADDED), the initial-events-end bookmark, then the history
    /// after the start.
    async fn catch_up(
        &mut self,
        initial: Vec<Value>,
        initial_end: bool,
        backlog: Vec<Event>,
    ) -> Result<(), Closed> {
        for o in initial {
            self.send(watch_line("ADDED", &o)).await?;
        }
        if initial_end && self.bookmarks {
            self.send(self.bookmark(true)).await?;
        }
        for ev in backlog {
            let start = self.last_rv;
            self.last_rv = start.max(ev.rv);
            if let Some(kind) = self.filter.kind(&ev) {
                self.send(watch_line(kind, &ev.object)).await?;
            }
        }
        Ok(())
    }

    /// Live events until `stop_at`, the client leaves, or the history overflows (410).
    async fn follow(
        &mut self,
        mut events: broadcast::Receiver<Event>,
        stop_at: Instant,
    ) -> Result<(), Closed> {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(stop_at) => return Ok(()),
                _ = self.tx.closed() => return Err(Closed),
                _ = tick.tick() => {
                    if self.bookmarks {
                        self.send(self.bookmark(false)).await?;
                    }
                }
                ev = events.recv() => match ev {
                    Ok(ev) => self.forward(&ev).await?,
                    Err(RecvError::Lagged(_)) => {
                        let gone = ApiError::gone(self.last_rv).to_status();
                        return self.send(watch_line("ERROR", &gone)).await;
                    }
                    Err(_) => return Ok(()),
                }
            }
        }
    }
}

/// Open a watch on `rt` (in `namespace`, or all).
pub fn serve(
    state: &Arc<State>,
    rt: Resource,
    namespace: Option<String>,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let filter = Filter {
        rt,
        namespace,
        selection: selection(query)?,
    };
    let send_initial = query.flag("sendInitialEvents");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(1800);
    let rv_param = query.get("resourceVersion").unwrap_or("");
    let lifetime = faults::watch_lifetime(state);
    let mut initial = Vec::new();
    let start_rv: u64 = if rv_param.is_empty() || rv_param == "0" || send_initial {
        let (items, rv) = state.store.list(rt, filter.namespace.as_deref());
        initial = items.into_iter().filter(|o| filter.matches(o)).collect();
        rv
    } else {
        rv_param
            .parse()
            .map_err(|_| ApiError::bad_request(&format!("invalid resourceVersion {rv_param:?}")))?
    };
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let subscription = state.store.watch_from(start_rv);
    let mut stream = Stream {
        tx,
        filter,
        bookmarks: query.flag("allowWatchBookmarks"),
        last_rv: start_rv,
    };
    tokio::spawn(async move {
        let Ok((backlog, events)) = subscription else {
            let gone = ApiError::gone(start_rv).to_status();
            let _ = stream.send(watch_line("ERROR", &gone)).await;
            return;
        };
        if stream
            .catch_up(initial, send_initial, backlog)
            .await
            .is_err()
        {
            return;
        }
        let mut stop_at = Instant::now() + Duration::from_secs(timeout);
        if let Some(after) = lifetime {
            stop_at = stop_at.min(Instant::now() + after);
        }
        let _ = stream.follow(events, stop_at).await;
    });
    Ok(streaming_response(rx))
}

fn streaming_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = StreamBody::new(futures::StreamExt::map(stream, |b| {
        Ok::<_, Infallible>(Frame::data(b))
    }));
    let mut r = Response::new(BodyExt::boxed(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    r
}
