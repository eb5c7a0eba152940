//! The main loop: open documents, their latest coding, and the protocol handlers.

use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    Cancel, DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{CodeActionRequest, ExecuteCommand, HoverRequest, Request as _, Shutdown};
use lsp_types::{
    CancelParams, CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand,
    CodeActionParams, CodeActionProviderCapability, Command, Diagnostic,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    ExecuteCommandOptions, ExecuteCommandParams, Hover, HoverContents, HoverParams,
    HoverProviderCapability, InitializeResult, MarkupContent, MarkupKind, MessageType,
    NumberOrString, PublishDiagnosticsParams, Range, ServerCapabilities, ServerInfo,
    ShowMessageParams, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextEdit, Uri, WorkspaceEdit,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::backend::Backend;
use super::codes_block::{self, CodesBlock};
use super::options::ClientOptions;
use super::position::{Encoding, IndexedText};
use super::render::{self, SuggestionRef};
use super::{Coded, Event, Job};
use crate::codeset::{normalize_code, CodeSet};
use crate::coding::{Coding, Suggestion};
use crate::error::{Error, Result};
use crate::feedback::{Decision, NewFeedback};

/// `workspace/executeCommand` commands.
pub const LIST_SUGGESTIONS: &str = "chartcoder.listSuggestions";
pub const ACCEPT: &str = "chartcoder.accept";
pub const REJECT: &str = "chartcoder.reject";

/// Sends a message to the client.
pub(super) type Outbox = Box<dyn Fn(Message)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Uninitialized,
    Running,
    ShutDown,
}

enum BackendState {
    Loading,
    Ready(Arc<Backend>),
    Failed(String),
}

/// Where a suggestion stands with the coder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Suggested,
    /// Listed in the note's codes block.
    Accepted,
    Rejected,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Suggested => "suggested",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        }
    }
}

/// A request that needs the coding of the document's current text, held until it arrives.
enum Waiting {
    Hover(RequestId, usize),
    List(RequestId),
}

impl Waiting {
    fn id(&self) -> &RequestId {
        match self {
            Waiting::Hover(id, _) | Waiting::List(id) => id,
        }
    }
}

struct Document {
    text: IndexedText,
    version: i32,
    /// Unique across the session, so that a result coded for an earlier text (even of a
    /// closed and reopened document with the same version) is never taken for this one.
    revision: u64,
    /// When to code the text; `None` once the job is sent.
    due: Option<Instant>,
    changed_at: Instant,
    /// The coding of `revision`, or why it failed; `None` until it arrives.
    coded: Option<(u64, std::result::Result<Coding, String>)>,
    /// Normalised codes the coder rejected; hidden from then on.
    rejected: HashSet<String>,
    /// Rejections from earlier sessions have been read from the feedback store.
    seeded: bool,
    waiting: Vec<Waiting>,
    /// The last coding error shown to the user, so a failing note does not nag on every key.
    shown_error: Option<String>,
}

impl Document {
    fn current(&self) -> Option<&std::result::Result<Coding, String>> {
        self.coded
            .as_ref()
            .filter(|(revision, _)| *revision == self.revision)
            .map(|(_, result)| result)
    }
}

pub(super) struct Server {
    outbox: Outbox,
    jobs: mpsc::Sender<Job>,
    phase: Phase,
    backend: BackendState,
    encoding: Encoding,
    options: ClientOptions,
    documents: HashMap<Uri, Document>,
    revisions: u64,
}

impl Server {
    pub(super) fn new(outbox: Outbox, jobs: mpsc::Sender<Job>) -> Server {
        Server {
            outbox,
            jobs,
            phase: Phase::Uninitialized,
            backend: BackendState::Loading,
            encoding: Encoding::default(),
            options: ClientOptions::default(),
            documents: HashMap::new(),
            revisions: 0,
        }
    }

    /// Handles events until `exit`; `Ok` only if `shutdown` came first.
    pub(super) fn run(mut self, events: &mpsc::Receiver<Event>) -> Result<()> {
        loop {
            let event = match self.next_due() {
                None => events.recv().ok(),
                Some(due) => {
                    match events.recv_timeout(due.saturating_duration_since(Instant::now())) {
                        Ok(event) => Some(event),
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            self.send_due_jobs();
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => None,
                    }
                }
            };
            match event {
                Some(Event::Message(Message::Notification(n))) if n.method == "exit" => {
                    return self.exit_status();
                }
                Some(Event::Message(message)) => self.on_message(message),
                Some(Event::Ready(backend)) => self.on_ready(backend),
                Some(Event::Coded(coded)) => self.on_coded(coded),
                Some(Event::Disconnected) | None => {
                    // A client that shut us down and then closed the pipe has said goodbye.
                    return match self.phase {
                        Phase::ShutDown => Ok(()),
                        _ => Err(Error::Command("the client closed the connection".into())),
                    };
                }
            }
            self.send_due_jobs();
        }
    }

    fn exit_status(&self) -> Result<()> {
        match self.phase {
            Phase::ShutDown => Ok(()),
            _ => Err(Error::Command("exit before shutdown".into())),
        }
    }

    // ---- messages ----

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Request(request) => self.on_request(request),
            Message::Notification(n) => self.on_notification(n),
            // This server sends no requests, so there is nothing to match a response to.
            Message::Response(_) => {}
        }
    }

    fn on_request(&mut self, request: Request) {
        let id = request.id.clone();
        match (self.phase, request.method.as_str()) {
            (Phase::Uninitialized, "initialize") => self.initialize(request),
            (Phase::Uninitialized, _) => {
                self.fail(id, ErrorCode::ServerNotInitialized, "initialize first")
            }
            (Phase::ShutDown, _) => {
                self.fail(id, ErrorCode::InvalidRequest, "the server is shutting down")
            }
            (_, "initialize") => self.fail(id, ErrorCode::InvalidRequest, "already initialized"),
            (_, Shutdown::METHOD) => {
                self.phase = Phase::ShutDown;
                self.respond(Response::new_ok(id, ()));
            }
            (_, HoverRequest::METHOD) => self.with_params(request, Self::hover),
            (_, CodeActionRequest::METHOD) => self.with_params(request, Self::code_action),
            (_, ExecuteCommand::METHOD) => self.with_params(request, Self::execute_command),
            (_, method) => {
                let message = format!("unsupported method {method}");
                self.fail(id, ErrorCode::MethodNotFound, message);
            }
        }
    }

    /// Parses a request's params and runs its handler, or answers InvalidParams.
    fn with_params<P: DeserializeOwned>(
        &mut self,
        request: Request,
        handler: fn(&mut Self, RequestId, P),
    ) {
        match serde_json::from_value::<P>(request.params) {
            Ok(params) => handler(self, request.id, params),
            Err(e) => {
                let message = format!("invalid params for {}: {e}", request.method);
                self.fail(request.id, ErrorCode::InvalidParams, message);
            }
        }
    }

    fn on_notification(&mut self, n: Notification) {
        // Before `initialize` and after `shutdown` only `exit` counts (handled by the loop).
        if self.phase != Phase::Running {
            return;
        }
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => self.with_notification(n, Self::did_open),
            DidChangeTextDocument::METHOD => self.with_notification(n, Self::did_change),
            DidCloseTextDocument::METHOD => self.with_notification(n, Self::did_close),
            Cancel::METHOD => self.with_notification(n, Self::cancel),
            _ => {}
        }
    }

    fn with_notification<P: DeserializeOwned>(
        &mut self,
        n: Notification,
        handler: fn(&mut Self, P),
    ) {
        match serde_json::from_value::<P>(n.params) {
            Ok(params) => handler(self, params),
            // The serde message could quote a value of the note; its category cannot.
            Err(e) => {
                tracing::warn!(method = %n.method, kind = ?e.classify(), "invalid params ignored")
            }
        }
    }

    // ---- lifecycle ----

    fn initialize(&mut self, request: Request) {
        let offered: Vec<&str> = request
            .params
            .pointer("/capabilities/general/positionEncodings")
            .and_then(Value::as_array)
            .map(|kinds| kinds.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.encoding = Encoding::negotiate(offered);
        let (options, problems) =
            ClientOptions::from_json(request.params.get("initializationOptions"));
        self.options = options;
        self.phase = Phase::Running;
        let result = InitializeResult {
            capabilities: capabilities(self.encoding),
            server_info: Some(ServerInfo {
                name: "chartcoder".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        };
        self.respond(Response::new_ok(request.id, result));
        for problem in problems {
            self.show(MessageType::WARNING, format!("chartcoder: {problem}"));
        }
        // A failure while the client was still connecting could not be shown before now.
        if let BackendState::Failed(e) = &self.backend {
            self.show(MessageType::ERROR, format!("chartcoder: {e}"));
        }
    }

    fn on_ready(&mut self, backend: std::result::Result<Arc<Backend>, String>) {
        match backend {
            Ok(backend) => self.backend = BackendState::Ready(backend),
            Err(e) => {
                tracing::error!("cannot code notes: {e}");
                if self.phase == Phase::Running {
                    self.show(MessageType::ERROR, format!("chartcoder: {e}"));
                }
                let waiting: Vec<Waiting> = self
                    .documents
                    .values_mut()
                    .flat_map(|d| std::mem::take(&mut d.waiting))
                    .collect();
                for w in waiting {
                    self.fail(w.id().clone(), ErrorCode::RequestFailed, e.clone());
                }
                self.backend = BackendState::Failed(e);
            }
        }
    }

    // ---- documents ----

    fn did_open(&mut self, params: DidOpenTextDocumentParams) {
        let item = params.text_document;
        let now = Instant::now();
        let document = Document {
            text: IndexedText::new(item.text),
            version: item.version,
            revision: self.next_revision(),
            // No debounce: a note just opened should show its codes at once.
            due: Some(now),
            changed_at: now,
            coded: None,
            rejected: HashSet::new(),
            seeded: false,
            waiting: Vec::new(),
            shown_error: None,
        };
        if let Some(old) = self.documents.insert(item.uri, document) {
            self.abandon(old.waiting);
        }
    }

    fn did_change(&mut self, params: DidChangeTextDocumentParams) {
        let revision = self.next_revision();
        let (encoding, debounce) = (self.encoding, self.options.debounce);
        let Some(doc) = self.documents.get_mut(&params.text_document.uri) else {
            tracing::debug!("change to a document that is not open");
            return;
        };
        let mut text = std::mem::take(&mut doc.text);
        for change in params.content_changes {
            // Full sync is what we ask for; ranged changes are applied all the same.
            text = match change.range {
                None => IndexedText::new(change.text),
                Some(range) => text.replace(range, &change.text, encoding),
            };
        }
        let now = Instant::now();
        doc.text = text;
        doc.version = params.text_document.version;
        doc.revision = revision;
        doc.changed_at = now;
        doc.due = Some(now + debounce);
    }

    fn did_close(&mut self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Some(doc) = self.documents.remove(&uri) {
            self.abandon(doc.waiting);
        }
        // Diagnostics of a closed note would linger in the problems list.
        self.notify::<PublishDiagnostics>(PublishDiagnosticsParams::new(uri, Vec::new(), None));
    }

    /// Answers requests held for a document that is gone.
    fn abandon(&self, waiting: Vec<Waiting>) {
        for w in waiting {
            match w {
                Waiting::Hover(id, _) => self.respond(Response::new_ok(id, Value::Null)),
                Waiting::List(id) => {
                    self.fail(id, ErrorCode::ContentModified, "the document was closed")
                }
            }
        }
    }

    fn cancel(&mut self, params: CancelParams) {
        let id: RequestId = match params.id {
            NumberOrString::Number(n) => n.into(),
            NumberOrString::String(s) => s.into(),
        };
        for doc in self.documents.values_mut() {
            if let Some(i) = doc.waiting.iter().position(|w| *w.id() == id) {
                doc.waiting.remove(i);
                let response =
                    Response::new_err(id, ErrorCode::RequestCanceled as i32, "cancelled".into());
                (self.outbox)(response.into());
                return;
            }
        }
    }

    fn next_revision(&mut self) -> u64 {
        self.revisions += 1;
        self.revisions
    }

    // ---- coding ----

    fn next_due(&self) -> Option<Instant> {
        self.documents.values().filter_map(|d| d.due).min()
    }

    /// Sends every document whose quiet time is over to the worker, without its codes block.
    fn send_due_jobs(&mut self) {
        let now = Instant::now();
        let failed = matches!(self.backend, BackendState::Failed(_));
        for (uri, doc) in &mut self.documents {
            if doc.due.is_none_or(|due| due > now) {
                continue;
            }
            doc.due = None;
            if failed {
                continue;
            }
            let text = doc.text.as_str();
            let block = codes_block::find(text, &self.options.codes_heading);
            let job = Job {
                uri: uri.clone(),
                revision: doc.revision,
                text: codes_block::note_part(text, block.as_ref()).to_string(),
                options: self.options.suggest.clone(),
            };
            // The worker only stops when the backend failed, which is handled above.
            let _ = self.jobs.send(job);
        }
    }

    fn on_coded(&mut self, coded: Coded) {
        let Some(doc) = self.documents.get_mut(&coded.uri) else {
            return;
        };
        if doc.revision != coded.revision {
            return; // The note changed while it was coded; the newer text is on its way.
        }
        let mut error_to_show = None;
        match &coded.result {
            Ok(coding) => {
                tracing::debug!(
                    suggestions = coding.suggestions.len(),
                    coding_ms = coded.elapsed.as_millis() as u64,
                    since_change_ms = doc.changed_at.elapsed().as_millis() as u64,
                    "coded"
                );
                doc.shown_error = None;
            }
            Err(e) => {
                tracing::warn!("coding failed: {e}");
                if doc.shown_error.as_ref() != Some(e) {
                    doc.shown_error = Some(e.clone());
                    error_to_show = Some(format!("chartcoder: {e}"));
                }
            }
        }
        doc.coded = Some((coded.revision, coded.result));
        let waiting = std::mem::take(&mut doc.waiting);
        if let Some(message) = error_to_show {
            self.show(MessageType::WARNING, message);
        }
        self.publish(&coded.uri);
        for w in waiting {
            self.answer(&coded.uri, w);
        }
    }

    /// Diagnostics for the suggestions still open to a decision.
    fn publish(&mut self, uri: &Uri) {
        self.seed_rejections(uri);
        let Some(doc) = self.documents.get(uri) else {
            return;
        };
        let diagnostics = match doc.current() {
            Some(Ok(coding)) => {
                let open = self
                    .statuses(doc, coding)
                    .filter(|(_, status)| *status == Status::Suggested)
                    .map(|(s, _)| s);
                render::diagnostics(&doc.text, open, self.encoding)
            }
            _ => Vec::new(),
        };
        let params = PublishDiagnosticsParams::new(uri.clone(), diagnostics, Some(doc.version));
        self.notify::<PublishDiagnostics>(params);
    }

    /// Reads the document's earlier rejections from the feedback store, once.
    fn seed_rejections(&mut self, uri: &Uri) {
        let BackendState::Ready(backend) = &self.backend else {
            return;
        };
        if let Some(doc) = self.documents.get_mut(uri).filter(|d| !d.seeded) {
            doc.rejected.extend(backend.rejected(uri.as_str()));
            doc.seeded = true;
        }
    }

    /// Each suggestion of a coding with where it stands.
    fn statuses<'a>(
        &self,
        doc: &'a Document,
        coding: &'a Coding,
    ) -> impl Iterator<Item = (&'a Suggestion, Status)> + 'a {
        let block = codes_block::find(doc.text.as_str(), &self.options.codes_heading);
        coding.suggestions.iter().map(move |s| {
            let status = if doc.rejected.contains(&normalize_code(&s.code)) {
                Status::Rejected
            } else if block
                .as_ref()
                .is_some_and(|b: &CodesBlock| b.contains(&s.code))
            {
                Status::Accepted
            } else {
                Status::Suggested
            };
            (s, status)
        })
    }

    /// Answers `waiting` now if the document's current text is coded, or holds it until then.
    fn when_coded(&mut self, uri: &Uri, waiting: Waiting) {
        let failed = match &self.backend {
            BackendState::Failed(e) => Some(e.clone()),
            _ => None,
        };
        let Some(doc) = self.documents.get_mut(uri) else {
            return self.abandon(vec![waiting]);
        };
        match (doc.current().is_some(), failed) {
            (true, _) => self.answer(uri, waiting),
            (false, Some(e)) => self.fail(waiting.id().clone(), ErrorCode::RequestFailed, e),
            (false, None) => doc.waiting.push(waiting),
        }
    }

    fn answer(&self, uri: &Uri, waiting: Waiting) {
        let Some(doc) = self.documents.get(uri) else {
            return self.abandon(vec![waiting]);
        };
        let (coding, waiting) = match (doc.current(), waiting) {
            (Some(Ok(coding)), waiting) => (coding, waiting),
            // The failure was shown when it happened; a hover need not repeat it.
            (Some(Err(_)), Waiting::Hover(id, _)) => {
                return self.respond(Response::new_ok(id, Value::Null))
            }
            (Some(Err(e)), Waiting::List(id)) => {
                return self.fail(id, ErrorCode::RequestFailed, e.clone())
            }
            (None, waiting) => return self.abandon(vec![waiting]),
        };
        let response = match waiting {
            Waiting::Hover(id, offset) => Response::new_ok(id, self.hover_at(doc, coding, offset)),
            Waiting::List(id) => Response::new_ok(id, self.listing(uri, doc, coding)),
        };
        self.respond(response);
    }

    fn codes(&self) -> Option<&CodeSet> {
        match &self.backend {
            BackendState::Ready(backend) => backend.codes(),
            _ => None,
        }
    }

    // ---- hover ----

    fn hover(&mut self, id: RequestId, params: HoverParams) {
        let at = params.text_document_position_params;
        let Some(doc) = self.documents.get(&at.text_document.uri) else {
            return self.respond(Response::new_ok(id, Value::Null));
        };
        let offset = doc.text.offset(at.position, self.encoding);
        self.when_coded(&at.text_document.uri, Waiting::Hover(id, offset));
    }

    /// The open suggestions with evidence at `offset`, and the span they cover.
    fn hover_at(&self, doc: &Document, coding: &Coding, offset: usize) -> Option<Hover> {
        let mut span: Option<(usize, usize)> = None;
        let mut hits: Vec<&Suggestion> = Vec::new();
        for (s, status) in self.statuses(doc, coding) {
            let here = s
                .evidence
                .iter()
                .filter(|e| e.start <= offset && offset <= e.end);
            let mut found = false;
            for e in here {
                found = true;
                span = Some(span.map_or((e.start, e.end), |(a, b)| (a.min(e.start), b.max(e.end))));
            }
            if found && status == Status::Suggested {
                hits.push(s);
            }
        }
        let (start, end) = span.filter(|_| !hits.is_empty())?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: render::hover(&hits, self.codes()),
            }),
            range: Some(doc.text.range(start, end, self.encoding)),
        })
    }

    // ---- code actions ----

    fn code_action(&mut self, id: RequestId, params: CodeActionParams) {
        let quick_fixes_wanted = params.context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|k| k.as_str().is_empty() || *k == CodeActionKind::QUICKFIX)
        });
        let uri = params.text_document.uri;
        let Some(doc) = self.documents.get(&uri).filter(|_| quick_fixes_wanted) else {
            return self.respond(Response::new_ok(id, Vec::<CodeActionOrCommand>::new()));
        };
        // The client's diagnostics carry their suggestion; without them (a client that does
        // not pass them back, or a cursor between diagnostics) the coding at the range serves.
        let mut targets: Vec<(SuggestionRef, Option<Diagnostic>)> = params
            .context
            .diagnostics
            .into_iter()
            .filter(|d| d.source.as_deref() == Some(render::SOURCE))
            .filter_map(|d| Some((serde_json::from_value(d.data.clone()?).ok()?, Some(d))))
            .collect();
        if targets.is_empty() {
            targets = self
                .suggestions_in(doc, params.range)
                .into_iter()
                .map(|s| (SuggestionRef::of(s), None))
                .collect();
        }
        let mut seen = HashSet::new();
        targets.retain(|(r, _)| seen.insert(normalize_code(&r.code)));
        let actions: Vec<CodeActionOrCommand> = targets
            .into_iter()
            .flat_map(|(r, d)| {
                [
                    self.accept_action(&uri, doc, &r, d.clone()),
                    reject_action(&uri, &r, d),
                ]
            })
            .map(CodeActionOrCommand::CodeAction)
            .collect();
        self.respond(Response::new_ok(id, actions));
    }

    fn suggestions_in<'a>(&self, doc: &'a Document, range: Range) -> Vec<&'a Suggestion> {
        let Some(Ok(coding)) = doc.current() else {
            return Vec::new();
        };
        let (start, end) = doc.text.offsets(range, self.encoding);
        self.statuses(doc, coding)
            .filter(|(_, status)| *status == Status::Suggested)
            .filter(|(s, _)| s.evidence.iter().any(|e| e.start <= end && start <= e.end))
            .map(|(s, _)| s)
            .collect()
    }

    /// Appends the code to the codes block (unless listed already) and records the decision.
    fn accept_action(
        &self,
        uri: &Uri,
        doc: &Document,
        target: &SuggestionRef,
        diagnostic: Option<Diagnostic>,
    ) -> CodeAction {
        let text = doc.text.as_str();
        let edit = codes_block::append(
            text,
            &self.options.codes_heading,
            &target.code,
            &target.title,
        )
        .map(|new_text| {
            let end = doc.text.end(self.encoding);
            let edits = vec![TextEdit::new(Range::new(end, end), new_text)];
            WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), edits)])),
                ..WorkspaceEdit::default()
            }
        });
        CodeAction {
            title: format!("Accept {} — {}", target.code, target.title),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: diagnostic.map(|d| vec![d]),
            edit,
            command: Some(decision_command(ACCEPT, uri, target)),
            ..CodeAction::default()
        }
    }

    // ---- commands ----

    fn execute_command(&mut self, id: RequestId, params: ExecuteCommandParams) {
        match params.command.as_str() {
            LIST_SUGGESTIONS => match uri_argument(&params.arguments) {
                Some(uri) if self.documents.contains_key(&uri) => {
                    self.when_coded(&uri, Waiting::List(id))
                }
                Some(_) => self.fail(id, ErrorCode::InvalidParams, "the document is not open"),
                None => self.fail(id, ErrorCode::InvalidParams, "expected a document URI"),
            },
            ACCEPT => self.decide(id, Decision::Accept, &params.arguments),
            REJECT => self.decide(id, Decision::Reject, &params.arguments),
            other => {
                let message = format!("unknown command {other}");
                self.fail(id, ErrorCode::InvalidParams, message);
            }
        }
    }

    /// The suggestions of a document with their status and ranges.
    fn listing(&self, uri: &Uri, doc: &Document, coding: &Coding) -> Value {
        let suggestions: Vec<Value> = self
            .statuses(doc, coding)
            .map(|(s, status)| {
                let mut value = serde_json::to_value(s).unwrap_or_default();
                if let Some(object) = value.as_object_mut() {
                    object.insert("status".into(), status.as_str().into());
                    let ranges: Vec<Range> = s
                        .evidence
                        .iter()
                        .map(|e| doc.text.range(e.start, e.end, self.encoding))
                        .collect();
                    object.insert("ranges".into(), json!(ranges));
                }
                value
            })
            .collect();
        json!({
            "uri": uri,
            "version": doc.version,
            "code_set": coding.code_set,
            "suggestions": suggestions,
        })
    }

    /// Records an accept or reject; a rejected code disappears from the next publish.
    fn decide(&mut self, id: RequestId, decision: Decision, arguments: &[Value]) {
        #[derive(Deserialize)]
        struct Args {
            uri: Uri,
            code: String,
            #[serde(default)]
            evidence: Value,
        }
        let Some(args) = arguments
            .first()
            .and_then(|a| serde_json::from_value::<Args>(a.clone()).ok())
        else {
            return self.fail(
                id,
                ErrorCode::InvalidParams,
                "expected {uri, code, evidence}",
            );
        };
        let BackendState::Ready(backend) = &self.backend else {
            return self.fail(
                id,
                ErrorCode::RequestFailed,
                "the coding engine is not ready",
            );
        };
        let feedback = NewFeedback {
            document_id: args.uri.as_str().to_string(),
            code: args.code.clone(),
            decision,
            evidence: args.evidence,
            coder: self.options.coder.clone(),
        };
        let recorded = match backend.record(&feedback) {
            Ok(recorded) => recorded,
            Err(e) => return self.fail(id, ErrorCode::RequestFailed, e.to_string()),
        };
        if decision == Decision::Reject {
            if let Some(doc) = self.documents.get_mut(&args.uri) {
                doc.rejected.insert(normalize_code(&args.code));
                self.publish(&args.uri);
            }
        }
        self.respond(Response::new_ok(id, json!({ "recorded": recorded })));
    }

    // ---- output ----

    fn respond(&self, response: Response) {
        (self.outbox)(response.into());
    }

    fn fail(&self, id: RequestId, code: ErrorCode, message: impl Into<String>) {
        self.respond(Response::new_err(id, code as i32, message.into()));
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        (self.outbox)(Notification::new(N::METHOD.into(), params).into());
    }

    fn show(&self, typ: MessageType, message: String) {
        self.notify::<ShowMessage>(ShowMessageParams { typ, message });
    }
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![LIST_SUGGESTIONS.into(), ACCEPT.into(), REJECT.into()],
            ..ExecuteCommandOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

/// Records the rejection; the diagnostic goes with the next publish.
fn reject_action(uri: &Uri, target: &SuggestionRef, diagnostic: Option<Diagnostic>) -> CodeAction {
    CodeAction {
        title: format!("Reject {}", target.code),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: diagnostic.map(|d| vec![d]),
        command: Some(decision_command(REJECT, uri, target)),
        ..CodeAction::default()
    }
}

fn decision_command(command: &str, uri: &Uri, target: &SuggestionRef) -> Command {
    let verb = if command == ACCEPT {
        "Accept"
    } else {
        "Reject"
    };
    Command {
        title: format!("{verb} {}", target.code),
        command: command.into(),
        arguments: Some(vec![json!({
            "uri": uri,
            "code": target.code,
            "evidence": target.evidence,
        })]),
    }
}

/// The document of `listSuggestions`: `["file:///..."]` or `[{"uri": "file:///..."}]`.
fn uri_argument(arguments: &[Value]) -> Option<Uri> {
    let first = arguments.first()?;
    let raw = first.as_str().or_else(|| first.get("uri")?.as_str())?;
    raw.parse().ok()
}
